import { isAccountWideType } from './account-defaults';
import { NO_ACCOUNT_DEFAULTS, type AccountDefaults, type EvaluationContext, type RuleResource } from './rule-evaluation';

/**
 * Both directions of the relationships among a set of resources (one audit's), so that a rule
 * can look at what a resource is attached to (`related`) and what is attached to it
 * (`referenced_by`), and the account-wide settings of each account (`account_defaults`).
 * Relationships name native ids; one that names no resource of the set is left out. Everything
 * is indexed once, when the graph is built: a context costs O(relationships of the resource),
 * and its account defaults are one shared object per account.
 */
export class ResourceGraph {
  private readonly byNativeId = new Map<string, RuleResource[]>();
  private readonly referrers = new Map<string, RuleResource[]>();
  private readonly accounts = new Map<string, AccountDefaults>();

  constructor(resources: readonly RuleResource[]) {
    const settings = new Map<string, Record<string, RuleResource[]>>();
    for (const resource of resources) {
      push(this.byNativeId, resource.native_id, resource);
      if (resource.account_id !== undefined && isAccountWideType(resource.type)) {
        let account = settings.get(resource.account_id);
        if (account === undefined) settings.set(resource.account_id, (account = { ...NO_ACCOUNT_DEFAULTS } as Record<string, RuleResource[]>));
        account[resource.type] = [...(account[resource.type] ?? []), resource];
      }
    }
    for (const [accountId, account] of settings) this.accounts.set(accountId, Object.freeze(account));
    for (const resource of resources) {
      for (const target of new Set(resource.relationships.map((r) => r.resource_native_id))) push(this.referrers, target, resource);
    }
  }

  contextOf(resource: RuleResource, now: Date): EvaluationContext {
    const related = [...new Set(resource.relationships.map((r) => r.resource_native_id))].flatMap((id) => this.byNativeId.get(id) ?? []);
    const accountDefaults = (resource.account_id !== undefined ? this.accounts.get(resource.account_id) : undefined) ?? NO_ACCOUNT_DEFAULTS;
    return { related, referencedBy: this.referrers.get(resource.native_id) ?? [], now, accountDefaults };
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
