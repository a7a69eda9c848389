import type { Db } from '../db/database';
import { AppError } from '../errors';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { principalOf } from '../http/authenticate';
import { paginate } from '../http/pagination';
import { toMe } from './auth.mapper';
import { logIn } from './auth.service';
import type { TokenSettings } from './login-tokens';
import { clearSessionCookie, sessionClientOf, setSessionCookie } from './session-cookie';
import { toSession } from './sessions.mapper';
import { listSessions } from './sessions.repository';
import { endCurrentSession, endSession } from './sessions.service';

export function authHandlers(
  db: Db,
  tokens: TokenSettings,
): HandlerTable<'createSession' | 'deleteSession' | 'getMe' | 'listSessions' | 'revokeSession'> {
  const createSession: OperationHandler<'createSession'> = async (req, res) => {
    const { accessToken, expiresIn } = await logIn(db, tokens, req.body.username, req.body.password, sessionClientOf(req));
    setSessionCookie(req, res, accessToken, expiresIn);
    res.json({ access_token: accessToken, token_type: 'bearer', expires_in: expiresIn });
  };

  const deleteSession: OperationHandler<'deleteSession'> = async (req, res) => {
    await endCurrentSession(db, principalOf(res));
    clearSessionCookie(req, res);
    res.status(204).end();
  };

  const getMe: OperationHandler<'getMe'> = (_req, res) => {
    res.json(toMe(principalOf(res)));
  };

  const listSessionsHandler: OperationHandler<'listSessions'> = async (req, res) => {
    const { organizationId, userId, credential } = principalOf(res);
    const now = new Date();
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'sessions' },
        keyKinds: ['id'],
        fetch: (after, limitPlusOne) => listSessions(db, organizationId, userId, now, limitPlusOne, after?.[0]),
        keysOf: (row) => [row.id],
        toItem: (row) => toSession(row, credential.kind === 'session' ? credential.id : undefined),
      }),
    );
  };

  const revokeSession: OperationHandler<'revokeSession'> = async (req, res) => {
    const principal = principalOf(res);
    if (!(await endSession(db, principal, req.params.id))) throw new AppError('not_found', `You have no session ${req.params.id}.`);
    if (principal.credential.kind === 'session' && principal.credential.id === req.params.id) clearSessionCookie(req, res);
    res.status(204).end();
  };

  return {
    createSession,
    deleteSession,
    getMe,
    listSessions: listSessionsHandler,
    revokeSession,
  };
}
