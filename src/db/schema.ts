import type { ColumnType, Insertable, Selectable } from 'kysely';
import type { components } from '../../generated/openapi';

/** Set by the database's default, never by an insert. */
type CreatedAt = ColumnType<Date, never, never>;
type UpdatedAt = ColumnType<Date, never, Date>;
type Dimension = components['schemas']['Dimension'];
type Severity = components['schemas']['Severity'];

export interface OrganizationsTable {
  id: string;
  name: string;
  /** Unique, URL-safe; chosen by the platform operator who creates the organization. */
  slug: string;
  /** A suspended organization's credentials are all refused; its data stays. */
  status: ColumnType<'active' | 'suspended', 'active' | 'suspended' | undefined, 'active' | 'suspended'>;
  suspended_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Limits a platform operator set for this organization; null: the configured default. */
  max_resources: ColumnType<number | null, number | null | undefined, number | null>;
  max_resource_attribute_bytes: ColumnType<number | null, number | null | undefined, number | null>;
  max_queued_jobs: ColumnType<number | null, number | null | undefined, number | null>;
  /** bigint: node-postgres reads it as a string. */
  max_report_bytes: ColumnType<string | number | null, number | null | undefined, number | null>;
  /** Longest risk acceptance its admins allow, in days; null: the configured default. */
  risk_acceptance_max_days: ColumnType<number | null, number | null | undefined, number | null>;
  /** The plan a platform operator gave it; `starter` again once `plan_expires_at` has passed. */
  plan: ColumnType<'starter' | 'pro' | 'enterprise', 'starter' | 'pro' | 'enterprise' | undefined, 'starter' | 'pro' | 'enterprise'>;
  plan_expires_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface UsersTable {
  id: string;
  username: string;
  /** Null until an invited user accepts their invitation. */
  password_hash: string | null;
  /** A platform operator granted by the command line (PLATFORM_ADMINS names others). */
  platform_admin: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface MembershipsTable {
  organization_id: string;
  user_id: string;
  role: components['schemas']['Role'];
  created_at: CreatedAt;
}

/** Login JWTs revoked by logout before they expire; a row is useless once `expires_at` has passed. */
/** A login session: its id is the `jti` of its JWT, which is accepted only while the row exists. */
export interface SessionsTable {
  id: string;
  organization_id: string;
  user_id: string;
  created_at: CreatedAt;
  /** Updated at most once a minute, by the requests the session authenticates. */
  last_used_at: ColumnType<Date, never, Date>;
  expires_at: Date;
  user_agent: string | null;
  ip_address: string | null;
}

export interface InvitationsTable {
  token_hash: string;
  organization_id: string;
  user_id: string;
  expires_at: Date;
  created_at: CreatedAt;
}

export interface PersonalAccessTokensTable {
  id: string;
  organization_id: string;
  user_id: string;
  name: string;
  /** SHA-256 of the secret: the secret itself is shown once and never stored. */
  token_hash: string;
  /** The secret's first characters, so people can tell their tokens apart. */
  prefix: string;
  scopes: components['schemas']['Scope'][];
  created_at: CreatedAt;
  last_used_at: ColumnType<Date | null, never, Date>;
  expires_at: Date | null;
  revoked_at: ColumnType<Date | null, never, Date>;
}

/** One entry of the append-only, hash-chained audit log (a trigger refuses UPDATE and DELETE). */
export interface AuditLogTable {
  id: string;
  /** The organization's id, or '' for entries of no organization. */
  chain: string;
  /** bigint: node-postgres reads it as a string. */
  sequence: ColumnType<string | number, number, never>;
  organization_id: string | null;
  occurred_at: ColumnType<Date, Date, never>;
  actor_type: 'user' | 'personal_access_token' | 'oauth_client' | 'system' | 'anonymous';
  actor_id: string | null;
  user_id: string | null;
  action: string;
  target_id: string | null;
  outcome: number;
  request_id: string | null;
  ip: string | null;
  detail: ColumnType<Record<string, unknown>, string, never>;
  previous_hash: string;
  hash: string;
  hmac: string;
}

export interface AccountsTable {
  id: string;
  organization_id: string;
  provider: components['schemas']['Provider'];
  external_id: string;
  name: string;
  labels: ColumnType<Record<string, string>, string | undefined, string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  last_import_at: ColumnType<Date | null, never, Date>;
}

type Json<T> = ColumnType<T, string, string>;
/** A jsonb column that is SQL NULL when it has no value (not the JSON value null, which filters would not see as absent). */
type NullableJson<T> = ColumnType<T | null, string | null, string | null>;

export interface ResourcesTable {
  id: string;
  organization_id: string;
  account_id: string;
  provider: components['schemas']['Provider'];
  type: string;
  native_id: string;
  region: string | null;
  name: string | null;
  tags: Json<Record<string, string>>;
  attributes: Json<Record<string, unknown>>;
  relationships: Json<components['schemas']['Relationship'][]>;
  /** Paths (`versioning[0].enabled`) of the attributes known only after apply; not null, default []. */
  unknown_attributes: ColumnType<string[], string | undefined, string>;
  /** SHA-256 of the canonical JSON of type, name, region, tags, attributes, relationships and (when any) unknown attributes. */
  content_hash: string;
  version: number;
  first_seen_at: Date;
  status: components['schemas']['ResourceStatus'];
  /** When the current version was recorded; the versions it superseded are in `resource_versions`. */
  version_recorded_at: Date;
}

/** When a resource was last seen: one row per resource, apart from its wide row so that recording a sighting rewrites only this. */
export interface ResourceSightingsTable {
  resource_id: string;
  organization_id: string;
  last_seen_at: Date;
}

/** The versions of a resource that a newer one has superseded (the current one is its `resources` row). */
export interface ResourceVersionsTable {
  resource_id: string;
  version: number;
  content_hash: string;
  name: string | null;
  region: string | null;
  tags: Json<Record<string, string>>;
  attributes: Json<Record<string, unknown>>;
  relationships: Json<components['schemas']['Relationship'][]>;
  unknown_attributes: ColumnType<string[], string | undefined, string>;
  recorded_at: Date;
}

export interface ImportsTable {
  id: string;
  organization_id: string;
  account_id: string;
  format: components['schemas']['ImportFormat'];
  mode: components['schemas']['ImportMode'];
  status: components['schemas']['Import']['status'];
  counts: Json<components['schemas']['Import']['counts']>;
  problems: Json<components['schemas']['ImportProblem'][]>;
  created_by: string;
  created_at: Date;
  finished_at: Date | null;
}

/** What a queued import writes, until a worker writes it: one of its two forms. */
export interface ImportPayloadsTable {
  import_id: string;
  /** JSON text of the CanonicalResource[]. */
  resources: string | null;
  /** The file as it was sent (UTF-8 JSON), in the import's format. */
  document: Buffer | null;
}

export type AuditStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
export type AuditMode = 'full' | 'incremental' | 'reanalysis';
export type FindingStatus = 'open' | 'resolved' | 'suppressed' | 'risk_accepted';

export interface AuditsTable {
  id: string;
  organization_id: string;
  parent_audit_id: string | null;
  mode: AuditMode;
  /** null: every account of the organization. */
  account_ids: NullableJson<string[]>;
  status: AuditStatus;
  resources_total: ColumnType<number, number | undefined, number>;
  resources_evaluated: ColumnType<number, number | undefined, number>;
  attempt: ColumnType<number, number | undefined, number>;
  error_code: string | null;
  error_message: string | null;
  catalogue_version: string | null;
  /** Rule id → version, of every rule the audit applied. */
  rule_versions: NullableJson<Record<string, number>>;
  /** The organization's enabled policies the audit applied, at the version it applied. */
  policy_versions: ColumnType<AppliedPolicyVersion[], string | undefined, string>;
  summary: NullableJson<AuditSummaryData>;
  created_by: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface AppliedPolicyVersion {
  policy_id: string;
  version: number;
}

/** What a finished audit found, as stored; the API's `summary` is shaped from it. */
export interface AuditSummaryData {
  /** dimension → severity → failing findings. */
  findings: Record<Dimension, Record<Severity, number>>;
  new: number;
  recurring: number;
  resolved: number;
  /** dimension → severity-weighted evaluations and failures behind its score. */
  weights: Record<Dimension, { evaluated: number; failed: number }>;
  /** evaluation_unknowns: absent in audits from before three-valued results (read as 0). */
  coverage: { resources_evaluated: number; rules_evaluated: number; evaluations: number; evaluation_errors: number; evaluation_unknowns?: number };
  /**
   * rule id → how many resources it was evaluated on (a decided pass or fail), failed on, could not be
   * evaluated on, and left unknown (absent before three-valued results); compliance reads this.
   */
  rule_results: Record<string, { evaluated: number; failed: number; errors: number; unknown?: number }>;
  /** The first evaluation errors: which rule could not be evaluated on which resource, and why. */
  errors: { rule_id: string; resource_id: string; message: string }[];
}

/** The outcomes of an audit that cannot be derived from its findings: unknown and error. */
export interface AuditRuleOutcomesTable {
  audit_id: string;
  resource_id: string;
  rule_id: string;
  outcome: 'unknown' | 'error';
  unknown_paths: ColumnType<string[] | null, string | null, string | null>;
  message: string | null;
}

export interface AuditResourcesTable {
  audit_id: string;
  resource_id: string;
  version: number;
}

export interface FindingsTable {
  id: string;
  organization_id: string;
  fingerprint: string;
  rule_id: string;
  rule_version: number;
  resource_id: string;
  account_id: string;
  resource_type: string;
  region: string | null;
  title: string;
  description: string;
  dimension: Dimension;
  severity: Severity;
  severity_rank: number;
  status: FindingStatus;
  status_reason: string | null;
  expires_at: Date | null;
  note: string | null;
  evidence: Json<{ path: string; value: unknown }[]>;
  remediation: Json<{ text: string; terraform: string | null }>;
  compliance: Json<Record<string, string[]>>;
  cost_monthly_usd: number | null;
  /** A custom policy's findings: the policy (also in rule_id) and the version that last evaluated it. */
  policy_id: string | null;
  policy_version: number | null;
  first_seen_at: Date;
  first_audit_id: string;
  resolved_at: Date | null;
  /** A hash of what the last audit wrote of the content (see `contentHashOf` in finding-lifecycle.ts); null before one did. */
  content_hash: string | null;
}

/** A finding's sighting, and when it last changed: a narrow row of its own, which an audit seeing the finding again rewrites alone (migration 0052). */
export interface FindingSightingsTable {
  finding_id: string;
  organization_id: string;
  last_seen_at: Date;
  last_audit_id: string;
  updated_at: Date;
}

export interface AuditFindingsTable {
  audit_id: string;
  finding_id: string;
}

export type FindingEventType = 'opened' | 'resolved' | 'reopened' | 'status_changed' | 'expired';

export interface FindingEventsTable {
  id: string;
  finding_id: string;
  type: FindingEventType;
  from_status: FindingStatus | null;
  to_status: FindingStatus;
  reason: string | null;
  /** The user who changed it; null when an audit, an import or the expiry job did. */
  actor_user_id: string | null;
  audit_id: string | null;
  created_at: Date;
}

export type PolicyKind = 'custom' | 'override';
export type CustomPolicyData = components['schemas']['CustomRule'];
export type OverridePolicyData = components['schemas']['RuleOverride'];

/** A policy at its current version. */
export interface PoliciesTable {
  id: string;
  organization_id: string;
  kind: PolicyKind;
  version: number;
  name: string;
  description: string;
  enabled: boolean;
  custom: NullableJson<CustomPolicyData>;
  override: NullableJson<OverridePolicyData>;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

/** Every version of a policy, the current one included. */
export interface PolicyVersionsTable {
  policy_id: string;
  version: number;
  organization_id: string;
  name: string;
  description: string;
  enabled: boolean;
  custom: NullableJson<CustomPolicyData>;
  override: NullableJson<OverridePolicyData>;
  created_by: string;
  created_at: Date;
}

/** The first answer to a request sent with an Idempotency-Key (see src/http/idempotency.ts). */
export interface IdempotencyKeysTable {
  organization_id: string;
  user_id: string;
  key: string;
  operation_id: string;
  request_hash: string;
  response_status: number | null;
  response_location: string | null;
  response_body: ColumnType<unknown, string | null, string | null>;
  created_at: Date;
}

/** One fixed-window counter of the rate limiter per budget and caller; a row is stale once `reset_at` has passed. */
export interface RateLimitsTable {
  /** `<budget>:<caller>`, e.g. `default:session:<jti>` or `login-username:alice`. */
  key: string;
  hits: number;
  reset_at: Date;
}

export type ReportType = components['schemas']['ReportType'];
export type ReportFormat = components['schemas']['ReportFormat'];
export type ReportStatus = components['schemas']['ReportStatus'];

/** What a report covers: empty lists mean every dimension, severity or account. */
export interface ReportFilters {
  dimensions: Dimension[];
  severities: Severity[];
  account_ids: string[];
}

/** Where a report's figures come from, fixed when it is created. */
export interface ReportProvenance {
  audit_id: string;
  audit_finished_at: string;
  catalogue_version: string | null;
  policy_versions: AppliedPolicyVersion[];
  coverage: AuditSummaryData['coverage'];
}

export interface ReportsTable {
  id: string;
  organization_id: string;
  type: ReportType;
  format: ReportFormat;
  status: ReportStatus;
  audit_id: string;
  framework: string | null;
  filters: Json<ReportFilters>;
  provenance: Json<ReportProvenance>;
  error_code: string | null;
  error_message: string | null;
  /** bigint: PostgreSQL answers it as a string. */
  size_bytes: ColumnType<string | null, number | null, number | null>;
  sha256: string | null;
  content: Buffer | null;
  file_path: string | null;
  created_by: string;
  created_at: Date;
  started_at: Date | null;
  generated_at: Date | null;
}

/** A JSON array of strings: written as its JSON text, read back as the array. */
type JsonStrings = ColumnType<string[], string, string>;
type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;

export interface OAuthClientsTable {
  id: string;
  organization_id: string;
  name: string;
  client_type: components['schemas']['OAuthClientType'];
  /** SHA-256 (hex) of a confidential client's secret; null for public clients. */
  secret_hash: string | null;
  redirect_uris: JsonStrings;
  scopes: JsonStrings;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** A user's approval of a client; deleting it revokes every code and token issued under it. */
export interface OAuthAuthorizationsTable {
  id: string;
  organization_id: string;
  user_id: string;
  client_id: string;
  scopes: JsonStrings;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface OAuthCodesTable {
  id: string;
  organization_id: string;
  authorization_id: string;
  client_id: string;
  user_id: string;
  code_hash: string;
  redirect_uri: string;
  scopes: JsonStrings;
  code_challenge: string | null;
  code_challenge_method: string | null;
  expires_at: Date;
  used_at: Nullable<Date>;
  created_at: CreatedAt;
}

export interface OAuthTokensTable {
  id: string;
  organization_id: string;
  authorization_id: string;
  client_id: string;
  user_id: string;
  family_id: string;
  access_token_hash: string;
  access_expires_at: Date;
  refresh_token_hash: string | null;
  refresh_expires_at: Date | null;
  scopes: JsonStrings;
  rotated_at: Nullable<Date>;
  revoked_at: Nullable<Date>;
  created_at: CreatedAt;
}

export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  invitations: InvitationsTable;
  personal_access_tokens: PersonalAccessTokensTable;
  accounts: AccountsTable;
  audit_log: AuditLogTable;
  resources: ResourcesTable;
  resource_sightings: ResourceSightingsTable;
  resource_versions: ResourceVersionsTable;
  imports: ImportsTable;
  import_payloads: ImportPayloadsTable;
  audits: AuditsTable;
  audit_resources: AuditResourcesTable;
  audit_rule_outcomes: AuditRuleOutcomesTable;
  findings: FindingsTable;
  finding_sightings: FindingSightingsTable;
  audit_findings: AuditFindingsTable;
  finding_events: FindingEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  policies: PoliciesTable;
  policy_versions: PolicyVersionsTable;
  rate_limits: RateLimitsTable;
  oauth_clients: OAuthClientsTable;
  oauth_authorizations: OAuthAuthorizationsTable;
  oauth_codes: OAuthCodesTable;
  oauth_tokens: OAuthTokensTable;
  reports: ReportsTable;
  signing_keys: SigningKeysTable;
  alert_rules: AlertRulesTable;
  alert_notifications: AlertNotificationsTable;
  events: EventsTable;
  event_stages: EventStagesTable;
  alerted_scans: AlertedScansTable;
  alerted_audits: AlertedAuditsTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
  webhook_endpoints: WebhookEndpointsTable;
  discovery_settings: DiscoverySettingsTable;
  account_connections: AccountConnectionsTable;
  scans: ScansTable;
  syncs: SyncsTable;
  sync_runs: SyncRunsTable;
  sync_targets_written: SyncTargetsWrittenTable;
  rotations: RotationsTable;
  credential_links: CredentialLinksTable;
  rotation_policies: RotationPoliciesTable;
  alerted_rotations: AlertedRotationsTable;
  alerted_sync_runs: AlertedSyncRunsTable;
}

export interface WebhookEndpointsTable {
  id: string;
  organization_id: string;
  url: string;
  description: string | null;
  event_types: Json<components['schemas']['AlertType'][]>;
  secret_encrypted: string;
  previous_secret_encrypted: string | null;
  previous_secret_expires_at: Date | null;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: Date | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export interface AlertRulesTable {
  id: string;
  organization_id: string;
  name: string;
  alert_type: components['schemas']['AlertType'];
  threshold_days: number | null;
  stages: Json<number[]>;
  filters: Json<components['schemas']['AlertFilters']>;
  score_drop: NullableJson<components['schemas']['ScoreDrop']>;
  delivery_method: components['schemas']['DeliveryMethod'];
  recipients: Json<string[]>;
  webhook_endpoint_id: string | null;
  target_encrypted: string | null;
  delivery_mode: components['schemas']['DeliveryMode'];
  digest_hour: number | null;
  digest_time_zone: string | null;
  enabled: boolean;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

/**
 * An event as webhooks carry it (`data`): the organization's (`listed`, the feed, once each), or
 * what an alert rule raised (not listed; its daily summary is built from them).
 */
export interface EventsTable {
  id: string;
  organization_id: string;
  type: string;
  alert_rule_id: string | null;
  occurred_at: Date;
  data: Json<unknown>;
  listed: ColumnType<boolean, boolean | undefined, boolean>;
}
export type EventRow = Selectable<EventsTable>;

export interface AlertNotificationsTable {
  alert_rule_id: string;
  /** What was notified about: a resource and the expiry it had (a new expiry notifies anew), or an event. */
  subject: string;
  stage: string;
  notified_at: Date;
}

/** What the organization's feed recorded of something that ends, once per stage. */
export interface EventStagesTable {
  organization_id: string;
  subject: string;
  stage: string;
  recorded_at: Date;
}

export interface AlertedScansTable {
  scan_id: string;
  alerted_at: Date;
}

export interface AlertedAuditsTable {
  audit_id: string;
  alerted_at: Date;
}

export interface DeliveriesTable {
  id: string;
  organization_id: string;
  alert_rule_id: string | null;
  webhook_endpoint_id: string | null;
  event_type: string;
  method: components['schemas']['DeliveryMethod'];
  recipient: string;
  status: components['schemas']['DeliveryStatus'];
  /** The notification, as the sender renders it for its method. */
  payload: Json<unknown>;
  attempt_count: ColumnType<number, number | undefined, number>;
  series_start: ColumnType<number, number | undefined, number>;
  next_attempt_at: Date | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface DeliveryAttemptsTable {
  delivery_id: string;
  number: number;
  attempted_at: Date;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

/** JWT signing keys made by `fourfold keys rotate`, encrypted with the configured secret. */
export interface SigningKeysTable {
  kid: string;
  secret_encrypted: string;
  created_at: CreatedAt;
}

export type OrganizationRow = Selectable<OrganizationsTable>;
export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type NewUser = Insertable<UsersTable>;
export type PersonalAccessTokenRow = Selectable<PersonalAccessTokensTable>;
export type AccountRow = Selectable<AccountsTable>;
/** A resource with when it was last seen, as the API shows it. */
export type ResourceRow = Selectable<ResourcesTable> & { last_seen_at: Date };
export type ResourceVersionRow = Selectable<ResourceVersionsTable>;
export type ImportRow = Selectable<ImportsTable>;
export type AuditRow = Selectable<AuditsTable>;
// content_hash is optional in a row: only the audits read it, and a finding without it counts as changed.
export type FindingRow = Omit<Selectable<FindingsTable>, 'content_hash'> & { content_hash?: string | null } & Pick<FindingSightingsTable, 'last_seen_at' | 'last_audit_id' | 'updated_at'>;
export type FindingEventRow = Selectable<FindingEventsTable>;
export type PolicyRow = Selectable<PoliciesTable>;
export type PolicyVersionRow = Selectable<PolicyVersionsTable>;
export type ReportRow = Selectable<ReportsTable>;
export type AlertRuleRow = Selectable<AlertRulesTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type DeliveryAttemptRow = Selectable<DeliveryAttemptsTable>;
export type WebhookEndpointRow = Selectable<WebhookEndpointsTable>;
export type AuditLogRow = Selectable<AuditLogTable>;

/** Per organization: the external id every AWS role it connects must require (confused-deputy guard). */
export interface DiscoverySettingsTable {
  organization_id: string;
  aws_external_id: string;
}

export type ConnectionKind = 'aws_role' | 'aws_access_key' | 'azure_service_principal' | 'gcp_service_account';

/** The parts of a connection that are not secret, as stored (see src/discovery/connections.service.ts). */
export interface ConnectionSettings {
  role_arn?: string;
  access_key_id?: string;
  /** null: every region enabled in the account. */
  regions?: string[] | null;
  tenant_id?: string;
  client_id?: string;
  gcp_scope?: { organization_id: string } | { folder_id: string } | null;
}

export interface ScanScheduleData {
  cron: string;
  time_zone: string;
}

export interface AccountConnectionsTable {
  account_id: string;
  organization_id: string;
  kind: ConnectionKind;
  settings: Json<ConnectionSettings>;
  /** `encryptConnectionSecret` of the secret part's JSON; null for a role (no secret). */
  secret_encrypted: string | null;
  secret_key_id: string | null;
  secret_fingerprint: string | null;
  scan_schedule: NullableJson<ScanScheduleData>;
  /** When `scan_schedule` next starts a scan; null without a schedule. */
  next_scan_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Who set `scan_schedule`: the audits after its scans are theirs. */
  scan_schedule_set_by: ColumnType<string | null, string | null | undefined, string | null>;
  audit_after_scan: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Date;
  updated_at: Date;
}

export type ScanStatus = 'queued' | 'running' | 'succeeded' | 'partially_succeeded' | 'failed' | 'canceled';

export interface ScanUnitData {
  service: string;
  region: string | null;
  status: 'running' | 'succeeded' | 'failed';
  resources: number;
}

export interface ScanFailureData {
  service: string;
  region: string | null;
  code: string;
  message: string;
  missing_permission: string | null;
}

export interface ScanCountsData {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  gone: number;
}

export interface ScansTable {
  id: string;
  organization_id: string;
  account_id: string;
  mode: 'full' | 'incremental';
  trigger: 'api' | 'schedule';
  status: ScanStatus;
  units: ColumnType<ScanUnitData[], string | undefined, string>;
  failures: ColumnType<ScanFailureData[], string | undefined, string>;
  counts: NullableJson<ScanCountsData>;
  requests: ColumnType<number, number | undefined, number>;
  error_code: string | null;
  error_message: string | null;
  audit_id: string | null;
  created_by: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export type AccountConnectionRow = Selectable<AccountConnectionsTable>;
export type ScanRow = Selectable<ScansTable>;

export type SyncTargetService = 'aws_secrets_manager' | 'aws_ssm_parameter_store' | 'aws_acm' | 'gcp_secret_manager' | 'gcp_certificate_manager';
export type SyncItemKind = 'secret' | 'certificate';
export interface SyncSourceData {
  account_id: string;
  vault_name: string;
  name_pattern: string | null;
  tag_filter: Record<string, string> | null;
  kinds: SyncItemKind[];
}
export interface SyncTargetData {
  account_id: string;
  service: SyncTargetService;
  /** AWS: the region written to. */
  region: string | null;
}
export interface SyncScheduleData {
  cron: string;
  time_zone: string;
}
export type SyncRunStatus = 'queued' | 'running' | 'succeeded' | 'partially_succeeded' | 'failed';
export type SyncOutcome = 'created' | 'updated' | 'unchanged' | 'conflict' | 'skipped' | 'failed';
/** One item copied (or not) to one target; never a value. */
export interface SyncResultData {
  item_kind: SyncItemKind;
  item_name: string;
  source_version: string | null;
  target_account_id: string;
  target_service: SyncTargetService;
  target_name: string;
  outcome: SyncOutcome;
  target_version: string | null;
  error: string | null;
}

export interface SyncsTable {
  id: string;
  organization_id: string;
  name: string;
  source: Json<SyncSourceData>;
  targets: Json<SyncTargetData[]>;
  naming_template: string;
  copy_tags: boolean;
  exclusions: Json<string[]>;
  on_conflict: 'skip' | 'overwrite';
  schedule: NullableJson<SyncScheduleData>;
  /** When the schedule is next due; null without a schedule. */
  next_run_at: Date | null;
  /** Whom scheduled runs are attributed to: who set the schedule. */
  schedule_set_by: string | null;
  /** Why the schedule waits (the plan lost `sync`); null while it runs. */
  schedule_paused_reason: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface SyncRunsTable {
  id: string;
  organization_id: string;
  sync_id: string;
  trigger: 'api' | 'schedule' | 'rotation';
  status: SyncRunStatus;
  results: ColumnType<SyncResultData[], string | undefined, string>;
  /** The rotation whose Key Vault writes started this run (`trigger` `rotation`). */
  rotation_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The Key Vault secret names the run is restricted to; null: every item the sync selects. */
  only_items: ColumnType<string[] | null, string | null | undefined, string | null>;
  error_code: string | null;
  error_message: string | null;
  created_by: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** What fourfold last wrote to a target: the source version it copied and the target's version id (or modification date) after writing. */
export interface SyncTargetsWrittenTable {
  sync_id: string;
  item_kind: SyncItemKind;
  item_name: string;
  target_account_id: string;
  target_service: SyncTargetService;
  target_name: string;
  source_version: string;
  target_version: string;
  written_at: Date;
}

export type SyncRow = Selectable<SyncsTable>;
export type SyncRunRow = Selectable<SyncRunsTable>;
export type RotationStatus = components['schemas']['RotationStatus'];
export type RotationStepData = components['schemas']['RotationStep'];

export interface RotationsTable {
  id: string;
  organization_id: string;
  account_id: string;
  application_id: string;
  key_id: string;
  new_key_id: string | null;
  key_vault_secrets: ColumnType<string[], string, string>;
  lifetime_days: number;
  overlap_hours: number;
  status: RotationStatus;
  new_expires_at: Date | null;
  revoke_at: Date | null;
  steps: ColumnType<RotationStepData[], string, string>;
  error: NullableJson<{ step: RotationStepData['name']; message: string }>;
  created_by: string | null;
  created_at: Date;
  finished_at: Date | null;
  /** The rotation policy that started it; null when a person did (or the policy is gone). */
  policy_id: ColumnType<string | null, string | null | undefined, string | null>;
  credential_type: ColumnType<RotationCredentialType, RotationCredentialType | undefined, RotationCredentialType>;
  /** The credential resource rotated; null for a rotation asked with explicit Key Vault secrets (or the resource is gone). */
  credential_resource_id: ColumnType<string | null, string | null | undefined, string | null>;
  stores: ColumnType<RotationStoreData[], string | undefined, string>;
}

export type RotationCredentialType = components['schemas']['RotationCredentialType'];
export type RotationStoreData = components['schemas']['RotationStore'];

export type RotationRow = Selectable<RotationsTable>;

export type CredentialLinkReasonData = components['schemas']['CredentialLinkReason'];

export interface CredentialLinksTable {
  id: string;
  organization_id: string;
  credential_resource_id: string;
  store_resource_id: string;
  status: components['schemas']['CredentialLinkStatus'];
  origin: 'automatic' | 'manual';
  confidence: number;
  reasons: ColumnType<CredentialLinkReasonData[], string, string>;
  decided_by: string | null;
  decided_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** Which credentials a rotation policy covers; every given part must match (an empty selector matches none). */
export interface RotationPolicySelectorData {
  resource_ids: string[] | null;
  account_ids: string[] | null;
  tags: Record<string, string> | null;
  name_pattern: string | null;
}

export interface RotationPoliciesTable {
  id: string;
  organization_id: string;
  name: string;
  selector: Json<RotationPolicySelectorData>;
  exclusions: Json<string[]>;
  days_before_expiry: number;
  lifetime_days: number;
  overlap_hours: number;
  enabled: boolean;
  paused_reason: string | null;
  last_checked_at: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export type CredentialLinkRow = Selectable<CredentialLinksTable>;
export type RotationPolicyRow = Selectable<RotationPoliciesTable>;

export interface AlertedRotationsTable {
  rotation_id: string;
  alerted_at: Date;
}

export interface AlertedSyncRunsTable {
  sync_run_id: string;
  alerted_at: Date;
}
