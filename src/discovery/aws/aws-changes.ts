/**
 * What an incremental AWS scan reads. With AWS Config recording in a region, Config's advanced
 * query (`SelectResourceConfig` over `configurationItemCaptureTime`) names the resources whose
 * configuration changed since the last successful scan, and only those are described. One query
 * per region answers every type at once, paged; ListDiscoveredResources cannot filter by time and
 * GetResourceConfigHistory asks about one resource at a time. Types Config does not record there
 * (or not continuously since then) are read as a full scan reads them, never marked gone.
 */

/** The Terraform types whose changes AWS Config records, and Config's name for each (an S3 bucket's split parts change its bucket's item). */
export const CONFIG_TYPES: Readonly<Record<string, string>> = {
  aws_s3_bucket: 'AWS::S3::Bucket',
  aws_security_group: 'AWS::EC2::SecurityGroup',
  aws_instance: 'AWS::EC2::Instance',
  aws_ebs_volume: 'AWS::EC2::Volume',
  aws_vpc: 'AWS::EC2::VPC',
  aws_iam_role: 'AWS::IAM::Role',
  aws_iam_policy: 'AWS::IAM::Policy',
  aws_kms_key: 'AWS::KMS::Key',
  aws_cloudtrail: 'AWS::CloudTrail::Trail',
  aws_secretsmanager_secret: 'AWS::SecretsManager::Secret',
  aws_acm_certificate: 'AWS::ACM::Certificate',
  aws_db_instance: 'AWS::RDS::DBInstance',
  aws_lambda_function: 'AWS::Lambda::Function',
  aws_dynamodb_table: 'AWS::DynamoDB::Table',
  aws_lb: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  aws_elb: 'AWS::ElasticLoadBalancing::LoadBalancer',
};

/** IAM's types: global, recorded in one region, and by an "all supported" recorder only with includeGlobalResourceTypes. */
const GLOBAL_CONFIG_TYPES = new Set(['AWS::IAM::Role', 'AWS::IAM::Policy']);

/** Config answers a page of at most 100 results. */
export const CONFIG_PAGE_LIMIT = 100;
/** Queried from this long before the last scan started, so the clocks of fourfold and AWS need not agree to the second. */
const CLOCK_MARGIN_MS = 5 * 60_000;

/** Which items of a type a unit reads: every one (a full scan, or a type Config cannot say about), or those known by these ids, names or ARNs. */
export interface ReadScope {
  /** null: every item; else the keys of the items to read (empty: list nothing of the type). */
  only(type: string, region: string | null): ReadonlySet<string> | null;
  /** For a type read without Config in an incremental scan: listings that carry a modification date describe only items modified after this. */
  modifiedAfter(type: string, region: string | null): Date | null;
}

/** A full scan: everything, described. */
export const EVERYTHING: ReadScope = { only: () => null, modifiedAfter: () => null };

/** An incremental scan with nothing from Config: every item of every type, but modification dates say which to describe. */
export function modifiedSince(since: Date): ReadScope {
  return { only: () => null, modifiedAfter: () => since };
}

/** Whether the item known by `keys` is in scope. */
export function inScope(scope: ReadScope, type: string, region: string | null, keys: readonly unknown[]): boolean {
  const only = scope.only(type, region);
  return only === null || keys.some((key) => typeof key === 'string' && only.has(key));
}

/** Whether anything of `type` needs listing at all. */
export function listed(scope: ReadScope, type: string, region: string | null): boolean {
  const only = scope.only(type, region);
  return only === null || only.size > 0;
}

/** What Config said about one region. */
export interface RegionChanges {
  region: string;
  /** Config types recorded there continuously since the last scan. */
  recorded: ReadonlySet<string>;
  /** Keys (resource id, name and ARN) of every item changed since then, by Config type. */
  changed: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The scope Config's answers give: regions missing here (Config off, denied, or recording since too recently) are read without it. */
export class ConfigChanges implements ReadScope {
  constructor(
    private readonly regions: readonly RegionChanges[],
    private readonly since: Date,
  ) {}

  only(type: string, region: string | null): ReadonlySet<string> | null {
    const configType = CONFIG_TYPES[type];
    if (configType === undefined) return null;
    // Global types are recorded in whichever region records them; a bucket is asked about in its own region.
    const asked = region === null ? this.regions : this.regions.filter((r) => r.region === region);
    const recording = asked.filter((r) => r.recorded.has(configType));
    if (recording.length === 0) return null;
    return new Set(recording.flatMap((r) => [...(r.changed.get(configType) ?? [])]));
  }

  modifiedAfter(type: string, region: string | null): Date | null {
    return this.only(type, region) === null ? this.since : null;
  }
}

/** Config's recording group, as DescribeConfigurationRecorders answers it. */
export interface RecordingGroup {
  allSupported?: boolean;
  includeGlobalResourceTypes?: boolean;
  resourceTypes?: string[];
  exclusionByResourceTypes?: { resourceTypes?: string[] };
  recordingStrategy?: { useOnly?: string };
}

/** The Config types of CONFIG_TYPES a recorder with `group` records. */
export function recordedTypes(group: RecordingGroup | undefined): Set<string> {
  const g = group ?? {};
  const excluded = new Set(g.exclusionByResourceTypes?.resourceTypes ?? []);
  const included = new Set(g.resourceTypes ?? []);
  const strategy = g.recordingStrategy?.useOnly;
  const records = (type: string): boolean => {
    if (strategy === 'EXCLUSION_BY_RESOURCE_TYPES') return !excluded.has(type);
    if (strategy === 'INCLUSION_BY_RESOURCE_TYPES' || g.allSupported === false) return included.has(type);
    return !GLOBAL_CONFIG_TYPES.has(type) || g.includeGlobalResourceTypes === true;
  };
  return new Set(Object.values(CONFIG_TYPES).filter(records));
}

/** Whether a recorder's status says it has recorded without a pause since `since`. */
export function recordingSince(status: { recording?: boolean; lastStartTime?: Date; lastStopTime?: Date } | undefined, since: Date): boolean {
  if (status?.recording !== true) return false;
  const started = status.lastStartTime instanceof Date ? status.lastStartTime.getTime() : Number.NaN;
  return Number.isFinite(started) && started <= since.getTime() - CLOCK_MARGIN_MS;
}

/** The advanced query naming every item of `types` whose configuration Config captured after `since`. */
export function changesQuery(since: Date, types: Iterable<string>): string {
  const after = new Date(since.getTime() - CLOCK_MARGIN_MS).toISOString();
  const list = [...types].sort().map((t) => `'${t}'`).join(', ');
  return `SELECT resourceType, resourceId, resourceName, arn WHERE configurationItemCaptureTime > '${after}' AND resourceType IN (${list})`;
}

/** Config's result rows (JSON text) by type: each item's id, name and ARN, any of which a reader may know it by. */
export function changedKeys(results: readonly string[]): Map<string, Set<string>> {
  const changed = new Map<string, Set<string>>();
  for (const text of results) {
    const row = JSON.parse(text) as { resourceType?: string; resourceId?: string; resourceName?: string; arn?: string };
    if (typeof row.resourceType !== 'string') continue;
    let keys = changed.get(row.resourceType);
    if (!keys) changed.set(row.resourceType, (keys = new Set()));
    for (const key of [row.resourceId, row.resourceName, row.arn]) if (typeof key === 'string' && key !== '') keys.add(key);
  }
  return changed;
}
