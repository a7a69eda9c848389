import type { CanonicalResource } from '../../imports/canonical-resource';

/** One app registration as Microsoft Graph answers `GET /v1.0/applications` with the collector's `$select`. */
export interface GraphApplication {
  id: string;
  appId?: string | null;
  displayName?: string | null;
  createdDateTime?: string | null;
  tags?: string[] | null;
  passwordCredentials?: GraphCredential[] | null;
  keyCredentials?: GraphCredential[] | null;
}

/** A password credential (client secret) or a key credential (certificate) of an application. */
export interface GraphCredential {
  keyId?: string | null;
  displayName?: string | null;
  startDateTime?: string | null;
  endDateTime?: string | null;
  /** Key credentials: AsymmetricX509Cert, X509CertAndPassword, Symmetric. */
  type?: string | null;
  /** Key credentials: Verify or Sign. */
  usage?: string | null;
  /** Password credentials: the first characters of the secret (never the secret). */
  hint?: string | null;
}

export const APPLICATIONS_SELECT = 'id,appId,displayName,createdDateTime,tags,passwordCredentials,keyCredentials';

/** The azuread types a complete read of the tenant's applications covers. */
export const ENTRA_TERRAFORM_TYPES = ['azuread_application', 'azuread_application_password', 'azuread_application_certificate'];

/**
 * An app registration and each of its credentials, as the azuread provider (3.x) names them:
 * `/applications/<object id>`, and `/applications/<object id>/password/<key id>` or
 * `/certificate/<key id>`, so an imported state and a scan of the same object agree. The
 * credentials carry the end dates that make them expire; never a secret (Graph answers none here).
 */
export function mapApplication(app: GraphApplication): CanonicalResource[] {
  const applicationId = `/applications/${app.id}`;
  const name = app.displayName ?? null;
  const resources: CanonicalResource[] = [{
    type: 'azuread_application',
    native_id: applicationId,
    provider: 'azure',
    region: null,
    name,
    tags: {},
    attributes: {
      id: applicationId,
      object_id: app.id,
      client_id: app.appId ?? null,
      display_name: name,
      tags: [...(app.tags ?? [])],
      created_date: app.createdDateTime ?? null,
    },
    relationships: [],
    unknown_paths: [],
    source: applicationId,
  }];
  const credential = (kind: 'password' | 'certificate', c: GraphCredential): CanonicalResource => {
    const keyId = (c.keyId ?? '').toLowerCase();
    const id = `${applicationId}/${kind}/${keyId}`;
    return {
      type: kind === 'password' ? 'azuread_application_password' : 'azuread_application_certificate',
      native_id: id,
      provider: 'azure',
      region: null,
      name: c.displayName ?? name,
      tags: {},
      attributes: {
        id,
        application_id: applicationId,
        application_object_id: app.id,
        application_client_id: app.appId ?? null,
        application_display_name: name,
        key_id: keyId,
        display_name: c.displayName ?? null,
        start_date: c.startDateTime ?? null,
        end_date: c.endDateTime ?? null,
        ...(kind === 'certificate' ? { type: c.type ?? null, usage: c.usage ?? null } : {}),
      },
      relationships: [{ type: 'attached_to', resource_native_id: applicationId, resource_types: ['azuread_application'] }],
      unknown_paths: [],
      source: id,
    };
  };
  for (const c of app.passwordCredentials ?? []) if (c.keyId) resources.push(credential('password', c));
  for (const c of app.keyCredentials ?? []) if (c.keyId) resources.push(credential('certificate', c));
  return resources;
}
