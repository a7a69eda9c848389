import type { PersonalAccessTokenRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toPersonalAccessToken(row: PersonalAccessTokenRow): Schemas['PersonalAccessToken'] {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    expires_at: row.expires_at?.toISOString() ?? null,
  };
}
