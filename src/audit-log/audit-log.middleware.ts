import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Db } from '../db/database';
import type { Principal } from '../http/principal';
import { recordAuditLogEntry, recordLoginAttempt } from './audit-log.service';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const ACTOR_OF: Record<Principal['credential']['kind'], 'user' | 'personal_access_token' | 'oauth_client'> = {
  session: 'user',
  personal_access_token: 'personal_access_token',
  oauth: 'oauth_client',
};

/**
 * Records every state-changing request to an operation, whatever it answers, in the caller's
 * organization's audit log, and every login attempt. The entry is written when the answer is
 * complete and before it is sent, so a client that has its answer finds the entry; a failure to
 * write it is logged and does not change the answer (what the request did is done).
 */
export function recordStateChanges(db: Db, configuredSecret: string, logger: Logger): RequestHandler {
  return (req, res, next) => {
    if (!STATE_CHANGING.has(req.method) || !res.locals.operation) return next();
    const end = res.end.bind(res) as (...args: unknown[]) => Response;
    let ending = false;
    res.end = ((...args: unknown[]) => {
      if (ending) return end(...args);
      ending = true;
      // A 503 says the database did not answer: the entry could not be written either, and
      // trying would only hold the answer back.
      if (res.statusCode === 503) return end(...args);
      record(db, configuredSecret, req, res)
        // Not under `request_id`: the request's own log line is the one that carries it.
        .catch((error: unknown) => logger.error({ err: error, audit_log_entry_of: req.id }, 'could not write the audit-log entry of a request'))
        .finally(() => end(...args));
      return res;
    }) as Response['end'];
    next();
  };
}

async function record(db: Db, configuredSecret: string, req: Request, res: Response): Promise<void> {
  const { operation, principal } = res.locals;
  const requestId = typeof req.id === 'string' ? req.id : null;
  const ip = req.ip ?? null;
  if (!principal) {
    if (operation?.rateLimitBudget !== 'login') return;
    const username = (req.body as { username?: unknown } | undefined)?.username;
    await recordLoginAttempt(db, configuredSecret, {
      action: operation.operationId,
      username: typeof username === 'string' ? username.slice(0, 254) : undefined,
      outcome: res.statusCode,
      requestId,
      ip,
    });
    return;
  }
  await recordAuditLogEntry(db, configuredSecret, {
    organizationId: principal.organizationId,
    actorType: ACTOR_OF[principal.credential.kind],
    actorId: principal.credential.kind === 'oauth' ? principal.credential.clientId : principal.credential.id,
    userId: principal.userId,
    action: operation!.operationId,
    targetId: targetOf(res),
    outcome: res.statusCode,
    requestId,
    ip,
  });
}

/** The object acted on: the path's id, else the one a creation's `Location` names. */
function targetOf(res: Response): string | null {
  const params = res.locals.pathParams ?? {};
  const fromPath = params.id ?? params.user_id ?? Object.values(params)[0];
  if (fromPath !== undefined) return fromPath.slice(0, 200);
  const location = res.getHeader('location');
  if (typeof location !== 'string') return null;
  return location.split('?')[0]!.split('/').pop()?.slice(0, 200) || null;
}
