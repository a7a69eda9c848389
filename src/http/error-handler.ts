import type { ErrorRequestHandler, Request } from 'express';
import type { components } from '../../generated/openapi';
import { isDatabaseUnavailable } from '../db/unavailable';
import { AppError, type ErrorCode, type ErrorDetail } from '../errors';

/** The `Retry-After` of a 503: long enough for a restarted or failed-over database to take connections. */
export const RETRY_AFTER_UNAVAILABLE_SECONDS = 5;

/** The 503 of a request the database could not serve now (down, unreachable, or a statement over its timeout). */
export function serviceUnavailable(message = 'The database is unavailable or too slow right now; try again shortly.'): AppError {
  return new AppError('service_unavailable', message, [], { 'Retry-After': String(RETRY_AFTER_UNAVAILABLE_SECONDS) });
}

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  malformed_json: 400,
  malformed_body: 400,
  malformed_request: 400,
  invalid_cursor: 400,
  unauthenticated: 401,
  invalid_token: 401,
  token_expired: 401,
  invalid_credentials: 401,
  forbidden: 403,
  insufficient_scope: 403,
  csrf_check_failed: 403,
  organization_suspended: 403,
  plan_required: 403,
  plan_limit_reached: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  scan_in_progress: 409,
  scan_not_cancelable: 409,
  not_connected: 422,
  no_confirmed_store: 422,
  credential_not_rotatable: 422,
  username_taken: 409,
  last_owner: 409,
  account_exists: 409,
  account_in_use: 409,
  audit_not_cancelable: 409,
  audit_not_finished: 409,
  invalid_transition: 409,
  idempotency_key_in_progress: 409,
  report_not_ready: 409,
  organization_not_suspended: 409,
  slug_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  scope_not_held: 422,
  invalid_import: 422,
  invalid_redirect_uri: 422,
  invalid_severity_filter: 422,
  invalid_filter: 422,
  idempotency_key_reused: 422,
  invalid_policy_expression: 422,
  invalid_policy: 422,
  quota_exceeded: 422,
  risk_acceptance_too_long: 422,
  email_not_configured: 422,
  webhook_url_not_allowed: 422,
  rate_limited: 429,
  too_many_queued_jobs: 429,
  request_header_too_large: 431,
  internal_error: 500,
  service_unavailable: 503,
};

/** What express-openapi-validator and body-parser attach to the errors they raise. */
interface LibraryError extends Error {
  status?: number;
  type?: string;
  errors?: { path: string; message: string }[];
}

/** Renders every error, ours or a library's, in the spec's error shape; logs the unexpected ones. */
export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (res.headersSent) return next(error);
  const appError = error instanceof AppError ? error : translate(error as LibraryError, req);
  const status = STATUS_BY_CODE[appError.code];
  if (status >= 500) {
    // The request logger writes the response line with this error attached; the client sees none of it.
    res.err = error instanceof Error ? error : new Error(String(error));
  }
  for (const [name, value] of Object.entries(appError.headers)) res.setHeader(name, value);
  if (status === 401) res.setHeader('WWW-Authenticate', wwwAuthenticate(appError));
  const body: components['schemas']['Error'] = {
    error: { code: appError.code, message: appError.message, request_id: String(req.id), details: appError.details },
  };
  res.status(status).json(body);
};

function translate(error: LibraryError, req: Request): AppError {
  if (isDatabaseUnavailable(error)) return serviceUnavailable();
  switch (error.type) {
    case 'entity.parse.failed':
      // Strict JSON parsing refuses a well-formed scalar (`null`, `42`) as if it were malformed.
      if (isJsonScalar((error as { body?: unknown }).body)) {
        return new AppError('validation_failed', 'The request body must be a JSON object.', [{ field: 'body', issue: 'must be object' }]);
      }
      return new AppError('malformed_json', `The request body is not valid JSON: ${error.message}.`);
    case 'entity.too.large':
      return new AppError('payload_too_large', `The request body is larger than the limit of ${(error as { limit?: number }).limit} bytes.`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', `${error.message}.`);
  }
  // express-openapi-validator: 400 for a request that breaks the schema, 415 for a media type
  // the operation does not take; its response validation raises 500s, which stay internal.
  if (error.status === 400 && error.errors) {
    return new AppError('validation_failed', 'The request is invalid; see details.', error.errors.map(toDetail));
  }
  if (error.status === 415) {
    const type = req.headers['content-type'];
    if (type) return new AppError('unsupported_media_type', `This operation does not accept ${type.split(';')[0]}; see the spec for the media types it takes.`);
    if (!hasBody(req)) {
      return new AppError('validation_failed', 'This operation needs a request body; send one with Content-Type: application/json.', [{ field: 'body', issue: 'is required' }]);
    }
    return new AppError('unsupported_media_type', 'The request has a body but no Content-Type; send Content-Type: application/json.');
  }
  if (error.status === 413) return new AppError('payload_too_large', error.message);
  // body-parser's other 400s: a body that does not decode as its Content-Encoding says (bad
  // gzip, deflate or br), or that is shorter or longer than its Content-Length.
  if (error.status === 400 && !error.errors) {
    const encoding = req.headers['content-encoding'];
    return new AppError(
      'malformed_body',
      encoding && encoding !== 'identity'
        ? `The request body could not be decoded as Content-Encoding ${encoding}: ${error.message}.`
        : `The request body could not be read: ${error.message}.`,
    );
  }
  return new AppError('internal_error', 'Something went wrong on our side. Quote the request id when you report it.');
}

// express-openapi-validator names request parts as Express does.
const PART_NAMES: Record<string, string> = { params: 'path', headers: 'header', cookies: 'cookie' };

/** `/body/items/0/name`, `.query.limit` or `.params.id` → `body.items.0.name`, `query.limit`, `path.id`. */
function toDetail(item: { path: string; message: string }): ErrorDetail {
  const field = item.path
    .replace(/^[./]+/, '')
    .replace(/[/]/g, '.')
    .replace(/^(params|headers|cookies)(?=\.|$)/, (part) => PART_NAMES[part] ?? part);
  return { field: /^(body|query|path|header|cookie)(\.|$)/.test(field) ? field : null, issue: item.message };
}

function wwwAuthenticate(error: AppError): string {
  if (error.code === 'invalid_token' || error.code === 'token_expired') {
    return `Bearer realm="fourfold", error="invalid_token", error_description="${error.message.replace(/["\\]/g, "'")}"`;
  }
  return 'Bearer realm="fourfold"';
}

/** Whether the request came with a body at all (a length above zero, or chunked). */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

function isJsonScalar(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  try {
    const value: unknown = JSON.parse(body);
    return value === null || typeof value !== 'object';
  } catch {
    return false;
  }
}
