import type { components } from '../generated/openapi';

export type ErrorCode = components['schemas']['ErrorCode'];
export type ErrorDetail = components['schemas']['ErrorDetail'];

/**
 * The one error type the application throws on purpose. Its `code` is one of the spec's
 * `ErrorCode`s; the HTTP status that goes with it is decided by the error middleware.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** Extra response headers, such as `Allow` on a 405. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/**
 * A detail for each id in `ids` that is not in `known` (the ones the organization has), with
 * its position: `{ field: 'body.filters.account_ids.2', issue: 'unknown account acc_…' }`.
 */
export function unknownIdDetails(ids: readonly string[], known: ReadonlySet<string>, field: string, noun: string): ErrorDetail[] {
  return ids.flatMap((id, i) => (known.has(id) ? [] : [{ field: `${field}.${i}`, issue: `unknown ${noun} ${id}` }]));
}
