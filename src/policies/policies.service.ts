import { existingAccountIds } from '../accounts/accounts.service';
import type { Principal } from '../http/principal';
import type { Db } from '../db/database';
import type { CustomPolicyData, OverridePolicyData, PolicyKind, PolicyRow } from '../db/schema';
import { AppError, unknownIdDetails, type ErrorDetail } from '../errors';
import type { Schemas } from '../http/contract';
import { newId } from '../ids';
import type { Catalogue } from '../rules/catalogue';
import { isValidPath } from '../rules/attribute-path';
import { InvalidExpressionError, type CelEngine } from '../rules/cel-engine';
import { FRAMEWORK_IDS, type FrameworkId } from '../rules/rule-definition';
import { deletePolicy, findPolicy, insertPolicy, lockPolicy, updatePolicy, type PolicyWrite } from './policies.repository';

export { enabledPolicies, existingPolicyIds } from './policies.repository';
import { providerOfType } from '../providers';

type PolicyCreate = Schemas['PolicyCreate'];
type PolicyUpdate = Schemas['PolicyUpdate'];

/** A policy's content, validated and with its defaults filled in: what is stored. */
export interface PolicyContent {
  kind: PolicyKind;
  name: string;
  description: string;
  enabled: boolean;
  custom: CustomPolicyData | null;
  override: OverridePolicyData | null;
}

/** What validation needs: the engine and catalogue policies are checked against. */
export interface PolicyChecks {
  engine: CelEngine;
  catalogue: Catalogue;
}

/** The resource types policies may name: those the built-in catalogue covers. */
export function knownResourceTypes(catalogue: Catalogue): Set<string> {
  return new Set(catalogue.rules.flatMap((r) => r.rule.resource_types));
}

/**
 * Checks a policy's content and fills in its defaults. A CEL problem is 422
 * `invalid_policy_expression` (line, column and the compiler's message in details); an unknown
 * resource type, rule, account, framework or control is 422 `invalid_policy` naming it.
 */
export async function validatePolicy(db: Db, organizationId: string, checks: PolicyChecks, input: PolicyCreate, field = 'body'): Promise<PolicyContent> {
  const wrongPart = input.kind === 'custom' ? 'override' : 'custom';
  const article = input.kind === 'override' ? 'An' : 'A';
  if (input[wrongPart] !== undefined) {
    throw new AppError('validation_failed', `${article} ${input.kind} policy has no "${wrongPart}".`, [{ field: `${field}.${wrongPart}`, issue: `not allowed with kind ${input.kind}` }]);
  }
  const part = input[input.kind];
  if (part === undefined) {
    throw new AppError('validation_failed', `${article} ${input.kind} policy needs "${input.kind}".`, [{ field: `${field}.${input.kind}`, issue: 'required' }]);
  }
  const base = { kind: input.kind, name: input.name, description: input.description ?? '', enabled: input.enabled ?? true };
  if (input.kind === 'custom') return { ...base, custom: checkCustom(checks, input.custom!, `${field}.custom`), override: null };
  return { ...base, custom: null, override: await checkOverride(db, organizationId, checks, input.override!, `${field}.override`) };
}

function checkCustom(checks: PolicyChecks, custom: CustomPolicyData, field: string): CustomPolicyData {
  const known = knownResourceTypes(checks.catalogue);
  const problems: ErrorDetail[] = [];
  custom.resource_types.forEach((type, i) => {
    if (!known.has(type)) problems.push({ field: `${field}.resource_types.${i}`, issue: `unknown resource type ${type}` });
  });
  const providers = new Set(custom.resource_types.map(providerOfType));
  if (providers.size > 1) problems.push({ field: `${field}.resource_types`, issue: 'the resource types must all be of one provider' });
  (custom.evidence ?? []).forEach((path, i) => {
    if (!isValidPath(path)) problems.push({ field: `${field}.evidence.${i}`, issue: `malformed path ${path}: keys separated by dots, with [n] list indexes` });
  });
  const compliance = checkCompliance(checks, custom.compliance ?? {}, `${field}.compliance`, problems);
  rejectUnknown(problems);
  const normalized: CustomPolicyData = {
    title: custom.title,
    description: custom.description,
    dimension: custom.dimension,
    severity: custom.severity,
    resource_types: [...new Set(custom.resource_types)],
    condition: custom.condition,
    evidence: custom.evidence ?? [],
    remediation: { text: custom.remediation.text, terraform: custom.remediation.terraform ?? null },
    compliance,
    cost: custom.cost ?? null,
  };
  compileChecked(() => checks.engine.compileCondition(normalized.condition), `${field}.condition`);
  if (normalized.cost) {
    const source = normalized.cost.monthly_usd;
    compileChecked(() => checks.engine.compileExpression(source, 'double'), `${field}.cost.monthly_usd`);
  }
  return normalized;
}

function checkCompliance(checks: PolicyChecks, compliance: Record<string, string[]>, field: string, problems: ErrorDetail[]): Record<FrameworkId, string[]> {
  const result = Object.fromEntries(FRAMEWORK_IDS.map((id) => [id, [] as string[]])) as Record<FrameworkId, string[]>;
  for (const [framework, controls] of Object.entries(compliance)) {
    const known = checks.catalogue.frameworks.find((f) => f.id === framework);
    if (!known) {
      problems.push({ field: `${field}.${framework}`, issue: `unknown framework ${framework}; known: ${FRAMEWORK_IDS.join(', ')}` });
      continue;
    }
    const ids = new Set(known.controls.map((c) => c.id));
    controls.forEach((control, i) => {
      if (!ids.has(control)) problems.push({ field: `${field}.${framework}.${i}`, issue: `unknown control ${control} of ${framework}` });
    });
    result[known.id] = [...new Set(controls)];
  }
  return result;
}

