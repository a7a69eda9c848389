import type { Schemas } from '../http/contract';
import type { MemberRow } from './members.repository';

export function toMember(row: MemberRow): Schemas['Member'] {
  return {
    user_id: row.user_id,
    username: row.username,
    role: row.role,
    status: row.invited ? 'invited' : 'active',
    created_at: row.created_at.toISOString(),
  };
}
