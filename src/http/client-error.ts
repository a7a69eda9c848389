import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { components } from '../../generated/openapi';
import { newId } from '../ids';

type ErrorCode = components['schemas']['ErrorCode'];

/**
 * Answers what Node's HTTP parser refuses before the app sees a request (a request line or
 * headers over the size limit, a request it cannot parse, one that came too slowly) in the
 * spec's error shape with an `X-Request-Id`, instead of Node's bare status line. The connection
 * is closed after it, as Node does.
 */
export function answerClientErrors(server: Server, logger: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const started = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (error.code === 'ECONNRESET' || !socket.writable || started) {
      socket.destroy();
      return;
    }
    const [status, code, message] = describe(error);
    const requestId = newId('req');
    const body = JSON.stringify({ error: { code, message, request_id: requestId, details: [] } } satisfies components['schemas']['Error']);
    logger.info({ request_id: requestId, res: { status }, parse_error: error.code }, 'request refused before routing');
    socket.end(
      [
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
        'Content-Type: application/json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        `X-Request-Id: ${requestId}`,
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
    );
  });
}

function describe(error: NodeJS.ErrnoException): [number, ErrorCode, string] {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'request_header_too_large', 'The request line and headers are larger than this server accepts; send fewer or shorter headers.'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'request_timeout', 'The request did not arrive in time; send it again.'];
    default:
      return [400, 'malformed_request', 'The request is not valid HTTP/1.1, so it could not be read.'];
  }
}
