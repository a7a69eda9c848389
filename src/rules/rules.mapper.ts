import type { Schemas } from '../http/contract';
import type { CompiledRule } from './rule-evaluation';

export function toRule({ rule }: CompiledRule, catalogueVersion: string): Schemas['Rule'] {
  return {
    id: rule.id,
    version: rule.version,
    title: rule.title,
    description: rule.description,
    dimension: rule.dimension,
    severity: rule.severity,
    provider: rule.provider,
    resource_types: rule.resource_types,
    condition: rule.condition,
    evidence: rule.evidence,
    remediation: rule.remediation,
    references: rule.references,
    compliance: rule.compliance,
    cost: rule.cost,
    catalogue_version: catalogueVersion,
  };
}
