import { clearSessionCookie } from '../auth/session-cookie';
import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { changePassword, signOutEverywhere } from './credentials.service';

export function credentialHandlers(db: Db): HandlerTable<'updatePassword' | 'revokeAllSessions'> {
  const updatePassword: OperationHandler<'updatePassword'> = async (req, res) => {
    res.json({ revoked: await changePassword(db, principalOf(res), req.body) });
  };

  const revokeAllSessions: OperationHandler<'revokeAllSessions'> = async (req, res) => {
    const revoked = await signOutEverywhere(db, principalOf(res), { tokens: req.body?.include_tokens === true });
    clearSessionCookie(req, res);
    res.json({ revoked });
  };

  return { updatePassword, revokeAllSessions };
}
