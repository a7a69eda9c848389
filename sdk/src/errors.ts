import type { components } from './generated/schema.js';
import { errorCodes, oauthErrorCodes } from './generated/operations.js';

/** A code of the API's error shape (`error.code`). */
export type ErrorCode = components['schemas']['ErrorCode'];
/** An error of the OAuth endpoints (`/oauth/token`), RFC 6749 §5.2. */
export type OAuthErrorCode = components['schemas']['OAuthError']['error'];
export type ErrorDetail = components['schemas']['ErrorDetail'];

/**
 * Every answer of the API outside 2xx (and 304), as one class. `code` is one of the spec's
 * codes, or `unexpected_response` when the body was not in the error shape (a proxy's page).
 */
export class FourfoldError extends Error {
  override readonly name = 'FourfoldError';

  constructor(
    readonly status: number,
    readonly code: ErrorCode | OAuthErrorCode | 'unexpected_response',
    message: string,
    readonly request_id: string | null,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }

  /** The error of `response`, whose body (`body`, already read) was JSON or text. */
  static of(response: Response, body: unknown): FourfoldError {
    const requestId = response.headers.get('X-Request-Id');
    const envelope = (body as { error?: unknown } | null | undefined)?.error;
    if (isObject(envelope) && isKnown(errorCodes, envelope.code)) {
      const message = typeof envelope.message === 'string' ? envelope.message : envelope.code;
      const details = Array.isArray(envelope.details) ? (envelope.details as ErrorDetail[]) : [];
      const id = typeof envelope.request_id === 'string' ? envelope.request_id : requestId;
      return new FourfoldError(response.status, envelope.code, message, id, details);
    }
    if (isKnown(oauthErrorCodes, envelope)) {
      const description = (body as { error_description?: unknown }).error_description;
      return new FourfoldError(response.status, envelope, typeof description === 'string' ? description : envelope, requestId);
    }
    const text = typeof body === 'string' ? body.slice(0, 200) : '';
    return new FourfoldError(response.status, 'unexpected_response', `HTTP ${response.status}${text ? `: ${text}` : ''}`, requestId);
  }

  /** The error of `response`, reading its body. */
  static async from(response: Response): Promise<FourfoldError> {
    const text = await response.text().catch(() => '');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: kept as text.
    }
    return FourfoldError.of(response, body);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isKnown<T extends string>(codes: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (codes as readonly string[]).includes(value);
}
