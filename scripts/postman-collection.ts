/**
 * Writes the Postman collection and environment (generated/postman/) from the bundled spec:
 * openapi-to-postmanv2 converts every operation, then this script puts the requests in an order
 * where each one's inputs exist, takes ids and cursors from earlier responses, and adds one
 * contract test that every request runs (status declared, content type declared, body valid
 * against the operation's schema). Usage: node --import tsx scripts/postman-collection.ts <generated dir>
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Converter from 'openapi-to-postmanv2';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };
type JsonObject = { [key: string]: Json | undefined };

interface Step {
  op: string;
  /** Name when an operation runs twice. */
  name?: string;
  /** Statuses this step must answer (beyond the contract test's "declared by the spec"). */
  expect?: number[];
  /** Query parameters to send, as `key: value` ({{variables}} allowed). */
  query?: Record<string, string>;
  /** Path variables other than the default for the path. */
  vars?: Record<string, string>;
  body?: Json;
  /** Form body (application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  /** Collection variables set from the JSON answer: variable → JS expression on `body`. */
  capture?: Record<string, string>;
  /** Repeat this request (at most 90 times, a second apart) while this JS expression on `body` holds. */
  pollWhile?: string;
  /** Script run before the request. */
  pre?: string;
  auth?: 'none' | 'member';
}

