import type { RequestHandler } from 'express';

/**
 * Answers of the operations the spec marks `x-no-store` carry a secret (a login token, a
 * personal access token, a client secret, an invitation): no cache, shared or the browser's,
 * may keep them (RFC 9111 §5.2.2.5; `Pragma` for HTTP/1.0 caches, as RFC 6749 §5.1 asks).
 * Set before the operation runs, so its error answers carry it too.
 */
export const forbidStoringSecrets: RequestHandler = (_req, res, next) => {
  if (res.locals.operation?.noStore) {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
  }
  next();
};
