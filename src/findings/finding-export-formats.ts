import type { RuleDefinition, Severity } from '../rules/rule-definition';
import type { ExportedFindingRow } from './findings.repository';

export type ExportFormat = 'csv' | 'sarif' | 'ocsf' | 'asff';

/**
 * One export being written: the text before the first finding, the text of each page of
 * findings as it comes from the database, and the text after the last. Pages arrive in order;
 * a writer keeps only what one page needs (ASFF carries at most 99 findings to the next batch).
 */
export interface ExportWriter {
  contentType: string;
  fileName: string;
  start(): string;
  page(rows: readonly ExportedFindingRow[]): string;
  end(): string;
}

export interface ExportSettings {
  /** The catalogue's rules, sorted by id, and its version (SARIF's tool.driver). */
  rules: readonly RuleDefinition[];
  catalogueVersion: string;
  /** The Security Hub region ASFF's ProductArn names. */
  awsRegion: string;
}

export function exportWriter(format: ExportFormat, settings: ExportSettings): ExportWriter {
  switch (format) {
    case 'csv':
      return csvWriter();
    case 'sarif':
      return sarifWriter(settings);
    case 'ocsf':
      return ocsfWriter();
    case 'asff':
      return asffWriter(settings.awsRegion);
  }
}

// ---- CSV (RFC 4180) ----

const CSV_COLUMNS: readonly [string, (row: ExportedFindingRow) => string | number | null][] = [
  ['id', (r) => r.id],
  ['rule_id', (r) => (r.policy_id === null ? r.rule_id : null)],
  ['policy_id', (r) => r.policy_id],
  ['title', (r) => r.title],
  ['dimension', (r) => r.dimension],
  ['severity', (r) => r.severity],
  ['status', (r) => r.status],
  ['status_reason', (r) => r.status_reason],
  ['expires_at', (r) => r.expires_at?.toISOString() ?? null],
  ['resource_id', (r) => r.resource_id],
  ['resource_type', (r) => r.resource_type],
  ['resource_name', (r) => r.resource_name],
  ['resource_native_id', (r) => r.resource_native_id],
  ['account_id', (r) => r.account_id],
  ['region', (r) => r.region],
  ['compliance', (r) => complianceList(r.compliance).join(';')],
  ['cost_monthly_usd', (r) => r.cost_monthly_usd],
  ['first_seen_at', (r) => r.first_seen_at.toISOString()],
  ['last_seen_at', (r) => r.last_seen_at.toISOString()],
  ['resolved_at', (r) => r.resolved_at?.toISOString() ?? null],
  ['remediation', (r) => r.remediation.text],
  ['description', (r) => r.description],
];

/**
 * A CSV field: text a spreadsheet would run as a formula (OWASP's list of leading characters)
 * gets a leading apostrophe, then the field is quoted when RFC 4180 requires it.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvWriter(): ExportWriter {
  return {
    contentType: 'text/csv; charset=utf-8',
    fileName: 'fourfold-findings.csv',
    start: () => `${CSV_COLUMNS.map(([name]) => name).join(',')}\r\n`,
    page: (rows) => rows.map((row) => `${CSV_COLUMNS.map(([, value]) => csvField(value(row))).join(',')}\r\n`).join(''),
    end: () => '',
  };
}

function complianceList(compliance: Record<string, string[]>): string[] {
  return Object.keys(compliance)
    .sort()
    .flatMap((framework) => (compliance[framework] ?? []).map((control) => `${framework}:${control}`));
}

// ---- SARIF 2.1.0 ----

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
/** GitHub code scanning reads a rule's `security-severity` (0.0-10.0) to rank security results. */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.0' };

// A resource without a cloud id, from a Terraform plan or state, has its address as native id.
const TERRAFORM_ADDRESS = /^(?:module\.[A-Za-z0-9_-]+(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?\.)*[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\])?$/;

export function terraformAddressOf(row: Pick<ExportedFindingRow, 'resource_native_id'>): string | null {
  return TERRAFORM_ADDRESS.test(row.resource_native_id) ? row.resource_native_id : null;
}

function sarifRule(rule: RuleDefinition) {
  return {
    id: rule.id,
    name: rule.id.split('.').map((part) => part.replace(/(^|_)([a-z0-9])/g, (_match, _sep: string, c: string) => c.toUpperCase())).join(''),
    shortDescription: { text: rule.title },
    fullDescription: { text: rule.description },
    help: { text: rule.remediation.text },
    ...(rule.references[0] ? { helpUri: rule.references[0] } : {}),
    defaultConfiguration: { level: SARIF_LEVEL[rule.severity] },
    properties: {
      dimension: rule.dimension,
      severity: rule.severity,
      tags: [rule.dimension, rule.provider],
      ...(rule.dimension === 'security' ? { 'security-severity': SECURITY_SEVERITY[rule.severity] } : {}),
    },
  };
}

