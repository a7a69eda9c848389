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
  password_hash: string;
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
  oauth_clients: OAuthClientsTable;
  oauth_authorizations: OAuthAuthorizationsTable;
  oauth_codes: OAuthCodesTable;
  oauth_tokens: OAuthTokensTable;
}

export type OrganizationRow = Selectable<OrganizationsTable>;
export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
