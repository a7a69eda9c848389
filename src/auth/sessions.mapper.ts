import type { SessionRow } from '../db/schema';
import type { Schemas } from '../http/contract';

export function toSession(row: SessionRow, currentId: string | undefined): Schemas['Session'] {
  return {
    id: row.id,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
    user_agent: row.user_agent,
    ip_address: row.ip_address,
    current: row.id === currentId,
  };
}
