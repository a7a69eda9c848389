export { createClient, FourfoldClient } from './client.js';
export type {
  Account,
  Audit,
  ClientOptions,
  FindingQuery,
  Finding,
  Import,
  ListItem,
  ListParams,
  ListPath,
  ListQuery,
  Policy,
  Report,
  Resource,
  Rule,
  Severity,
  Waitable,
  WaitOptions,
} from './client.js';
export type { Credentials, OAuthCredentials, OAuthTokens, PasswordCredentials, TokenCredentials } from './auth.js';
export { FourfoldError, type ErrorCode, type ErrorDetail, type OAuthErrorCode } from './errors.js';
export type { RetryOptions } from './transport.js';
export type { components, operations, paths } from './generated/schema.js';
