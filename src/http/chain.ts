import type { NextFunction, RequestHandler } from 'express';

/**
 * The middleware `handlers` as one Express layer: each runs in turn, as the router runs the
 * layers of `app.use` at the root. The router's walk from layer to layer (matching, parameters,
 * URL restoring) cost about 3 % of a listing's CPU and 5 % of a `GET /v1/me`'s with some twenty
 * layers (issue 20), for middleware that is mounted at the root and needs none of it.
 *
 * As the router does: a handler's synchronous throw and its rejected promise go to `next` as
 * errors; an error skips the rest and leaves the chain (for the error handler); `next('route')`
 * goes on and `next('router')` leaves without one.
 */
export function chain(...handlers: (RequestHandler | RequestHandler[])[]): RequestHandler {
  const steps = handlers.flat();
  return (req, res, done) => {
    let index = 0;
    const next: NextFunction = (error?: unknown) => {
      if (error === 'router') return done();
      if (error && error !== 'route') return done(error);
      const step = steps[index++];
      if (!step) return done();
      try {
        const result: unknown = step(req, res, next);
        if (result instanceof Promise) result.then(undefined, (rejection: unknown) => next(rejection || new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  };
}
