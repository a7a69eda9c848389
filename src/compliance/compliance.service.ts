import type { Db } from '../db/database';
import type { AuditSummaryData } from '../db/schema';
import { AppError } from '../errors';
import { loadCatalogue } from '../rules/catalogue';
import type { Framework, RuleDefinition } from '../rules/rule-definition';
import { findAudit } from '../audits/audits.service';
import { findLatestSucceededAudit, listAppliedCustomRules, listAuditFailures } from './compliance.repository';

// Queries other features use as they are.
export { findLatestSucceededAudit } from './compliance.repository';

export type ControlStatus = 'passed' | 'failed' | 'not_evaluated';

export const SCORE_FORMULA = 'score = round(100 × passed / (passed + failed), 1); overall uses the sums over the frameworks; null when passed + failed = 0';

/** A rule as compliance maps it to controls: a built-in one, or an audit's custom policy (its id is the policy's). */
export type MappedRule = Pick<RuleDefinition, 'id' | 'title' | 'severity' | 'resource_types'> & {
  compliance: Partial<Record<string, readonly string[]>>;
};

/** What compliance needs of the catalogue (a `Catalogue` is one): its rules' control mappings. */
export interface ControlMapping {
  version: string;
  rules: readonly { rule: MappedRule }[];
  frameworks: readonly Framework[];
}

/** What compliance needs of a succeeded audit. */
export interface AuditBasis {
  id: string;
  finishedAt: Date;
  /** The catalogue the audit ran; null only for audits recorded without one. */
  catalogueVersion: string | null;
  ruleResults: AuditSummaryData['rule_results'];
}

/** A (rule, resource) pair the audit saw failing, suppressed findings already left out. */
export interface Failure {
  ruleId: string;
  resourceId: string;
}

export interface RuleAssessment {
  id: string;
  title: string;
  severity: RuleDefinition['severity'];
  resourceTypes: readonly string[];
  evaluated: number;
  errors: number;
  failingResources: number;
}

export interface ControlAssessment {
  id: string;
  title: string;
  status: ControlStatus;
  failingResources: number;
  rules: RuleAssessment[];
}

/** Controls by status, and the score and coverage made of them. */
export interface Tally {
  passed: number;
  failed: number;
  notEvaluated: number;
  /** 100 × passed / (passed + failed), one decimal; null when nothing was evaluated. */
  score: number | null;
  /** 100 × (passed + failed) / all controls, one decimal; null when there are no controls. */
  coverage: number | null;
}

export interface FrameworkAssessment {
  framework: Framework;
  controls: ControlAssessment[];
  tally: Tally;
}

export interface ComplianceAssessment {
  audit: { id: string; finishedAt: Date } | null;
  catalogueVersion: string;
  frameworks: FrameworkAssessment[];
  overall: Tally;
}

/** `100 × numerator / denominator` rounded to one decimal (halves up), null when the denominator is 0. */
export function percent(numerator: number, denominator: number): number | null {
  // Rounding the tenths of a percent as one integer division keeps 2/3 at 66.7, not 66.66666666666667 or 66.69999.
  return denominator === 0 ? null : Math.round((1000 * numerator) / denominator) / 10;
}

export function tally(passed: number, failed: number, notEvaluated: number): Tally {
  return {
    passed,
    failed,
    notEvaluated,
    score: percent(passed, passed + failed),
    coverage: percent(passed + failed, passed + failed + notEvaluated),
  };
}

/**
 * Every framework's controls as of `audit` (none: all `not_evaluated`): a control fails when one
 * of its rules failed on a resource, passes when its rules were evaluated on a resource and none
 * failed, and is not evaluated otherwise. Which rules map to which control is the catalogue's,
 * plus the custom policies the audit applied.
 */
