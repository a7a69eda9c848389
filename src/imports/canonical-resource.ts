import type { Provider } from '../providers';

/** A step into an attribute value: an object key or an array index. */
export type AttributePath = (string | number)[];

/**
 * `resource_native_id` of the resource it is attached to. Native ids are unique per account and
 * type only (an `aws_s3_bucket_policy` has its bucket's name as id), so `resource_types` names the
 * types it may be; without them, any resource with that native id.
 */
export interface CanonicalRelationship {
  type: 'attached_to';
  resource_native_id: string;
  resource_types?: string[];
}

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
  relationships: CanonicalRelationship[];
  /**
   * Attributes whose value Terraform knows only after apply (a plan's `after_unknown`), as paths
   * relative to `attributes` such as ['versioning', 0, 'enabled']; they are absent from `attributes`.
   */
  unknown_paths: AttributePath[];
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