function sarifWriter(settings: ExportSettings): ExportWriter {
  const indexOf = new Map(settings.rules.map((rule, index) => [rule.id, index]));
  let first = true;
  const result = (row: ExportedFindingRow) => {
    const address = terraformAddressOf(row);
    const index = row.policy_id === null ? indexOf.get(row.rule_id) : undefined;
    const suppressed = row.status === 'suppressed' || row.status === 'risk_accepted';
    return {
      ruleId: row.rule_id,
      ...(index === undefined ? {} : { ruleIndex: index }),
      kind: row.status === 'resolved' ? 'pass' : 'fail',
      level: row.status === 'resolved' ? 'none' : SARIF_LEVEL[row.severity],
      message: { text: row.title },
      locations: [
        {
          logicalLocations: [
            { name: row.resource_name ?? row.resource_native_id, fullyQualifiedName: row.resource_native_id, kind: 'resource' },
            ...(address === null ? [] : [{ name: address, fullyQualifiedName: address, kind: 'terraformAddress' }]),
          ],
        },
      ],
      partialFingerprints: { 'fourfold/v1': row.fingerprint },
      ...(suppressed ? { suppressions: [{ kind: 'external', status: 'accepted', justification: row.status_reason ?? row.status }] } : {}),
      properties: {
        finding_id: row.id,
        status: row.status,
        dimension: row.dimension,
        severity: row.severity,
        resource_id: row.resource_id,
        resource_type: row.resource_type,
        account_id: row.account_id,
        region: row.region,
      },
    };
  };
  return {
    contentType: 'application/sarif+json',
    fileName: 'fourfold-findings.sarif',
    start: () => {
      const driver = { name: 'fourfold', version: settings.catalogueVersion, informationUri: 'https://github.com/fourfold', rules: settings.rules.map(sarifRule) };
      const head = JSON.stringify({ $schema: 'https://json.schemastore.org/sarif-2.1.0.json', version: '2.1.0', runs: [{ tool: { driver }, results: [] }] });
      // Everything up to the results array's opening bracket; results are written page by page.
      return head.slice(0, -'[]}]}'.length + 1);
    },
    page: (rows) =>
      rows
        .map((row) => {
          const text = `${first ? '' : ','}${JSON.stringify(result(row))}`;
          first = false;
          return text;
        })
        .join(''),
    end: () => ']}]}',
  };
}

// ---- OCSF 1.4.0 Detection Finding (class 2004) ----

const OCSF_SEVERITY: Record<Severity, number> = { info: 1, low: 2, medium: 3, high: 4, critical: 5 };
const OCSF_STATUS = { open: [1, 'New'], suppressed: [3, 'Suppressed'], risk_accepted: [3, 'Suppressed'], resolved: [4, 'Resolved'] } as const;
export const OCSF_VERSION = '1.4.0';

export function ocsfEvent(row: ExportedFindingRow) {
  const closed = row.status === 'resolved';
  const activityId = closed ? 3 : 1;
  const [statusId, status] = OCSF_STATUS[row.status];
  return {
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: activityId,
    activity_name: closed ? 'Close' : 'Create',
    type_uid: 2004 * 100 + activityId,
    type_name: `Detection Finding: ${closed ? 'Close' : 'Create'}`,
    severity_id: OCSF_SEVERITY[row.severity],
    severity: row.severity === 'info' ? 'Informational' : row.severity[0]!.toUpperCase() + row.severity.slice(1),
    status_id: statusId,
    status,
    time: row.first_seen_at.getTime(),
    message: row.title,
    metadata: { version: OCSF_VERSION, product: { name: 'fourfold', vendor_name: 'fourfold' }, uid: row.id },
    finding_info: {
      uid: row.id,
      title: row.title,
      desc: row.description,
      types: [row.dimension],
      first_seen_time: row.first_seen_at.getTime(),
      last_seen_time: row.last_seen_at.getTime(),
      modified_time: row.updated_at.getTime(),
      analytic: { uid: row.rule_id, name: row.rule_id, type_id: 1, type: 'Rule' },
    },
    resources: [{ uid: row.resource_native_id, name: row.resource_name ?? row.resource_native_id, type: row.resource_type, ...(row.region ? { region: row.region } : {}) }],
    cloud: { provider: row.account_provider.toUpperCase(), ...(row.region ? { region: row.region } : {}), account: { uid: row.account_external_id } },
    remediation: { desc: row.remediation.text },
  };
}

