import type { ColumnType, Insertable, Selectable } from 'kysely';
import type { components } from '../../generated/openapi';

/** Set by the database's default, never by an insert. */
type CreatedAt = ColumnType<Date, never, never>;
type UpdatedAt = ColumnType<Date, never, Date>;

export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface UsersTable {
  id: string;
  username: string;
  /** Null until an invited user accepts their invitation. */
  password_hash: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface MembershipsTable {
  organization_id: string;
  user_id: string;
  role: components['schemas']['Role'];
  created_at: CreatedAt;
}

/** Login JWTs revoked by logout before they expire; a row is useless once `expires_at` has passed. */
export interface RevokedTokensTable {
  jti: string;
  expires_at: Date;
  revoked_at: CreatedAt;
}

export interface InvitationsTable {
  token_hash: string;
  organization_id: string;
  user_id: string;
  expires_at: Date;
  created_at: CreatedAt;
}

export interface PersonalAccessTokensTable {
  id: string;
  organization_id: string;
  user_id: string;
  name: string;
  /** SHA-256 of the secret: the secret itself is shown once and never stored. */
  token_hash: string;
  /** The secret's first characters, so people can tell their tokens apart. */
  prefix: string;
  scopes: components['schemas']['Scope'][];
  created_at: CreatedAt;
  last_used_at: ColumnType<Date | null, never, Date>;
  expires_at: Date | null;
  revoked_at: ColumnType<Date | null, never, Date>;
}

export interface AccountsTable {
  id: string;
  organization_id: string;
  provider: components['schemas']['Provider'];
  external_id: string;
  name: string;
  labels: ColumnType<Record<string, string>, string | undefined, string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  last_import_at: ColumnType<Date | null, never, Date>;
}

type Json<T> = ColumnType<T, string, string>;

export interface ResourcesTable {
  id: string;
  organization_id: string;
  account_id: string;
  provider: components['schemas']['Provider'];
  type: string;
  native_id: string;
  region: string | null;
  name: string | null;
  tags: Json<Record<string, string>>;
  attributes: Json<Record<string, unknown>>;
  relationships: Json<components['schemas']['Relationship'][]>;
  /** SHA-256 of the canonical JSON of name, region, tags, attributes and relationships. */
  content_hash: string;
  version: number;
  first_seen_at: Date;
  last_seen_at: Date;
  status: components['schemas']['ResourceStatus'];
  /** When the current version was recorded; the versions it superseded are in `resource_versions`. */
  version_recorded_at: Date;
}

/** The versions of a resource that a newer one has superseded (the current one is its `resources` row). */
export interface ResourceVersionsTable {
  resource_id: string;
  version: number;
  content_hash: string;
  name: string | null;
  region: string | null;
  tags: Json<Record<string, string>>;
  attributes: Json<Record<string, unknown>>;
  relationships: Json<components['schemas']['Relationship'][]>;
  recorded_at: Date;
}

export interface ImportsTable {
  id: string;
  organization_id: string;
  account_id: string;
  format: components['schemas']['ImportFormat'];
  mode: components['schemas']['ImportMode'];
  status: components['schemas']['Import']['status'];
  counts: Json<components['schemas']['Import']['counts']>;
  problems: Json<components['schemas']['ImportProblem'][]>;
  created_by: string;
  created_at: Date;
  finished_at: Date;
}

/** One fixed-window counter of the rate limiter per budget and caller; a row is stale once `reset_at` has passed. */
export interface RateLimitsTable {
  /** `<budget>:<caller>`, e.g. `default:session:<jti>` or `login-username:alice`. */
  key: string;
  hits: number;
  reset_at: Date;
}

/** A JSON array of strings: written as its JSON text, read back as the array. */
type JsonStrings = ColumnType<string[], string, string>;
type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;

export interface OAuthClientsTable {
  id: string;
  organization_id: string;
  name: string;
  client_type: components['schemas']['OAuthClientType'];
  /** SHA-256 (hex) of a confidential client's secret; null for public clients. */
  secret_hash: string | null;
  redirect_uris: JsonStrings;
  scopes: JsonStrings;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** A user's approval of a client; deleting it revokes every code and token issued under it. */
export interface OAuthAuthorizationsTable {
  id: string;
  organization_id: string;
  user_id: string;
  client_id: string;
  scopes: JsonStrings;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface OAuthCodesTable {
  id: string;
  organization_id: string;
  authorization_id: string;
  client_id: string;
  user_id: string;
  code_hash: string;
  redirect_uri: string;
  scopes: JsonStrings;
  code_challenge: string | null;
  code_challenge_method: string | null;
  expires_at: Date;
  used_at: Nullable<Date>;
  created_at: CreatedAt;
}

export interface OAuthTokensTable {
  id: string;
  organization_id: string;
  authorization_id: string;
  client_id: string;
  user_id: string;
  family_id: string;
  access_token_hash: string;
  access_expires_at: Date;
  refresh_token_hash: string | null;
  refresh_expires_at: Date | null;
  scopes: JsonStrings;
  rotated_at: Nullable<Date>;
  revoked_at: Nullable<Date>;
  created_at: CreatedAt;
}

export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  revoked_tokens: RevokedTokensTable;
  invitations: InvitationsTable;
  personal_access_tokens: PersonalAccessTokensTable;
  accounts: AccountsTable;
  resources: ResourcesTable;
  resource_versions: ResourceVersionsTable;
  imports: ImportsTable;
  rate_limits: RateLimitsTable;
  oauth_clients: OAuthClientsTable;
  oauth_authorizations: OAuthAuthorizationsTable;
  oauth_codes: OAuthCodesTable;
  oauth_tokens: OAuthTokensTable;
}

export type OrganizationRow = Selectable<OrganizationsTable>;
export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type PersonalAccessTokenRow = Selectable<PersonalAccessTokensTable>;
export type AccountRow = Selectable<AccountsTable>;
export type ResourceRow = Selectable<ResourcesTable>;
export type ResourceVersionRow = Selectable<ResourceVersionsTable>;
export type ImportRow = Selectable<ImportsTable>;
