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
  // Account → native id → what is indexed under it: two lookups of strings the resources already
  // hold, rather than a key string made (and hashed) for each lookup.
  private readonly byNativeId = new Map<string, Map<string, RuleResource[]>>();
  private readonly referrers = new Map<string, Map<string, { resource: RuleResource; relationship: Relationship }[]>>();
  private readonly accounts = new Map<string, AccountDefaults>();

  constructor(resources: readonly RuleResource[]) {
    const settings = new Map<string, Record<string, RuleResource[]>>();
    for (const resource of resources) {
      push(this.byNativeId, resource, resource.native_id, resource);
      if (resource.account_id !== undefined && isAccountWideType(resource.type)) {
        let account = settings.get(resource.account_id);
        if (account === undefined) settings.set(resource.account_id, (account = { ...NO_ACCOUNT_DEFAULTS } as Record<string, RuleResource[]>));
        account[resource.type] = [...(account[resource.type] ?? []), resource];
      }
    }
    for (const [accountId, account] of settings) this.accounts.set(accountId, Object.freeze(account));
    for (const resource of resources) {
      for (const relationship of resource.relationships) push(this.referrers, resource, relationship.resource_native_id, { resource, relationship });
    }
  }

  contextOf(resource: RuleResource, now: Date): EvaluationContext {
    const related: RuleResource[] = [];
    if (resource.relationships.length > 0) {
      const targets = this.byNativeId.get(resource.account_id ?? '');
      for (const relationship of resource.relationships) {
        for (const target of targets?.get(relationship.resource_native_id) ?? []) {
          if (target !== resource && names(relationship, target)) related.push(target);
        }
      }
    }
    const referencedBy: RuleResource[] = [];
    const referrers = this.referrers.get(resource.account_id ?? '')?.get(resource.native_id);
    if (referrers !== undefined) {
      for (const { resource: referrer, relationship } of referrers) {
        if (referrer !== resource && names(relationship, resource)) referencedBy.push(referrer);
      }
    }
    const accountDefaults = (resource.account_id !== undefined ? this.accounts.get(resource.account_id) : undefined) ?? NO_ACCOUNT_DEFAULTS;
    return { related: distinct(related), referencedBy: distinct(referencedBy), now, accountDefaults };
  }
}

/** Each resource once, in the order first met: two relationships may name the same resource. */
function distinct(list: RuleResource[]): RuleResource[] {
  if (list.length < 2) return list;
  const once = new Set(list);
  return once.size === list.length ? list : Array.from(once);
}

function names(relationship: Relationship, resource: RuleResource): boolean {
  return relationship.resource_types === undefined || relationship.resource_types.includes(resource.type);
}

/** Indexes `value` under the resource's account (relationships link resources of one account: plans name resources by address, which two accounts may share) and a native id. */
function push<V>(index: Map<string, Map<string, V[]>>, resource: RuleResource, nativeId: string, value: V): void {
  const accountId = resource.account_id ?? '';
  let account = index.get(accountId);
  if (account === undefined) index.set(accountId, (account = new Map()));
  const list = account.get(nativeId);
  if (list === undefined) account.set(nativeId, [value]);
  else list.push(value);
}