/** The variable each path's `{id}` takes by default. */
const PATH_VARIABLES: [RegExp, Record<string, string>][] = [
  [/^\/v1\/accounts\//, { id: 'account_id' }],
  [/^\/v1\/imports\//, { id: 'import_id' }],
  [/^\/v1\/resources\//, { id: 'resource_id' }],
  [/^\/v1\/rules\//, { id: 'rule_id' }],
  [/^\/v1\/tokens\//, { id: 'token_id' }],
  [/^\/v1\/alert-rules\//, { id: 'alert_rule_id' }],
  [/^\/v1\/deliveries\//, { id: 'delivery_id' }],
  [/^\/v1\/webhook-endpoints\//, { id: 'webhook_endpoint_id' }],
  [/^\/v1\/oauth-clients\//, { id: 'oauth_client_id' }],
  [/^\/v1\/authorizations\//, { id: 'authorization_id' }],
  [/^\/v1\/audits\//, { id: 'audit_id' }],
  [/^\/v1\/scans\//, { id: 'scan_id' }],
  [/^\/v1\/rotations\//, { id: 'rotation_id' }],
  [/^\/v1\/credential-links\//, { id: 'credential_link_id' }],
  [/^\/v1\/rotation-policies\//, { id: 'rotation_policy_id' }],
  [/^\/v1\/compliance\/frameworks\//, { id: 'framework_id' }],
  [/^\/v1\/findings\//, { id: 'finding_id' }],
  [/^\/v1\/policies\//, { id: 'policy_id' }],
  [/^\/v1\/reports\//, { id: 'report_id' }],
  [/^\/v1\/platform\/organizations\//, { id: 'platform_organization_id' }],
  [/^\/v1\/members\//, { user_id: 'member_id' }],
  [/^\/v1\/me\/sessions\//, { id: 'session_id' }],
];

/** Values of the variables before a response sets them: well-formed ids nothing has, so that a step whose input was never made answers 404. */
const DEFAULTS: Record<string, string> = {
  baseUrl: 'http://localhost:8080',
  token: '',
  member_token: '',
  account_id: 'acc_00000000000000000000000000',
  import_id: 'imp_00000000000000000000000000',
  resource_id: 'res_00000000000000000000000000',
  rule_id: 'aws.s3.bucket_public_read',
  token_id: 'pat_00000000000000000000000000',
  alert_rule_id: 'alr_00000000000000000000000000',
  delivery_id: 'dlv_00000000000000000000000000',
  webhook_endpoint_id: 'whe_00000000000000000000000000',
  oauth_client_id: 'cli_00000000000000000000000000',
  authorization_id: 'oau_00000000000000000000000000',
  webhook_url: 'https://hooks.company.com/fourfold',
  audit_id: 'aud_00000000000000000000000000',
  scan_id: 'scn_00000000000000000000000000',
  sync_id: 'syn_00000000000000000000000000',
  sync_run_id: 'synr_00000000000000000000000000',
  rotation_id: 'rot_00000000000000000000000000',
  credential_link_id: 'cln_00000000000000000000000000',
  rotation_policy_id: 'rpol_00000000000000000000000000',
  framework_id: 'cis_aws_foundations',
  finding_id: 'fnd_00000000000000000000000000',
  findings_cursor: '',
  policy_id: 'pol_00000000000000000000000000',
  report_id: 'rpt_00000000000000000000000000',
  platform_organization_id: 'org_00000000000000000000000000',
  member_id: 'usr_00000000000000000000000000',
  session_id: 'ses_00000000000000000000000000',
  invitation_token: 'ffi_invalid',
};

const UNIQUE_SUFFIX = "pm.collectionVariables.set('run_suffix', String(Date.now()).slice(-9));";

/** The run, in order: each step's inputs come from the steps before it. Every operation of the spec is in it. */
const PLAN: Step[] = [
  { op: 'getHealth', expect: [200], auth: 'none' },
  { op: 'getReadiness', expect: [200], auth: 'none' },
  { op: 'getOpenApiJson', expect: [200], auth: 'none' },
  { op: 'getOpenApiYaml', expect: [200], auth: 'none' },
  { op: 'getDocsPage', expect: [200], auth: 'none' },
  { op: 'getDocsScript', expect: [200], auth: 'none' },
  { op: 'getAuthorizationServerMetadata', expect: [200], auth: 'none' },
  { op: 'createSession', expect: [200], auth: 'none', body: { username: '{{username}}', password: '{{password}}' }, capture: { token: 'body.access_token' }, pre: UNIQUE_SUFFIX },
  { op: 'getMe', expect: [200], capture: { organization_id: 'body.organization.id', user_id: 'body.user.id' } },
  { op: 'getOrganization', expect: [200] },
  { op: 'updateOrganization', expect: [200], body: { name: 'Postman run {{run_suffix}}' } },
  { op: 'getOrganizationEntitlements', expect: [200] },
  // account → import → audit → findings → triage → report → download
  {
    op: 'createAccount',
    expect: [201],
    body: { provider: 'aws', external_id: '{{aws_external_id}}', name: 'postman-{{run_suffix}}', labels: { team: 'platform' } },
    pre: "pm.collectionVariables.set('aws_external_id', String(100000000000 + Math.floor(Math.random() * 899999999999)));",
    capture: { account_id: 'body.id' },
  },
  { op: 'listAccounts', expect: [200] },
  { op: 'getAccount', expect: [200] },
  { op: 'updateAccount', expect: [200] },
  { op: 'createImport', expect: [201, 202], query: { format: 'native' }, capture: { import_id: 'body.id' } },
  { op: 'getImport', expect: [200], pollWhile: "['queued', 'running'].includes(body.status)" },
  { op: 'listAccountImports', expect: [200] },
  { op: 'listResources', expect: [200], query: { account_id: '{{account_id}}' }, capture: { resource_id: 'body.data[0].id' } },
  { op: 'getResource', expect: [200] },
  { op: 'listResourceVersions', expect: [200] },
  // The imported resources hold no credential: proposals find nothing, a link of a resource to itself answers 422.
  { op: 'createCredentialLinkProposals', expect: [200] },
  { op: 'listResourceCredentialLinks', expect: [200] },
  { op: 'listResourceDependents', expect: [200] },
  { op: 'createCredentialLink', expect: [422], body: { credential_resource_id: '{{resource_id}}', store_resource_id: '{{resource_id}}' } },
  { op: 'getCredentialLink', expect: [404] },
  { op: 'updateCredentialLink', expect: [404], body: { status: 'confirmed' } },
  { op: 'deleteCredentialLink', expect: [404] },
  // A connection to the real AWS, which no test machine reaches: the scan ends failed or partially succeeded, never blocking the run.
  {
    op: 'replaceAccountConnection',
    expect: [200],
    body: { kind: 'aws_access_key', access_key_id: 'AKIAIOSFODNN7EXAMPLE', secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', audit_after_scan: false },
  },
  { op: 'getAccountConnection', expect: [200] },
  { op: 'verifyAccountConnection', expect: [200] },
  { op: 'createAccountScan', expect: [202], body: { mode: 'full' }, capture: { scan_id: 'body.id' } },
  { op: 'getScan', expect: [200] },
  { op: 'listScans', expect: [200] },
  { op: 'cancelScan', expect: [200, 409] },
  { op: 'createScans', expect: [202, 409] },
  // A rotation needs an Azure connection, which this run's AWS account is not: the dry run answers 422, nothing is made.
  {
    op: 'createRotation',
    expect: [200, 422],
    query: { dry_run: 'true' },
    body: { account_id: '{{account_id}}', application_id: '6a1f3c9e-2b4d-4e8f-9a0b-1c2d3e4f5a6b', key_id: '0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b', key_vault_secrets: ['https://payments-kv.vault.azure.net/secrets/payments-api-client-secret'] },
  },
  { op: 'listRotations', expect: [200] },
  { op: 'getRotation', expect: [200, 404] },
  // Rotation policies need the pro plan: on starter creating and changing one answers 403.
  { op: 'createRotationPolicy', expect: [201, 403], body: { name: 'Postman policy', selector: { tags: { team: 'postman' } }, days_before_expiry: 30 }, capture: { rotation_policy_id: 'body.id' } },
  { op: 'listRotationPolicies', expect: [200] },
  { op: 'getRotationPolicy', expect: [200, 404] },
  { op: 'updateRotationPolicy', expect: [200, 403, 404], body: { enabled: false } },
  { op: 'deleteRotationPolicy', expect: [204, 404] },
  { op: 'deleteAccountConnection', expect: [204, 409] },
  // Sync needs the pro plan and a connected Azure source: on starter these answer 403, else 404/422.
  { op: 'createSync' },
  { op: 'listSyncs', expect: [200] },
  { op: 'getSync' },
  { op: 'updateSync' },
  { op: 'startSyncRun' },
  { op: 'listSyncRuns' },
  { op: 'getSyncRun' },
  { op: 'deleteSync' },
  { op: 'createAudit', expect: [202], body: { mode: 'full' }, capture: { audit_id: 'body.id' } },
  { op: 'getAudit', expect: [200], pollWhile: "['queued', 'running'].includes(body.status)" },
  { op: 'listAudits', expect: [200] },
  { op: 'listResourceEvaluations', expect: [200] },
  { op: 'listResourceFindings', expect: [200] },
  { op: 'listFindings', expect: [200], query: { limit: '1' }, capture: { finding_id: 'body.data[0].id', findings_cursor: 'body.next_cursor' } },
  { op: 'listFindings', name: 'List findings: the next page', expect: [200], query: { limit: '1', cursor: '{{findings_cursor}}' } },
  { op: 'getFinding', expect: [200] },
  { op: 'exportFindings', expect: [200], query: { format: 'sarif' } },
  { op: 'updateFinding', expect: [200], body: { status: 'suppressed', reason: 'Accepted in the Postman run.' } },
  { op: 'updateFindings', expect: [200], body: { ids: ['{{finding_id}}'], change: { status: 'open' } } },
  { op: 'listFindingEvents', expect: [200] },
  { op: 'listRules', expect: [200] },
  { op: 'getRule', expect: [200] },
  { op: 'listComplianceFrameworks', expect: [200] },
  { op: 'getComplianceFramework', expect: [200] },
  { op: 'getComplianceScore', expect: [200] },
  { op: 'getPolicySchema', expect: [200] },
  { op: 'createPolicy', expect: [201], capture: { policy_id: 'body.id' } },
  { op: 'listPolicies', expect: [200] },
  { op: 'getPolicy', expect: [200] },
  { op: 'updatePolicy', expect: [200] },
  { op: 'listPolicyVersions', expect: [200] },
  { op: 'testPolicy' },
  { op: 'createReport', expect: [202], body: { type: 'executive_summary', format: 'pdf' }, capture: { report_id: 'body.id' } },
  { op: 'getReport', expect: [200], pollWhile: "['queued', 'running'].includes(body.status)" },
  { op: 'downloadReport', expect: [200] },
  { op: 'listReports', expect: [200] },
  { op: 'reanalyzeAudit' },
  { op: 'cancelAudit' },
  // alerting
  { op: 'createWebhookEndpoint', expect: [201], body: { url: '{{webhook_url}}', description: 'SIEM intake', event_types: ['finding_opened', 'secret_expiring'] }, capture: { webhook_endpoint_id: 'body.id' } },
  { op: 'listWebhookEndpoints', expect: [200] },
  { op: 'getWebhookEndpoint' },
  { op: 'updateWebhookEndpoint' },
  { op: 'rotateWebhookEndpointSecret' },
  { op: 'createAlertRule', expect: [201], capture: { alert_rule_id: 'body.id' } },
  { op: 'listAlertRules', expect: [200] },
  { op: 'getAlertRule', expect: [200] },
  { op: 'updateAlertRule', expect: [200] },
  { op: 'testAlertRule', expect: [202] },
  { op: 'listDeliveries', expect: [200], capture: { delivery_id: "body.data.length ? body.data[0].id : 'dlv_00000000000000000000000000'" } },
  { op: 'getDelivery' },
  { op: 'redeliverDelivery' },
  { op: 'listEvents', expect: [200] },
  // credentials
  { op: 'createToken', expect: [201], capture: { token_id: 'body.id' } },
  { op: 'listTokens', expect: [200] },
  { op: 'getToken', expect: [200] },
  { op: 'deleteToken', expect: [204] },
  { op: 'createOAuthClient', expect: [201], capture: { oauth_client_id: 'body.id' } },
  { op: 'listOAuthClients', expect: [200] },
  { op: 'getOAuthClient', expect: [200] },
  { op: 'authorizeClient', auth: 'none' },
  { op: 'approveAuthorization', auth: 'none' },
  { op: 'createBrowserSession', auth: 'none' },
  { op: 'createOAuthToken', auth: 'none' },
  { op: 'introspectOAuthToken', auth: 'none' },
  { op: 'revokeOAuthToken', auth: 'none' },
  { op: 'listAuthorizations', expect: [200] },
  { op: 'deleteAuthorization', expect: [404] },
  { op: 'deleteOAuthClient', expect: [204] },
  // members and sessions
  { op: 'createMember', expect: [201], body: { username: 'dana-{{run_suffix}}@example.com', role: 'member' }, capture: { member_id: 'body.user_id', invitation_token: 'body.invitation.token' } },
  { op: 'listMembers', expect: [200] },
  { op: 'getMember', expect: [200] },
  { op: 'updateMember', expect: [200], body: { role: 'viewer' } },
  { op: 'acceptInvitation', expect: [200], auth: 'none', body: { invitation_token: '{{invitation_token}}', password: 'a-long-password-of-my-own' }, capture: { member_token: 'body.access_token' } },
  { op: 'listSessions', expect: [200] },
  { op: 'revokeSession', expect: [404] },
  { op: 'updatePassword', expect: [422], body: { current_password: 'not-the-password-0123', new_password: 'a-new-long-password-0123' } },
  { op: 'revokeAllSessions', expect: [200], auth: 'member', body: {} },
  { op: 'deleteMember', expect: [204] },
  // platform operators (PLATFORM_ADMINS names the user) and sign-up (SIGNUP_ENABLED=true)
  { op: 'listPlatformOrganizations', expect: [200] },
  { op: 'createPlatformOrganization', expect: [201], body: { name: 'Postman Corp', slug: 'postman-{{run_suffix}}', owner: { username: 'alice-{{run_suffix}}@postman.example' } }, capture: { platform_organization_id: 'body.organization.id' } },
  { op: 'getPlatformOrganization', expect: [200] },
  { op: 'updatePlatformOrganization', expect: [200], body: { status: 'suspended' } },
  { op: 'deletePlatformOrganization', expect: [204] },
  { op: 'createSignup', expect: [201, 404], auth: 'none', body: { organization_name: 'Initech', slug: 'initech-{{run_suffix}}', username: 'peter-{{run_suffix}}@initech.example', password: 'a-long-random-password-0123' } },
  // clean up, then log out last
  { op: 'deleteAlertRule', expect: [204] },
  { op: 'deleteWebhookEndpoint' },
  { op: 'deletePolicy', expect: [204] },
  { op: 'deleteReport', expect: [204] },
  { op: 'deleteAccount', query: { force: 'true' } },
  { op: 'listAuditLogEntries', expect: [200] },
  { op: 'exportAuditLog', expect: [200] },
  { op: 'deleteSession', expect: [204] },
];

/** Keys of a schema object that only document it. */
const DOC_KEYS = new Set(['description', 'example', 'examples', 'title', 'externalDocs', 'xml', 'deprecated', 'readOnly', 'writeOnly', '$comment']);
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const SPEC_ID = 'https://fourfold.invalid/openapi.json';

/** A schema without its documentation, with references made absolute to the spec's id (ajv 6, in Postman's sandbox, reads them there). */
function slimSchema(schema: Json | undefined): Json {
  if (schema === undefined) return null;
  if (Array.isArray(schema)) return schema.map(slimSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DOC_KEYS.has(key) || key.startsWith('x-')) continue;
    if (key === '$ref' && typeof value === 'string') out[key] = value.startsWith('#') ? `${SPEC_ID}${value}` : value;
    else if (SCHEMA_MAPS.has(key) && value && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, slimSchema(sub)]));
    } else out[key] = slimSchema(value);
  }
  return out;
}

function resolve(spec: JsonObject, value: Json | undefined): JsonObject {
  let current = value as JsonObject;
  while (current && typeof current.$ref === 'string' && current.$ref.startsWith('#/')) {
    current = current.$ref
      .slice(2)
      .split('/')
      .reduce<Json>((node, part) => (node as JsonObject)[part.replace(/~1/g, '/').replace(/~0/g, '~')] ?? null, spec) as JsonObject;
  }
  return current;
}

interface OperationInfo {
  method: string;
  path: string;
  summary: string;
  /** status → media type → schema (null: no schema to check). */
  responses: Record<string, Record<string, Json>>;
  idempotencyKey: boolean;
  /** Each query parameter's example (or first enum value), the value a disabled parameter shows. */
  queryExamples: Record<string, string>;
  /** The form body's example fields, for application/x-www-form-urlencoded operations. */
  formExample: Record<string, string> | null;
}

function exampleOf(parameter: JsonObject): string {
  const schema = (parameter.schema ?? {}) as JsonObject;
  const value = parameter.example ?? schema.example ?? (Array.isArray(schema.enum) ? schema.enum[0] : undefined) ?? '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function formExampleOf(spec: JsonObject, op: JsonObject): Record<string, string> | null {
  const body = op.requestBody ? resolve(spec, op.requestBody) : null;
  const form = (body?.content as JsonObject | undefined)?.['application/x-www-form-urlencoded'] as JsonObject | undefined;
  if (!form) return null;
  const examples = form.examples ? Object.values(form.examples as JsonObject).map((e) => resolve(spec, e).value) : [];
  const example = (form.example ?? examples[0] ?? {}) as JsonObject;
  return Object.fromEntries(Object.entries(example).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));
}

function operationsOf(spec: JsonObject): Map<string, OperationInfo> {
  const operations = new Map<string, OperationInfo>();
  for (const [template, item] of Object.entries(spec.paths as JsonObject)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = (item as JsonObject)[method] as JsonObject | undefined;
      if (!op) continue;
      const responses: Record<string, Record<string, Json>> = {};
      for (const [status, response] of Object.entries(op.responses as JsonObject)) {
        const content = (resolve(spec, response).content ?? {}) as JsonObject;
        responses[status] = Object.fromEntries(
          Object.entries(content).map(([media, body]) => [media, /json/.test(media) && (body as JsonObject).schema ? slimSchema((body as JsonObject).schema ?? null) : null]),
        );
      }
      const parameters = ((op.parameters ?? []) as Json[]).map((p) => resolve(spec, p));
      operations.set(op.operationId as string, {
        method: method.toUpperCase(),
        path: template,
        summary: op.summary as string,
        responses,
        idempotencyKey: parameters.some((p) => p.in === 'header' && String(p.name).toLowerCase() === 'idempotency-key'),
        queryExamples: Object.fromEntries(parameters.filter((p) => p.in === 'query').map((p) => [p.name as string, exampleOf(p)])),
        formExample: formExampleOf(spec, op),
      });
    }
  }
  return operations;
}

/** The collection-level test every request runs: the answer is one the spec declares for the operation. */
function contractScript(contracts: Record<string, Record<string, Record<string, Json>>>, schemas: Json): string[] {
  return [
    '// The contract test: status declared, content type declared, JSON body valid against the declared schema.',
    "const operation = pm.variables.get('operation_id');",
    'if (operation) {',
    `  const CONTRACTS = ${JSON.stringify(contracts)};`,
    `  const SCHEMAS = ${JSON.stringify(schemas)};`,
    '  const declared = CONTRACTS[operation];',
    '  const status = String(pm.response.code);',
    "  pm.test(operation + ': ' + status + ' is a status the spec declares', () => pm.expect(Object.keys(declared)).to.include(status));",
    "  const expected = pm.variables.get('expected_status');",
    "  if (expected) pm.test(operation + ': answers ' + expected, () => pm.expect(expected.split(',')).to.include(status));",
    "  if (expected && !expected.split(',').includes(status)) console.log(operation + ' answered ' + status + ': ' + pm.response.text().slice(0, 500));",
    '  const media = declared[status] || {};',
    "  const contentType = (pm.response.headers.get('Content-Type') || '').split(';')[0].trim();",
    '  if (Object.keys(media).length === 0) {',
    "    pm.test(operation + ': no body', () => pm.expect(pm.response.text()).to.equal(''));",
    '  } else {',
    "    pm.test(operation + ': content type ' + contentType + ' is declared', () => pm.expect(Object.keys(media)).to.include(contentType));",
    '    const schema = media[contentType];',
    '    if (schema) {',
    "      const Ajv = require('ajv');",
    "      const ajv = new Ajv({ allErrors: true, unknownFormats: 'ignore', schemaId: 'auto', nullable: true });",
    `      ajv.addSchema({ $id: '${SPEC_ID}', components: { schemas: SCHEMAS } });`,
    // A JSON media type's body is parsed; any other (CSV, JSON Lines, PDF) is text, which its schema types as a string.
    "      const isJson = contentType === 'application/json' || contentType.endsWith('+json');",
    '      const valid = ajv.validate(schema, isJson ? pm.response.json() : pm.response.text());',
    "      pm.test(operation + ': body matches the schema', () => pm.expect(ajv.errorsText(ajv.errors, { separator: '; ' })).to.equal(valid ? 'No errors' : ''));",
    '    }',
    '  }',
    '}',
  ];
}

function stepScripts(step: Step, stepName: string): JsonObject[] {
  const pre = [`pm.variables.set('operation_id', '${step.op}');`, `pm.variables.set('expected_status', '${(step.expect ?? []).join(',')}');`];
  if (step.pre) pre.push(step.pre);
  const test: string[] = [];
  if (step.capture || step.pollWhile) {
    test.push("const body = (pm.response.headers.get('Content-Type') || '').includes('json') ? pm.response.json() : {};");
    if (step.pollWhile) {
      test.push(
        "const polls = Number(pm.collectionVariables.get('polls') || 0);",
        `if ((${step.pollWhile}) && polls < 90) {`,
        "  pm.collectionVariables.set('polls', String(polls + 1));",
        `  postman.setNextRequest(${JSON.stringify(stepName)});`,
        '  setTimeout(() => {}, 1000);',
        '} else {',
        "  pm.collectionVariables.set('polls', '0');",
        `  pm.test('${step.op}: reached a final state', () => pm.expect(${step.pollWhile}).to.equal(false));`,
        '}',
      );
    }
    for (const [variable, expression] of Object.entries(step.capture ?? {})) {
      test.push(`try { if (pm.response.code < 300) pm.collectionVariables.set('${variable}', ${expression}); } catch (error) { console.log('${step.op}: no ${variable} in the answer'); }`);
    }
  }
  const events: JsonObject[] = [{ listen: 'prerequest', script: { type: 'text/javascript', exec: pre } }];
  if (test.length > 0) events.push({ listen: 'test', script: { type: 'text/javascript', exec: test } });
  return events;
}

function templateOf(urlPath: string[]): string {
  return `/${urlPath.map((part) => (part.startsWith(':') ? `{${part.slice(1)}}` : part)).join('/')}`;
}

function convert(specText: string): Promise<JsonObject> {
  return new Promise((resolvePromise, reject) => {
    Converter.convertV2(
      { type: 'string', data: specText },
      { folderStrategy: 'Paths', parametersResolution: 'Example', enableOptionalParameters: false, alwaysInheritAuthentication: true, includeWebhooks: false },
      (error, result) => {
        if (error) return reject(new Error(error.message));
        if (!result?.result) return reject(new Error(result?.reason ?? 'openapi-to-postmanv2 failed'));
        resolvePromise(result.output?.[0]?.data as unknown as JsonObject);
      },
    );
  });
}

async function main() {
  const out = process.argv[2] ?? 'generated';
  const specText = readFileSync(path.join(out, 'openapi.json'), 'utf8');
  const spec = JSON.parse(specText) as JsonObject;
  const operations = operationsOf(spec);
  const missing = [...operations.keys()].filter((id) => !PLAN.some((step) => step.op === id));
  if (missing.length > 0) throw new Error(`scripts/postman-collection.ts: add these operations to PLAN, where their inputs exist: ${missing.join(', ')}`);

  const converted = await convert(specText);
  const byOperation = new Map<string, JsonObject>();
  const walk = (items: Json[]) => {
    for (const item of items as JsonObject[]) {
      if (item.item) walk(item.item as Json[]);
      else {
        const request = item.request as JsonObject;
        const key = `${request.method as string} ${templateOf((request.url as JsonObject).path as string[])}`;
        if (!byOperation.has(key)) byOperation.set(key, item);
      }
    }
  };
  walk(converted.item as Json[]);

  const items = PLAN.map((step) => {
    const info = operations.get(step.op);
    if (!info) throw new Error(`PLAN names ${step.op}, which the spec does not have`);
    const source = byOperation.get(`${info.method} ${info.path}`);
    if (!source) throw new Error(`openapi-to-postmanv2 made no request for ${info.method} ${info.path}`);
    const request = JSON.parse(JSON.stringify(source.request)) as JsonObject;
    const url = request.url as JsonObject;
    const defaults = PATH_VARIABLES.find(([pattern]) => pattern.test(info.path))?.[1] ?? {};
    url.variable = ((url.variable ?? []) as JsonObject[]).map((v) => ({ key: v.key ?? null, value: `{{${step.vars?.[v.key as string] ?? defaults[v.key as string] ?? v.key}}}` }));
    // Values come from the spec's examples, not from the converter, which invents some at random.
    let query = ((url.query ?? []) as JsonObject[])
      .filter((q) => (q.key as string) in info.queryExamples)
      .map((q) => ({ key: q.key, value: info.queryExamples[q.key as string]!, ...(q.disabled ? { disabled: true } : {}) }));
    for (const [key, value] of Object.entries(step.query ?? {})) {
      query = query.filter((q) => q.key !== key);
      query.push({ key, value });
    }
    query.sort((a, b) => Number(Boolean(a.disabled)) - Number(Boolean(b.disabled)));
    url.query = query;
    url.raw = `{{baseUrl}}${info.path.replace(/\{([^}]+)\}/g, ':$1')}`;
    // Accept headers would ask a PDF download for JSON; each operation's own content type is what is tested.
    const headers = ((request.header ?? []) as JsonObject[])
      .filter((h) => String(h.key).toLowerCase() !== 'accept')
      .map((h) => (String(h.key).toLowerCase() === 'idempotency-key' ? { key: h.key, value: '{{$guid}}' } : { key: h.key, value: h.value }));
    if (info.idempotencyKey && !headers.some((h) => String(h.key).toLowerCase() === 'idempotency-key')) headers.push({ key: 'Idempotency-Key', value: '{{$guid}}' });
    if (step.body !== undefined) {
      if (!headers.some((h) => String(h.key).toLowerCase() === 'content-type')) headers.push({ key: 'Content-Type', value: 'application/json' });
      request.body = { mode: 'raw', raw: JSON.stringify(step.body, null, 2), options: { raw: { language: 'json' } } };
    }
    const form = step.form ?? info.formExample;
    if (form) request.body = { mode: 'urlencoded', urlencoded: Object.entries(form).map(([key, value]) => ({ key, value })) };
    request.header = headers;
    delete request.description;
    delete request.name;
    if (step.auth === 'none') request.auth = { type: 'noauth' };
    else if (step.auth === 'member') request.auth = { type: 'bearer', bearer: [{ key: 'token', value: '{{member_token}}', type: 'string' }] };
    else delete request.auth;
    const name = step.name ?? info.summary;
    return {
      name,
      request,
      event: stepScripts(step, name),
      // A 303 is the answer under test, not a page to follow.
      protocolProfileBehavior: { followRedirects: false },
    };
  });
  const names = items.map((item) => item.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new Error(`two steps are named ${duplicate}: give one a name`);

  const contracts = Object.fromEntries([...operations].map(([id, info]) => [id, info.responses]));
  const schemas = slimSchema(((spec.components as JsonObject).schemas ?? {}) as Json);
  const info = spec.info as JsonObject;
  const collection = {
    info: {
      name: `${info.title as string} ${info.version as string}`,
      description:
        'Generated from the OpenAPI document by scripts/generate.sh (openapi-to-postmanv2 + scripts/postman-collection.ts); do not edit. ' +
        'Run it in order (Runner or newman): it logs in with {{username}}/{{password}}, creates an account, imports, audits, triages findings, generates and downloads a report, and logs out last. ' +
        'Every request checks its answer against the spec.',
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    },
    auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{token}}', type: 'string' }] },
    event: [{ listen: 'test', script: { type: 'text/javascript', exec: contractScript(contracts, schemas) } }],
    variable: Object.entries(DEFAULTS).map(([key, value]) => ({ key, value })),
    item: items,
  };
  const environment = {
    name: 'fourfold (local)',
    values: [
      { key: 'baseUrl', value: 'http://localhost:8080', type: 'default', enabled: true },
      { key: 'username', value: 'admin', type: 'default', enabled: true },
      { key: 'password', value: '', type: 'secret', enabled: true },
    ],
  };
  mkdirSync(path.join(out, 'postman'), { recursive: true });
  writeFileSync(path.join(out, 'postman', 'fourfold.postman_collection.json'), `${JSON.stringify(collection, null, 2)}\n`);
  writeFileSync(path.join(out, 'postman', 'fourfold.postman_environment.json'), `${JSON.stringify(environment, null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
