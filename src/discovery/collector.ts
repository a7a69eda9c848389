import type { CanonicalResource } from '../imports/canonical-resource';

/**
 * What every cloud's collector (AWS, Azure, GCP) is given and answers. A collector reads one
 * cloud account through the cloud's official SDK and answers the resources in the same canonical
 * shape the importers produce (Terraform type names and attribute names), so every rule judges
 * scanned data unchanged. It never throws for a cloud error on one service or region: it records
 * a failure and goes on; it throws only when nothing can be read (wrong credentials), as a
 * `CollectorError`.
 */
export interface CollectorContext {
  /** Aborted when the scan is cancelled or runs out of time. */
  signal: AbortSignal;
  mode: 'full' | 'incremental';
  /** The start of the account's last successful scan: incremental scans read what changed since. */
  changedSince: Date | null;
  /** Endpoint overrides (tests and emulators); empty in production. */
  endpoints: CloudEndpoints;
  /** Bounded concurrency of cloud calls for this account. */
  concurrency: number;
  /** Called as each (service, region) unit starts and ends, for the scan's progress. */
  progress(unit: ScanUnitProgress): void;
}

export interface CloudEndpoints {
  /** AWS: every client's endpoint (the SDK also honours AWS_ENDPOINT_URL itself). */
  aws?: string;
  /** Azure: Entra ID's authority host (https), e.g. https://127.0.0.1:8443. */
  azureAuthorityHost?: string;
  /** Azure: Resource Manager (Resource Graph) endpoint (https). */
  azureResourceManager?: string;
  /** Azure: Key Vault data-plane base URL replacing each vault's own host (https). */
  azureKeyVault?: string;
  /** Azure: Microsoft Graph's base URL (app registrations and their credentials). */
  azureGraph?: string;
  /** GCP: `http://host:port` served over REST (`fallback: 'rest'`). */
  gcp?: string;
  /** Azure: certificates (PEM) trusted besides the public ones, for a private cloud, a TLS-inspecting proxy or a local stand-in. */
  azureCaPem?: string;
}

export interface ScanUnitProgress {
  service: string;
  /** null for global services (IAM, Resource Graph, Cloud Asset). */
  region: string | null;
  status: 'running' | 'succeeded' | 'failed';
  /** Resources read in this unit so far. */
  resources: number;
}

/** One (service, region) the collector could not read completely. */
export interface CollectorFailure {
  service: string;
  region: string | null;
  /** The cloud's error code, e.g. AccessDenied, AuthorizationFailed, PERMISSION_DENIED, Throttling. */
  code: string;
  message: string;
  /** The exact permission that was missing (`s3:GetBucketPolicy`, `Microsoft.KeyVault/vaults/secrets/read`, `cloudasset.assets.listResource`), when the error says or the call implies it. */
  missing_permission: string | null;
}

/**
 * The resource types a collector read completely in one region (null: every region / global).
 * A full scan marks resources of these types in that region that it did not see as gone, and
 * nothing else: a failure never "deletes" what it could not read.
 */
export interface CompleteCoverage {
  types: string[];
  region: string | null;
}

export interface CollectorResult {
  resources: CanonicalResource[];
  failures: CollectorFailure[];
  complete: CompleteCoverage[];
  /** How many calls the collector made to the cloud (benchmarks and progress). */
  requests: number;
}

/** The credentials could not be used at all: the scan fails with `code`. */
export class CollectorError extends Error {
  constructor(
    readonly code: 'invalid_credentials' | 'access_denied' | 'cloud_unreachable',
    message: string,
  ) {
    super(message);
    this.name = 'CollectorError';
  }
}

/** One permission `verify` tried: the exact permission name and whether the call it needs worked. */
export interface PermissionCheck {
  /** `s3:ListAllMyBuckets`, `Microsoft.ResourceGraph/resources/read`, `cloudasset.assets.listResource`. */
  permission: string;
  service: string;
  ok: boolean;
  /** The cloud's error code and message when not ok (never a credential). */
  error: string | null;
}

/** An Azure service principal; the subscription id is the account's native id. */
export interface AzureCredentials {
  tenant_id: string;
  client_id: string;
  /** One of the two is set. */
  client_secret?: string;
  /** PEM holding the certificate and its private key. */
  client_certificate_pem?: string;
}

/** A GCP service-account key file's JSON text. */
export interface GcpCredentials {
  service_account_key: string;
}

/** What a GCP connection reads: the account's project (its native id), or every project under an organization or folder. */
export type GcpScope = { project_id: string } | { organization_id: string } | { folder_id: string };

/** AWS: a role to assume (with the organization's external id) from the server's own identity, or an access key pair. */
export interface AwsCredentials {
  /** The account's 12-digit id (the account's native id). */
  account_id: string;
  role_arn?: string;
  external_id?: string;
  access_key_id?: string;
  secret_access_key?: string;
  /** null: every region enabled in the account. */
  regions: string[] | null;
}
