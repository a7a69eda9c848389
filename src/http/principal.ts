import type { components } from '../../generated/openapi';

/** What authenticated the request; `id` tells one credential from another (rate limits key on it). */
export type Credential =
  | { kind: 'session'; id: string; expiresAt: Date }
  | { kind: 'personal_access_token'; id: string; expiresAt: Date | null }
  /** An OAuth 2.0 access token (`ffo_…`); `id` is its row, `clientId` the app it was issued to. */
  | { kind: 'oauth'; id: string; clientId: string; expiresAt: Date };

/** The user, their organization and their role in it, as read while authenticating. */
export interface Member {
  user_id: string;
  username: string;
  user_created_at: Date;
  platform_admin: boolean;
  organization_id: string;
  organization_name: string;
  organization_created_at: Date;
  organization_updated_at: Date;
  organization_status: 'active' | 'suspended';
  role: components['schemas']['Role'];
}

/**
 * Who is calling, as established from their credentials. The middleware of `authenticate.ts`
 * sets it; the features that verify each kind of credential make it.
 */
export interface Principal {
  userId: string;
  organizationId: string;
  role: components['schemas']['Role'];
  scopes: readonly components['schemas']['Scope'][];
  member: Member;
  credential: Credential;
  /** How the credentials came: `cookie` requests need a CSRF check when they change state. */
  via: 'authorization_header' | 'cookie';
}
