import type { RequestHandler } from 'express';
import { AppError } from '../errors';
import type { OperationIndex } from './operations';

/** Finds the spec operation the request addresses (see `res.locals.operation`). */
export function resolveOperation(index: OperationIndex): RequestHandler {
  return (req, res, next) => {
    const match = index.find(req.method, req.path);
    if (match && 'operation' in match) {
      res.locals.operation = match.operation;
      res.locals.pathParams = match.params;
      const deprecation = match.operation.deprecation;
      if (deprecation) {
        // RFC 9745 (a structured-field date) and RFC 8594 (an HTTP-date), on every answer, errors too.
        res.setHeader('Deprecation', `@${Math.floor(deprecation.deprecatedAt.getTime() / 1000)}`);
        res.setHeader('Sunset', deprecation.sunset.toUTCString());
      }
      // HEAD is GET without a body (Node drops the body for a HEAD request whatever the method
      // says now), and the request validator knows only the GET the spec declares.
      if (req.method === 'HEAD') req.method = 'GET';
    }
    if (match && 'allowed' in match) res.locals.allowedMethods = match.allowed;
    next();
  };
}

/** 404 for paths the spec does not have, 405 (with `Allow`) for methods it does not have there. */
export const requireKnownOperation: RequestHandler = (req, res, next) => {
  if (res.locals.operation) return next();
  const allowed = res.locals.allowedMethods;
  if (allowed) {
    throw new AppError('method_not_allowed', `${req.method} is not supported on ${req.path}; use ${allowed.join(', ')}.`, [], {
      Allow: allowed.join(', '),
    });
  }
  throw new AppError('not_found', `Nothing is at ${req.method} ${req.path}.`);
};