export function assessCompliance(
  catalogue: ControlMapping,
  audit: AuditBasis | null,
  failures: readonly Failure[],
): ComplianceAssessment {
  const failingByRule = new Map<string, Set<string>>();
  for (const { ruleId, resourceId } of failures) {
    const resources = failingByRule.get(ruleId) ?? new Set<string>();
    resources.add(resourceId);
    failingByRule.set(ruleId, resources);
  }
  const frameworks = catalogue.frameworks.map((framework): FrameworkAssessment => {
    const controls = framework.controls.map((control): ControlAssessment => {
      const rules = catalogue.rules.filter(({ rule }) => rule.compliance[framework.id]?.includes(control.id)).map(({ rule }) => rule);
      const failingResources = new Set(rules.flatMap((rule) => [...(failingByRule.get(rule.id) ?? [])]));
      const ruleAssessments = rules.map((rule): RuleAssessment => {
        const result = audit?.ruleResults[rule.id];
        return {
          id: rule.id,
          title: rule.title,
          severity: rule.severity,
          resourceTypes: rule.resource_types,
          evaluated: result?.evaluated ?? 0,
          errors: result?.errors ?? 0,
          failingResources: failingByRule.get(rule.id)?.size ?? 0,
        };
      });
      const status: ControlStatus =
        failingResources.size > 0 ? 'failed' : ruleAssessments.some((rule) => rule.evaluated > 0) ? 'passed' : 'not_evaluated';
      return { id: control.id, title: control.title, status, failingResources: failingResources.size, rules: ruleAssessments };
    });
    const count = (status: ControlStatus) => controls.filter((control) => control.status === status).length;
    return { framework, controls, tally: tally(count('passed'), count('failed'), count('not_evaluated')) };
  });
  const sum = (key: 'passed' | 'failed' | 'notEvaluated') => frameworks.reduce((total, f) => total + f.tally[key], 0);
  return {
    audit: audit && { id: audit.id, finishedAt: audit.finishedAt },
    catalogueVersion: audit?.catalogueVersion ?? catalogue.version,
    frameworks,
    overall: tally(sum('passed'), sum('failed'), sum('notEvaluated')),
  };
}

/**
 * The organization's compliance as of its audit `auditId`, or else its latest succeeded audit;
 * `not_found` for an audit it does not have, `audit_not_finished` for one that has not succeeded.
 */
export async function complianceAsOf(db: Db, organizationId: string, auditId: string | undefined): Promise<ComplianceAssessment> {
  const catalogue = await loadCatalogue();
  const row = auditId === undefined ? await findLatestSucceededAudit(db, organizationId) : await findAudit(db, organizationId, auditId);
  if (auditId !== undefined && !row) throw new AppError('not_found', `No audit ${auditId} in this organization.`);
  if (!row) return assessCompliance(catalogue, null, []);
  if (row.status !== 'succeeded' || !row.finished_at) {
    throw new AppError('audit_not_finished', `Audit ${row.id} is ${row.status}; compliance is reported only for succeeded audits.`);
  }
  const [failures, customRules] = await Promise.all([
    listAuditFailures(db, organizationId, row.id),
    listAppliedCustomRules(db, organizationId, row.policy_versions),
  ]);
  return assessCompliance(
    { ...catalogue, rules: [...catalogue.rules, ...customRules.map((rule) => ({ rule }))] },
    { id: row.id, finishedAt: row.finished_at, catalogueVersion: row.catalogue_version, ruleResults: row.summary?.rule_results ?? {} },
    failures.map((failure) => ({ ruleId: failure.rule_id, resourceId: failure.resource_id })),
  );
}

/** One framework's compliance, as `complianceAsOf`; `not_found` first for a framework id that is none. */
export async function frameworkComplianceAsOf(
  db: Db,
  organizationId: string,
  frameworkId: string,
  auditId: string | undefined,
): Promise<{ assessment: ComplianceAssessment; framework: FrameworkAssessment }> {
  const { frameworks } = await loadCatalogue();
  if (!frameworks.some((f) => f.id === frameworkId)) {
    throw new AppError('not_found', `No compliance framework ${frameworkId}; the frameworks are ${frameworks.map((f) => f.id).join(', ')}.`);
  }
  const assessment = await complianceAsOf(db, organizationId, auditId);
  const framework = assessment.frameworks.find((f) => f.framework.id === frameworkId);
  if (!framework) throw new Error(`the assessment lacks the catalogue's framework ${frameworkId}`);
  return { assessment, framework };
}

/** The catalogue's frameworks, for listing. */
export async function listFrameworks(): Promise<readonly Framework[]> {
  return (await loadCatalogue()).frameworks;
}
