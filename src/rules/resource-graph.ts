import type { EvaluationContext, RuleResource } from './rule-evaluation';

type Relationship = RuleResource['relationships'][number];

/**
 * Both directions of the relationships among a set of resources (one audit's), so that a rule
 * can look at what a resource is attached to (`related`) and what is attached to it
 * (`referenced_by`). Relationships name native ids, which are unique per account and type only
 * (a bucket and its `aws_s3_bucket_policy` share one): a relationship with `resource_types` names
 * the resources of those types only. One that names no resource of the set is left out.
 */
export class ResourceGraph {
  private readonly byNativeId = new Map<string, RuleResource[]>();
  private readonly referrers = new Map<string, { resource: RuleResource; relationship: Relationship }[]>();

  constructor(resources: readonly RuleResource[]) {
    for (const resource of resources) push(this.byNativeId, resource.native_id, resource);
    for (const resource of resources) {
      for (const relationship of resource.relationships) push(this.referrers, relationship.resource_native_id, { resource, relationship });
    }
  }

  contextOf(resource: RuleResource, now: Date): EvaluationContext {
    const related = new Set<RuleResource>();
    for (const relationship of resource.relationships) {
      for (const target of this.byNativeId.get(relationship.resource_native_id) ?? []) {
        if (target !== resource && names(relationship, target)) related.add(target);
      }
    }
    const referencedBy = new Set<RuleResource>();
    for (const { resource: referrer, relationship } of this.referrers.get(resource.native_id) ?? []) {
      if (referrer !== resource && names(relationship, resource)) referencedBy.add(referrer);
    }
    return { related: [...related], referencedBy: [...referencedBy], now };
  }
}

function names(relationship: Relationship, resource: RuleResource): boolean {
  return relationship.resource_types === undefined || relationship.resource_types.includes(resource.type);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
