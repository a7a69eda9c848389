import { isAccountWideType } from './account-defaults';
import { NO_ACCOUNT_DEFAULTS, type AccountDefaults, type EvaluationContext, type RuleResource } from './rule-evaluation';

type Relationship = RuleResource['relationships'][number];

/**
 * Both directions of the relationships among a set of resources (one audit's), so that a rule
 * can look at what a resource is attached to (`related`) and what is attached to it
 * (`referenced_by`), and the account-wide settings of each account (`account_defaults`).
 * Relationships name native ids, which are unique per account and type only (a bucket and its
 * `aws_s3_bucket_policy` share one): a relationship links resources of the same account, and one
 * with `resource_types` names the resources of those types only. One that names no resource of
 * the set is left out. Everything is indexed once, when the graph is built: a context costs
 * O(relationships of the resource), and its account defaults are one shared object per account.
 */
export class ResourceGraph {
  private readonly byNativeId = new Map<string, RuleResource[]>();
  private readonly referrers = new Map<string, { resource: RuleResource; relationship: Relationship }[]>();
  private readonly accounts = new Map<string, AccountDefaults>();

  constructor(resources: readonly RuleResource[]) {
    const settings = new Map<string, Record<string, RuleResource[]>>();
    for (const resource of resources) {
      push(this.byNativeId, keyOf(resource, resource.native_id), resource);
      if (resource.account_id !== undefined && isAccountWideType(resource.type)) {
        let account = settings.get(resource.account_id);
        if (account === undefined) settings.set(resource.account_id, (account = { ...NO_ACCOUNT_DEFAULTS } as Record<string, RuleResource[]>));
        account[resource.type] = [...(account[resource.type] ?? []), resource];
      }
    }
    for (const [accountId, account] of settings) this.accounts.set(accountId, Object.freeze(account));
    for (const resource of resources) {
      for (const relationship of resource.relationships) push(this.referrers, keyOf(resource, relationship.resource_native_id), { resource, relationship });
    }
  }

  contextOf(resource: RuleResource, now: Date): EvaluationContext {
    const related = new Set<RuleResource>();
    for (const relationship of resource.relationships) {
      for (const target of this.byNativeId.get(keyOf(resource, relationship.resource_native_id)) ?? []) {
        if (target !== resource && names(relationship, target)) related.add(target);
      }
    }
    const referrers = this.referrers.get(keyOf(resource, resource.native_id));
    const referencedBy = new Set<RuleResource>();
    if (referrers !== undefined) {
      for (const { resource: referrer, relationship } of referrers) {
        if (referrer !== resource && names(relationship, resource)) referencedBy.add(referrer);
      }
    }
    const accountDefaults = (resource.account_id !== undefined ? this.accounts.get(resource.account_id) : undefined) ?? NO_ACCOUNT_DEFAULTS;
    return { related: Array.from(related), referencedBy: Array.from(referencedBy), now, accountDefaults };
  }
}

/** A native id within the resource's account: plans name resources by address, which two accounts may share. */
function keyOf(resource: RuleResource, nativeId: string): string {
  return `${resource.account_id ?? ''}\n${nativeId}`;
}

function names(relationship: Relationship, resource: RuleResource): boolean {
  return relationship.resource_types === undefined || relationship.resource_types.includes(resource.type);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
