/** How one attempt of a delivery went. */
export type AttemptOutcome =
  | { ok: true; statusCode: number | null }
  | {
      ok: false;
      statusCode: number | null;
      error: string;
      /** Whether trying again later could succeed (network errors, timeouts, 408, 429, 5xx). */
      retryable: boolean;
      /** What the receiver asked for (`Retry-After`), in seconds. */
      retryAfterSeconds?: number;
    };
