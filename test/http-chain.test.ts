import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import request from 'supertest';
import { chain } from '../src/http/chain';

/** An app whose root layer is `chain(...handlers)`, answering "fallthrough" after it and the error's message on an error. */
function appWith(...handlers: RequestHandler[]): express.Express {
  const app = express();
  app.use(chain(...handlers));
  app.use((_req, res) => void res.status(404).send('fallthrough'));
  const onError: ErrorRequestHandler = (error: Error, _req, res, _next) => void res.status(500).send(`error: ${error.message}`);
  app.use(onError);
  return app;
}

const step =
  (name: string): RequestHandler =>
  (_req, res, next) => {
    res.locals.steps = [...((res.locals.steps as string[] | undefined) ?? []), name];
    next();
  };
const answer: RequestHandler = (_req, res) => void res.send((res.locals.steps as string[]).join(','));

describe('chain', () => {
  it('runs its handlers in order, arrays flattened, and goes on after the last', async () => {
    await request(appWith(...[step('a'), step('b')], answer)).get('/').expect(200, 'a,b');
    await request(appWith(step('a'))).get('/').expect(404, 'fallthrough');
  });

  it('sends a synchronous throw to the error handler and skips the rest', async () => {
    const thrower: RequestHandler = () => {
      throw new Error('thrown');
    };
    await request(appWith(step('a'), thrower, answer)).get('/').expect(500, 'error: thrown');
  });

  it('sends a rejected promise to the error handler, a rejection without a reason as an Error', async () => {
    const rejecter: RequestHandler = async () => {
      await Promise.resolve();
      throw new Error('rejected');
    };
    await request(appWith(rejecter, answer)).get('/').expect(500, 'error: rejected');
    const empty: RequestHandler = () => Promise.reject(undefined) as unknown as void;
    await request(appWith(empty, answer)).get('/').expect(500, 'error: Rejected promise');
  });

  it("passes next(error) on and leaves on next('router'), going on after next('route')", async () => {
    await request(appWith((_req, _res, next) => next(new Error('passed')), answer)).get('/').expect(500, 'error: passed');
    await request(appWith((_req, _res, next) => next('router'), answer)).get('/').expect(404, 'fallthrough');
    await request(appWith(step('a'), (_req, _res, next) => next('route'), answer)).get('/').expect(200, 'a');
  });
});
