import type { Schemas } from '../http/contract';
import type { Framework } from '../rules/rule-definition';
import { SCORE_FORMULA, type ComplianceAssessment, type ControlAssessment, type FrameworkAssessment, type Tally } from './compliance.service';

type Provenance = Pick<Schemas['ComplianceScore'], 'audit_id' | 'audit_finished_at' | 'catalogue_version'>;

function toProvenance(assessment: ComplianceAssessment): Provenance {
  return {
    audit_id: assessment.audit?.id ?? null,
    audit_finished_at: assessment.audit?.finishedAt.toISOString() ?? null,
    catalogue_version: assessment.catalogueVersion,
  };
}

function toTally(tally: Tally): Schemas['ComplianceTally'] {
  return { score: tally.score, passed: tally.passed, failed: tally.failed, not_evaluated: tally.notEvaluated, coverage: tally.coverage };
}

export function toFrameworkSummary(framework: Framework): Schemas['ComplianceFrameworkSummary'] {
  return { id: framework.id, name: framework.name, version: framework.version, controls_count: framework.controls.length };
}

function toControl(control: ControlAssessment): Schemas['ComplianceControl'] {
  return {
    id: control.id,
    title: control.title,
    status: control.status,
    failing_resources: control.failingResources,
    rules: control.rules.map((rule) => ({
      id: rule.id,
      title: rule.title,
      evaluated: rule.evaluated,
      errors: rule.errors,
      failing_resources: rule.failingResources,
    })),
  };
}

export function toComplianceFramework(assessment: ComplianceAssessment, { framework, controls, tally }: FrameworkAssessment): Schemas['ComplianceFramework'] {
  return {
    id: framework.id,
    name: framework.name,
    version: framework.version,
    ...toProvenance(assessment),
    summary: toTally(tally),
    controls: controls.map(toControl),
  };
}

export function toComplianceScore(assessment: ComplianceAssessment): Schemas['ComplianceScore'] {
  const idsOf = (controls: ControlAssessment[], status: ControlAssessment['status']) => controls.filter((c) => c.status === status).map((c) => c.id);
  return {
    ...toProvenance(assessment),
    formula: SCORE_FORMULA,
    overall: toTally(assessment.overall),
    frameworks: assessment.frameworks.map(({ framework, controls, tally }) => ({
      id: framework.id,
      name: framework.name,
      ...toTally(tally),
      passed_controls: idsOf(controls, 'passed'),
      failed_controls: idsOf(controls, 'failed'),
      excluded_controls: idsOf(controls, 'not_evaluated'),
    })),
  };
}
