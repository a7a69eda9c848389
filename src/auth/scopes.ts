import type { components } from '../../generated/openapi';
import { loadOpenApiDocument } from '../http/openapi-document';

export type Role = components['schemas']['Role'];
export type Scope = components['schemas']['Scope'];

const ALL_SCOPES = loadOpenApiDocument().document.components?.schemas?.Scope?.enum as Scope[];

/** The most each role's credentials can hold, as the spec's `Role` description says. */
export const SCOPES_BY_ROLE: Readonly<Record<Role, readonly Scope[]>> = {
  owner: ALL_SCOPES,
  admin: ALL_SCOPES,
  member: ALL_SCOPES.filter((scope) => scope !== 'org:admin'),
  viewer: ALL_SCOPES.filter((scope) => scope.endsWith(':read')),
};