async function checkOverride(db: Db, organizationId: string, checks: PolicyChecks, override: OverridePolicyData, field: string): Promise<OverridePolicyData> {
  const problems: ErrorDetail[] = [];
  const rule = checks.catalogue.byId.get(override.rule_id);
  if (!rule) problems.push({ field: `${field}.rule_id`, issue: `unknown rule ${override.rule_id}` });
  const scope = override.scope ?? null;
  if (scope) {
    (scope.resource_types ?? []).forEach((type, i) => {
      if (rule && !rule.rule.resource_types.includes(type)) {
        problems.push({ field: `${field}.scope.resource_types.${i}`, issue: `rule ${rule.rule.id} does not apply to resource type ${type}` });
      }
    });
    const accounts = [...new Set(scope.account_ids ?? [])];
    const known = accounts.length > 0 ? await existingAccountIds(db, organizationId, accounts) : new Set<string>();
    problems.push(...unknownIdDetails(scope.account_ids ?? [], known, `${field}.scope.account_ids`, 'account'));
  }
  rejectUnknown(problems);
  const exceptions = override.exceptions ?? [];
  exceptions.forEach((exception, i) => compileChecked(() => checks.engine.compileCondition(exception.selector), `${field}.exceptions.${i}.selector`));
  return {
    rule_id: override.rule_id,
    severity: override.severity ?? null,
    disable_rule: override.disable_rule ?? false,
    scope: scope && { account_ids: scope.account_ids ?? [], resource_types: scope.resource_types ?? [], tags: scope.tags ?? {} },
    exceptions,
  };
}

function rejectUnknown(problems: ErrorDetail[]): void {
  if (problems.length > 0) throw new AppError('invalid_policy', `The policy names what does not exist: ${problems.map((p) => p.issue).join('; ')}.`, problems);
}

function compileChecked(compile: () => unknown, field: string): void {
  try {
    compile();
  } catch (error) {
    if (!(error instanceof InvalidExpressionError)) throw error;
    const where = error.line === null ? '' : ` (line ${error.line}, column ${error.column})`;
    const detail: ErrorDetail = { field, issue: error.reason, ...(error.line === null ? {} : { line: error.line, column: error.column! }) };
    throw new AppError('invalid_policy_expression', `${field.replace(/^body\./, '')}${where}: ${error.reason}`, [detail]);
  }
}

function policyNotFound(id: string): AppError {
  return new AppError('not_found', `No policy ${id} in this organization.`);
}

export async function requirePolicy(db: Db, principal: Principal, id: string): Promise<PolicyRow> {
  const policy = await findPolicy(db, principal.organizationId, id);
  if (!policy) throw policyNotFound(id);
  return policy;
}

export async function createPolicy(db: Db, principal: Principal, checks: PolicyChecks, input: PolicyCreate): Promise<PolicyRow> {
  const content = await validatePolicy(db, principal.organizationId, checks, input);
  const now = new Date();
  const row: PolicyWrite = { id: newId('pol'), organization_id: principal.organizationId, version: 1, ...content, created_by: principal.userId, created_at: now, updated_at: now };
  return db.transaction().execute((trx) => insertPolicy(trx, row));
}

/** The policy's content with a change applied, validated (the kind stays). */
export async function changedContent(
  db: Db,
  principal: Principal,
  checks: PolicyChecks,
  policy: PolicyRow,
  change: PolicyUpdate,
  field = 'body',
): Promise<PolicyContent> {
  const other = policy.kind === 'custom' ? 'override' : 'custom';
  if (change[other] !== undefined) {
    throw new AppError('validation_failed', `Policy ${policy.id} is a ${policy.kind} policy; its kind cannot change.`, [{ field: `${field}.${other}`, issue: `not allowed on a ${policy.kind} policy` }]);
  }
  const merged: PolicyCreate = {
    kind: policy.kind,
    name: change.name ?? policy.name,
    description: change.description ?? policy.description,
    enabled: change.enabled ?? policy.enabled,
    [policy.kind]: change[policy.kind] ?? policy[policy.kind] ?? undefined,
  };
  return validatePolicy(db, principal.organizationId, checks, merged, field);
}

export async function changePolicy(db: Db, principal: Principal, checks: PolicyChecks, id: string, change: PolicyUpdate): Promise<PolicyRow> {
  return db.transaction().execute(async (trx) => {
    const policy = await lockPolicy(trx, principal.organizationId, id);
    if (!policy) throw policyNotFound(id);
    const content = await changedContent(trx, principal, checks, policy, change);
    const next: PolicyWrite = { ...policy, ...content, version: policy.version + 1, updated_at: new Date() };
    return updatePolicy(trx, next, principal.userId);
  });
}

export async function removePolicy(db: Db, principal: Principal, id: string): Promise<void> {
  if (!(await deletePolicy(db, principal.organizationId, id))) throw policyNotFound(id);
}
