import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { newId } from '../ids';

/** Gives every request its `req_<ULID>` id (header `X-Request-Id`) and logs one line for it. */
export function requestLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (_req, res) => {
      const id = newId('req');
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customProps: (req) => ({ request_id: req.id }),
    // Only what identifies the request: headers carry credentials and cookies.
    serializers: {
      req: (req: { method: string; url: string; remoteAddress?: string }) => ({
        method: req.method,
        url: req.url,
        remote_address: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
  });
}
