/** A built-in rule as the catalogue files declare it (see rule.schema.json). */
export type Dimension = 'security' | 'cost' | 'architecture' | 'compliance';
export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export type FrameworkId = 'cis_aws_foundations' | 'aws_fsbp' | 'cis_azure_foundations' | 'cis_gcp_foundations' | 'soc2' | 'pci_dss';

/** From least to most severe: a severity's index is its rank. */
export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];
export const DIMENSIONS: readonly Dimension[] = ['security', 'cost', 'architecture', 'compliance'];
export const FRAMEWORK_IDS: readonly FrameworkId[] = ['cis_aws_foundations', 'aws_fsbp', 'cis_azure_foundations', 'cis_gcp_foundations', 'soc2', 'pci_dss'];

export interface RuleDefinition {
  id: string;
  version: number;
  title: string;
  description: string;
  dimension: Dimension;
  severity: Severity;
  provider: 'aws' | 'azure' | 'gcp';
  resource_types: string[];
  /** CEL; true when the resource violates the rule. */
  condition: string;
  /** Paths into the resource (`attributes.acl`) whose values explain a failure. */
  evidence: string[];
  remediation: { text: string; terraform: string | null };
  references: string[];
  /** Framework → control ids the rule maps to; every framework present, [] when none. */
  compliance: Record<FrameworkId, string[]>;
  /** Cost rules: what a failing resource wastes a month, in USD, and the prices assumed. */
  cost: { monthly_usd: string; assumptions: string } | null;
}

export interface Framework {
  id: FrameworkId;
  name: string;
  version: string;
  controls: { id: string; title: string }[];
}
