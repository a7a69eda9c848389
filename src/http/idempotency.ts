import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import { claimIdempotencyKey, findIdempotencyKey, releaseIdempotencyKey, saveIdempotentResponse } from './idempotency.repository';
import { stableJson } from '../stable-json';
import { principalOf } from './authenticate';

const KEPT_FOR_MS = 24 * 60 * 60 * 1000;

/**
 * For operations marked `x-idempotent`: the first request with an `Idempotency-Key` is answered
 * as usual and its answer kept (for 24 hours, per user); a retry with the key gets that answer
 * again. The answer is stored before it is sent, so a client never sees an answer its retry
 * would not get; 5xx answers are not kept, so the retry does the work.
 */
export function replayIdempotentRequests(db: Db, logger: Logger): RequestHandler {
  return async (req, res, next) => {
    const key = req.get('Idempotency-Key');
    const operation = res.locals.operation;
    if (key === undefined || !operation?.idempotent) return next();
    const principal = principalOf(res);
    const scope = { organizationId: principal.organizationId, userId: principal.userId, key };
    const requestHash = createHash('sha256')
      .update(stableJson({ method: req.method, path: req.path, query: req.query, body: req.body ?? null }))
      .digest('hex');
    const now = new Date();
    const claimed = await claimIdempotencyKey(db, scope, {
      operationId: operation.operationId,
      requestHash,
      at: now,
      expiredBefore: new Date(now.getTime() - KEPT_FOR_MS),
    });

    if (!claimed) {
      const first = await findIdempotencyKey(db, scope);
      if (!first || first.response_status === null) {
        throw new AppError('idempotency_key_in_progress', 'The first request with this Idempotency-Key is still being answered; retry shortly.');
      }
      if (first.request_hash !== requestHash) {
        throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used with a different request; use a new key for a new request.', [
          { field: 'header.Idempotency-Key', issue: 'used with a different request' },
        ]);
      }
      if (first.response_location) res.location(first.response_location);
      res.setHeader('Idempotent-Replayed', 'true');
      res.status(first.response_status).json(first.response_body);
      return;
    }

    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      const keep =
        res.statusCode < 500
          ? saveIdempotentResponse(db, scope, { status: res.statusCode, location: res.get('Location') ?? null, body })
          : releaseIdempotencyKey(db, scope);
      keep
        .catch((error: unknown) => logger.error({ err: error }, 'could not keep the answer of an idempotent request'))
        .finally(() => send(body));
      return res;
    };
    next();
  };
}
