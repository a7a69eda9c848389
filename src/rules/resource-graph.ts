import type { EvaluationContext, RuleResource } from './rule-evaluation';

/**
 * Both directions of the relationships among a set of resources (one audit's), so that a rule
 * can look at what a resource is attached to (`related`) and what is attached to it
 * (`referenced_by`). Relationships name native ids; one that names no resource of the set is
 * left out.
 */
export class ResourceGraph {
  private readonly byNativeId = new Map<string, RuleResource[]>();
  private readonly referrers = new Map<string, RuleResource[]>();

  constructor(resources: readonly RuleResource[]) {
    for (const resource of resources) push(this.byNativeId, resource.native_id, resource);
    for (const resource of resources) {
      for (const target of new Set(resource.relationships.map((r) => r.resource_native_id))) push(this.referrers, target, resource);
    }
  }

  contextOf(resource: RuleResource, now: Date): EvaluationContext {
    const related = [...new Set(resource.relationships.map((r) => r.resource_native_id))].flatMap((id) => this.byNativeId.get(id) ?? []);
    return { related, referencedBy: this.referrers.get(resource.native_id) ?? [], now };
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
