import type { components } from '../../generated/openapi';
import { loadOpenApiDocument } from '../http/openapi-document';

export type Role = components['schemas']['Role'];
export type Scope = components['schemas']['Scope'];

/**
 * The platform operator's scope. No organization role grants it, so no token or OAuth grant,
 * which are capped by the role, can hold it: only an operator's login session does.
 */
export const PLATFORM_SCOPE = 'platform:admin' satisfies Scope;

const ORGANIZATION_SCOPES = (loadOpenApiDocument().document.components?.schemas?.Scope?.enum as Scope[]).filter(
  (scope) => scope !== PLATFORM_SCOPE,
);

/** The most each role's credentials can hold, as the spec's `Role` description says. */
export const SCOPES_BY_ROLE: Readonly<Record<Role, readonly Scope[]>> = {
  owner: ORGANIZATION_SCOPES,
  admin: ORGANIZATION_SCOPES,
  member: ORGANIZATION_SCOPES.filter((scope) => scope !== 'org:admin'),
  viewer: ORGANIZATION_SCOPES.filter((scope) => scope.endsWith(':read')),
};
