import { scoreOf } from '../audits/audits.mapper';
import { SEVERITY_WEIGHTS } from '../audits/audit-runner';
import { frameworkComplianceAsOf, complianceAsOf } from '../compliance/compliance.service';
import type { Db } from '../db/database';
import type { AuditRow, FindingStatus, ReportFilters, ReportProvenance } from '../db/schema';
import type { Schemas } from '../http/contract';
import { DIMENSIONS, SEVERITIES, type Dimension, type Severity } from '../rules/rule-definition';
import { countFindings, findingsOfRule, findPreviousAudit, groupFindingsByRule, passingResourcesOfRule } from './reports.repository';

/** What every report states about itself. */
export interface ReportHeader {
  report_id: string;
  generated_at: string;
  organization: { id: string; name: string };
  provenance: ReportProvenance;
  filters: ReportFilters;
}

export type SeverityCounts = Record<Severity, number>;

export interface ExecutiveSummary extends ReportHeader {
  report_type: 'executive_summary';
  previous_audit_id: string | null;
  dimensions: { dimension: Dimension; score: number | null; previous_score: number | null; change: number | null }[];
  findings: { total: number; by_severity: SeverityCounts; by_dimension: Record<Dimension, SeverityCounts> };
  top_risks: { rule_id: string; title: string; severity: Severity; dimension: Dimension; affected_resources: number; summary: string }[];
  cost: { monthly_savings_usd: number; findings: number };
  compliance: (Schemas['ComplianceTally'] & { framework_id: string; name: string })[];
}

export interface PlanGroup {
  rank: number;
  rule_id: string;
  title: string;
  description: string;
  dimension: Dimension;
  severity: Severity;
  affected_resources: number;
  monthly_cost_usd: number;
  priority: number;
  remediation: { text: string; terraform: string | null };
}

export interface ReportedResource {
  id: string;
  type: string;
  name: string | null;
  native_id: string;
  account_id: string;
  region: string | null;
}

export type PlanResource = ReportedResource & { finding_id: string; finding_status: FindingStatus; monthly_cost_usd: number | null };
export type FailingResource = ReportedResource & { finding_id: string; finding_status: FindingStatus; evidence: { path: string; value: unknown }[] };

export interface RemediationPlan extends ReportHeader {
  report_type: 'remediation_plan';
  totals: { groups: number; findings: number; monthly_cost_usd: number };
  groups: PlanGroup[];
  /** A group's affected resources, read in pages as they are written. */
  resourcesOf(group: PlanGroup): AsyncIterable<PlanResource[]>;
}

export interface EvidenceRule {
  rule_id: string;
  title: string;
  severity: Severity;
  evaluated: number;
  failed: number;
  errors: number;
}

export interface ComplianceEvidence extends ReportHeader {
  report_type: 'compliance_evidence';
  framework: { id: string; name: string; version: string };
  summary: Schemas['ComplianceTally'];
  controls: { id: string; title: string; status: 'passed' | 'failed' | 'not_evaluated'; failing_resources: number; rule_ids: string[] }[];
  rules: EvidenceRule[];
  failingOf(rule: EvidenceRule): AsyncIterable<FailingResource[]>;
  passingOf(rule: EvidenceRule): AsyncIterable<ReportedResource[]>;
}

export const PRIORITY_FORMULA = 'priority = severity weight × affected resources × (1 + log10(1 + monthly cost in USD)); weights info 0, low 1, medium 3, high 5, critical 10';

const cents = (usd: number): number => Math.round(usd * 100) / 100;
const zeroCounts = (): SeverityCounts => ({ info: 0, low: 0, medium: 0, high: 0, critical: 0 });

/** The audit's findings grouped by rule, most urgent first (see PRIORITY_FORMULA). */
async function rankedGroups(db: Db, audit: AuditRow, filters: ReportFilters): Promise<PlanGroup[]> {
  const groups = await groupFindingsByRule(db, audit.organization_id, audit.id, filters);
  return groups
    .map((group) => {
      const severity = SEVERITIES[group.severityRank]!;
      return {
        rank: 0,
        rule_id: group.ruleId,
        title: group.sample.title,
        description: group.sample.description,
        dimension: group.sample.dimension as Dimension,
        severity,
        affected_resources: group.count,
        monthly_cost_usd: cents(group.cost),
        priority: Math.round(SEVERITY_WEIGHTS[severity] * group.count * (1 + Math.log10(1 + group.cost)) * 100) / 100,
        remediation: group.sample.remediation,
      };
    })
    .sort(
      (a, b) =>
        b.priority - a.priority ||
        SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) ||
        b.affected_resources - a.affected_resources ||
        (a.rule_id < b.rule_id ? -1 : 1),
    )
    .map((group, i) => ({ ...group, rank: i + 1 }));
}

function resourceOf(row: { resource_id: string; type: string; name: string | null; native_id: string; account_id: string; region: string | null }): ReportedResource {
  return { id: row.resource_id, type: row.type, name: row.name, native_id: row.native_id, account_id: row.account_id, region: row.region };
}

