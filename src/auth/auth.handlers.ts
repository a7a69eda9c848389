import type { Db } from '../db/database';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { principalOf } from '../http/authenticate';
import { toMe } from './auth.mapper';
import { logIn, logOut } from './auth.service';
import type { TokenSettings } from './login-tokens';
import { clearSessionCookie, setSessionCookie } from './session-cookie';

export function authHandlers(db: Db, tokens: TokenSettings): HandlerTable<'createSession' | 'deleteSession' | 'getMe'> {
  const createSession: OperationHandler<'createSession'> = async (req, res) => {
    const { accessToken, expiresIn } = await logIn(db, tokens, req.body.username, req.body.password);
    setSessionCookie(req, res, accessToken, expiresIn);
    res.json({ access_token: accessToken, token_type: 'bearer', expires_in: expiresIn });
  };

  const deleteSession: OperationHandler<'deleteSession'> = async (req, res) => {
    await logOut(db, principalOf(res));
    clearSessionCookie(req, res);
    res.status(204).end();
  };

  const getMe: OperationHandler<'getMe'> = (_req, res) => {
    res.json(toMe(principalOf(res)));
  };

  return {
    createSession,
    deleteSession,
    getMe,
  };
}
