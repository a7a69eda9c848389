import { parseNativeInventory } from './native-format';
import { parseTerraformShow } from './terraform-show-format';
import { parseTerraformState } from './terraform-state-format';

export type ImportFormat = 'native' | 'terraform_state' | 'terraform_show';
export type Provider = 'aws' | 'azure' | 'gcp';

export interface CanonicalResource {
  /** Terraform resource type name, e.g. aws_s3_bucket. */
  type: string;
  /** ARN (AWS), Azure resource id, GCP self link (fallback: id). */
  native_id: string;
  provider: Provider;
  /** From the attribute (region/location/zone→region) or parsed from the ARN. */
  region: string | null;
  /** A human name: name/bucket/tags.Name/... when present. */
  name: string | null;
  /** Tags (AWS), tags (Azure), labels (GCP). */
  tags: Record<string, string>;
  /** The resource's configuration, with Terraform attribute names. */
  attributes: Record<string, unknown>;
  relationships: { type: 'attached_to'; resource_native_id: string }[];
  /** Where it came from, for error messages: "resources[3]" or a Terraform address. */
  source: string;
}

/** `item` is an index path ("resources[3]"), a Terraform address, or "$" for the whole document. */
export interface ImportProblem {
  item: string;
  field: string | null;
  message: string;
}

export interface ParseResult {
  resources: CanonicalResource[];
  problems: ImportProblem[];
}

export const IMPORT_FORMATS: readonly ImportFormat[] = ['native', 'terraform_state', 'terraform_show'];

/**
 * Maps an already-parsed inventory document onto canonical resources. Pure: no I/O.
 *
 * Imports are all or nothing: when `problems` is not empty the caller must write nothing.
 * `resources` still holds whatever could be mapped, which helps diagnostics and tests.
 */
export function parseInventory(format: ImportFormat, document: unknown): ParseResult {
  switch (format) {
    case 'native':
      return parseNativeInventory(document);
    case 'terraform_state':
      return parseTerraformState(document);
    case 'terraform_show':
      return parseTerraformShow(document);
    default:
      return {
        resources: [],
        problems: [{ item: '$', field: null, message: `unknown import format "${String(format)}"; expected one of ${IMPORT_FORMATS.join(', ')}` }],
      };
  }
}
