import type { RateLimitInfo } from 'express-rate-limit';
import type { Operation } from './operations';
import type { Principal } from './principal';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** The spec operation this request addresses; unset when none matches. */
      operation?: Operation;
      /** The values of the operation's path parameters, by the names the spec gives them. */
      pathParams?: Record<string, string>;
      /** The methods the path allows, when it exists but not for this method. */
      allowedMethods?: string[];
      /** The caller, when valid credentials came with the request. */
      principal?: Principal;
      /** Why the credentials that came with the request were refused. */
      credentialsError?: Error;
      /** The tightest rate-limit budget the request counted against, as sent in `X-RateLimit-*`. */
      rateLimit?: RateLimitInfo;
    }
  }
}

export {};