function ocsfWriter(): ExportWriter {
  let first = true;
  return {
    contentType: 'application/json; charset=utf-8',
    fileName: 'fourfold-findings.ocsf.json',
    start: () => '[',
    page: (rows) =>
      rows
        .map((row) => {
          const text = `${first ? '' : ','}${JSON.stringify(ocsfEvent(row))}`;
          first = false;
          return text;
        })
        .join(''),
    end: () => ']',
  };
}

// ---- AWS Security Finding Format ----

/** BatchImportFindings takes at most 100 findings a call. */
export const ASFF_BATCH_SIZE = 100;
const ASFF_SEVERITY: Record<Severity, string> = { info: 'INFORMATIONAL', low: 'LOW', medium: 'MEDIUM', high: 'HIGH', critical: 'CRITICAL' };
const ASFF_WORKFLOW = { open: 'NEW', suppressed: 'SUPPRESSED', risk_accepted: 'SUPPRESSED', resolved: 'RESOLVED' } as const;
/** Security Hub's resource types for the Terraform types it has a name for; the others are `Other`. */
const ASFF_RESOURCE_TYPES: Record<string, string> = {
  aws_s3_bucket: 'AwsS3Bucket',
  aws_instance: 'AwsEc2Instance',
  aws_ebs_volume: 'AwsEc2Volume',
  aws_security_group: 'AwsEc2SecurityGroup',
  aws_vpc: 'AwsEc2Vpc',
  aws_subnet: 'AwsEc2Subnet',
  aws_iam_user: 'AwsIamUser',
  aws_iam_role: 'AwsIamRole',
  aws_iam_policy: 'AwsIamPolicy',
  aws_iam_access_key: 'AwsIamAccessKey',
  aws_kms_key: 'AwsKmsKey',
  aws_lambda_function: 'AwsLambdaFunction',
  aws_db_instance: 'AwsRdsDbInstance',
  aws_rds_cluster: 'AwsRdsDbCluster',
  aws_dynamodb_table: 'AwsDynamoDbTable',
  aws_cloudtrail: 'AwsCloudTrailTrail',
  aws_secretsmanager_secret: 'AwsSecretsManagerSecret',
  aws_acm_certificate: 'AwsCertificateManagerCertificate',
  aws_lb: 'AwsElbv2LoadBalancer',
  aws_sns_topic: 'AwsSnsTopic',
  aws_sqs_queue: 'AwsSqsQueue',
};

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

export function asffFinding(row: ExportedFindingRow, awsRegion: string) {
  const account = row.account_external_id;
  return {
    SchemaVersion: '2018-10-08',
    Id: row.id,
    ProductArn: `arn:aws:securityhub:${awsRegion}:${account}:product/${account}/default`,
    ProductName: 'fourfold',
    CompanyName: 'fourfold',
    GeneratorId: clip(row.rule_id, 512),
    AwsAccountId: account,
    Types: [`Software and Configuration Checks/fourfold/${row.dimension}`],
    CreatedAt: row.first_seen_at.toISOString(),
    UpdatedAt: row.updated_at.toISOString(),
    FirstObservedAt: row.first_seen_at.toISOString(),
    LastObservedAt: row.last_seen_at.toISOString(),
    Severity: { Label: ASFF_SEVERITY[row.severity] },
    Title: clip(row.title, 256),
    Description: clip(row.description, 1024),
    Remediation: { Recommendation: { Text: clip(row.remediation.text, 512) } },
    Resources: [
      {
        Type: ASFF_RESOURCE_TYPES[row.resource_type] ?? 'Other',
        Id: clip(row.resource_native_id, 512),
        Partition: 'aws',
        ...(row.region ? { Region: row.region } : {}),
      },
    ],
    Workflow: { Status: ASFF_WORKFLOW[row.status] },
    RecordState: row.status === 'resolved' ? 'ARCHIVED' : 'ACTIVE',
    ProductFields: { 'fourfold/finding_id': row.id, 'fourfold/dimension': row.dimension, 'fourfold/resource_type': row.resource_type },
  };
}

function asffWriter(awsRegion: string): ExportWriter {
  let pending: ReturnType<typeof asffFinding>[] = [];
  const lines = (flushAll: boolean) => {
    let text = '';
    while (pending.length >= ASFF_BATCH_SIZE || (flushAll && pending.length > 0)) {
      text += `${JSON.stringify(pending.slice(0, ASFF_BATCH_SIZE))}\n`;
      pending = pending.slice(ASFF_BATCH_SIZE);
    }
    return text;
  };
  return {
    contentType: 'application/x-ndjson',
    fileName: 'fourfold-findings.asff.jsonl',
    start: () => '',
    page: (rows) => {
      pending.push(...rows.filter((row) => row.account_provider === 'aws').map((row) => asffFinding(row, awsRegion)));
      return lines(false);
    },
    end: () => lines(true),
  };
}
