import type { Schemas } from '../http/contract';
import type { ClientRow } from './oauth.repository';

export function toOAuthClientResource(row: ClientRow): Schemas['OAuthClient'] {
  return {
    id: row.id,
    name: row.name,
    client_type: row.client_type,
    redirect_uris: row.redirect_uris,
    scopes: row.scopes as Schemas['Scope'][],
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function toAuthorizationResource(row: {
  id: string;
  client_id: string;
  client_name: string;
  scopes: string[];
  created_at: Date;
  updated_at: Date;
}): Schemas['Authorization'] {
  return {
    id: row.id,
    client: { id: row.client_id, name: row.client_name },
    scopes: row.scopes as Schemas['Scope'][],
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}
