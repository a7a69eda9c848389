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

/** One fixed-window counter of the rate limiter per budget and caller; a row is stale once `reset_at` has passed. */
export interface RateLimitsTable {
  /** `<budget>:<caller>`, e.g. `default:session:<jti>` or `login-username:alice`. */
  key: string;
  hits: number;
  reset_at: Date;
}

export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  revoked_tokens: RevokedTokensTable;
  rate_limits: RateLimitsTable;
}

export type OrganizationRow = Selectable<OrganizationsTable>;
export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