export async function executiveSummary(db: Db, header: ReportHeader, audit: AuditRow): Promise<ExecutiveSummary> {
  const previous = await findPreviousAudit(db, audit);
  const dimensions = DIMENSIONS.map((dimension) => {
    const score = audit.summary ? scoreOf(audit.summary.weights[dimension]) : null;
    const previousScore = previous?.summary ? scoreOf(previous.summary.weights[dimension]) : null;
    return { dimension, score, previous_score: previousScore, change: score !== null && previousScore !== null ? score - previousScore : null };
  });
  const bySeverity = zeroCounts();
  const byDimension = Object.fromEntries(DIMENSIONS.map((d) => [d, zeroCounts()])) as Record<Dimension, SeverityCounts>;
  let total = 0;
  let savings = 0;
  let costFindings = 0;
  for (const row of await countFindings(db, audit.organization_id, audit.id, header.filters)) {
    const count = Number(row.count);
    total += count;
    bySeverity[row.severity] += count;
    byDimension[row.dimension][row.severity] += count;
    if (row.dimension === 'cost') {
      costFindings += count;
      savings += row.cost === null ? 0 : Number(row.cost);
    }
  }
  const groups = await rankedGroups(db, audit, header.filters);
  const compliance = await complianceAsOf(db, audit.organization_id, audit.id);
  return {
    report_type: 'executive_summary',
    ...header,
    previous_audit_id: previous?.id ?? null,
    dimensions,
    findings: { total, by_severity: bySeverity, by_dimension: byDimension },
    top_risks: groups.slice(0, 5).map((group) => ({
      rule_id: group.rule_id,
      title: group.title,
      severity: group.severity,
      dimension: group.dimension,
      affected_resources: group.affected_resources,
      summary: `${group.description} It affects ${group.affected_resources} ${group.affected_resources === 1 ? 'resource' : 'resources'}${
        group.monthly_cost_usd > 0 ? ` and costs about $${group.monthly_cost_usd.toFixed(2)} a month` : ''
      }. ${group.remediation.text}`,
    })),
    cost: { monthly_savings_usd: cents(savings), findings: costFindings },
    compliance: compliance.frameworks.map(({ framework, tally }) => ({
      framework_id: framework.id,
      name: framework.name,
      score: tally.score,
      passed: tally.passed,
      failed: tally.failed,
      not_evaluated: tally.notEvaluated,
      coverage: tally.coverage,
    })),
  };
}

export async function remediationPlan(db: Db, header: ReportHeader, audit: AuditRow): Promise<RemediationPlan> {
  const groups = await rankedGroups(db, audit, header.filters);
  return {
    report_type: 'remediation_plan',
    ...header,
    totals: {
      groups: groups.length,
      findings: groups.reduce((sum, g) => sum + g.affected_resources, 0),
      monthly_cost_usd: cents(groups.reduce((sum, g) => sum + g.monthly_cost_usd, 0)),
    },
    groups,
    async *resourcesOf(group) {
      for await (const rows of findingsOfRule(db, audit.organization_id, audit.id, group.rule_id, header.filters)) {
        yield rows.map((row) => ({
          ...resourceOf(row),
          finding_id: row.finding_id,
          finding_status: row.status,
          monthly_cost_usd: row.cost_monthly_usd === null ? null : cents(row.cost_monthly_usd),
        }));
      }
    },
  };
}

export async function complianceEvidence(db: Db, header: ReportHeader, audit: AuditRow, frameworkId: string): Promise<ComplianceEvidence> {
  const { framework } = await frameworkComplianceAsOf(db, audit.organization_id, frameworkId, audit.id);
  const rules = new Map<string, EvidenceRule>();
  const resourceTypesOf = new Map<string, readonly string[]>();
  for (const control of framework.controls) {
    for (const rule of control.rules) {
      rules.set(rule.id, {
        rule_id: rule.id,
        title: rule.title,
        severity: rule.severity,
        evaluated: rule.evaluated,
        failed: rule.failingResources,
        errors: rule.errors,
      });
      resourceTypesOf.set(rule.id, rule.resourceTypes);
    }
  }
  const errored = (ruleId: string) => (audit.summary?.errors ?? []).filter((e) => e.rule_id === ruleId).map((e) => e.resource_id);
  const noFilters: ReportFilters = { dimensions: [], severities: [], account_ids: [] };
  return {
    report_type: 'compliance_evidence',
    ...header,
    framework: { id: framework.framework.id, name: framework.framework.name, version: framework.framework.version },
    summary: {
      score: framework.tally.score,
      passed: framework.tally.passed,
      failed: framework.tally.failed,
      not_evaluated: framework.tally.notEvaluated,
      coverage: framework.tally.coverage,
    },
    controls: framework.controls.map((control) => ({
      id: control.id,
      title: control.title,
      status: control.status,
      failing_resources: control.failingResources,
      rule_ids: control.rules.map((rule) => rule.id),
    })),
    rules: [...rules.values()].sort((a, b) => (a.rule_id < b.rule_id ? -1 : 1)),
    async *failingOf(rule) {
      for await (const rows of findingsOfRule(db, audit.organization_id, audit.id, rule.rule_id, noFilters)) {
        yield rows.map((row) => ({ ...resourceOf(row), finding_id: row.finding_id, finding_status: row.status, evidence: row.evidence }));
      }
    },
    async *passingOf(rule) {
      const resourceTypes = resourceTypesOf.get(rule.rule_id) ?? [];
      for await (const rows of passingResourcesOfRule(db, audit.organization_id, audit.id, { id: rule.rule_id, resourceTypes }, errored(rule.rule_id))) {
        yield rows.map(resourceOf);
      }
    },
  };
}
