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

export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  revoked_tokens: RevokedTokensTable;
  invitations: InvitationsTable;
  personal_access_tokens: PersonalAccessTokensTable;
}

export type OrganizationRow = Selectable<OrganizationsTable>;
export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type PersonalAccessTokenRow = Selectable<PersonalAccessTokensTable>;
