import type { Provider } from '../providers';

/** A cloud object as every import format maps it, before it is stored. */
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
