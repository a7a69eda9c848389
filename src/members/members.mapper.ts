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

/** A member just created, with their one-time invitation (when no password was given). */
export function toMemberCreated(row: MemberRow, invitation: { token: string; expiresAt: Date } | null): Schemas['MemberCreated'] {
  return { ...toMember(row), invitation: invitation ? { token: invitation.token, expires_at: invitation.expiresAt.toISOString() } : null };
}
