import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { loadCatalogue } from '../rules/catalogue';
import { loadCelEngine } from '../rules/cel-engine';
import { toPolicy, toPolicyVersion } from './policies.mapper';
import { listPolicies, listPolicyVersions, type PolicyFilter } from './policies.repository';
import { changePolicy, createPolicy, removePolicy, requirePolicy, type PolicyChecks } from './policies.service';
import { dryRunPolicy } from './policy-dry-run';
import { policySchema } from './policy-schema';

async function checks(): Promise<PolicyChecks> {
  return { engine: await loadCelEngine(), catalogue: await loadCatalogue() };
}

export function policyHandlers(db: Db): HandlerTable<'getPolicySchema' | 'testPolicy' | 'createPolicy' | 'listPolicies' | 'getPolicy' | 'updatePolicy' | 'deletePolicy' | 'listPolicyVersions'> {
  const createPolicyHandler: OperationHandler<'createPolicy'> = async (req, res) => {
    const policy = await createPolicy(db, principalOf(res), await checks(), req.body);
    res.status(201).location(`/v1/policies/${policy.id}`).json(toPolicy(policy));
  };

  const listPoliciesHandler: OperationHandler<'listPolicies'> = async (req, res) => {
    const { query } = req;
    const filter: PolicyFilter = { kind: query.kind, enabled: query.enabled };
    res.json(
      await paginate({
        query,
        binding: { list: 'policies', filter },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listPolicies(db, principalOf(res).organizationId, filter, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toPolicy,
      }),
    );
  };

  const getPolicy: OperationHandler<'getPolicy'> = async (req, res) => {
    res.json(toPolicy(await requirePolicy(db, principalOf(res), req.params.id)));
  };

  const updatePolicyHandler: OperationHandler<'updatePolicy'> = async (req, res) => {
    res.json(toPolicy(await changePolicy(db, principalOf(res), await checks(), req.params.id, req.body)));
  };

  const deletePolicyHandler: OperationHandler<'deletePolicy'> = async (req, res) => {
    await removePolicy(db, principalOf(res), req.params.id);
    res.status(204).end();
  };

  const listPolicyVersionsHandler: OperationHandler<'listPolicyVersions'> = async (req, res) => {
    const principal = principalOf(res);
    const policy = await requirePolicy(db, principal, req.params.id);
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'policy_versions', policy: policy.id },
        keyKinds: ['integer'],
        fetch: (before, limitPlusOne) => listPolicyVersions(db, principal.organizationId, policy.id, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.version],
        toItem: (row) => toPolicyVersion({ ...row, kind: policy.kind }),
      }),
    );
  };

  const testPolicy: OperationHandler<'testPolicy'> = async (req, res) => {
    res.json(await dryRunPolicy(db, principalOf(res), await checks(), req.body));
  };

  const getPolicySchema: OperationHandler<'getPolicySchema'> = async (_req, res) => {
    res.json(policySchema(await loadCatalogue()));
  };

  return {
    getPolicySchema,
    testPolicy,
    createPolicy: createPolicyHandler,
    listPolicies: listPoliciesHandler,
    getPolicy,
    updatePolicy: updatePolicyHandler,
    deletePolicy: deletePolicyHandler,
    listPolicyVersions: listPolicyVersionsHandler,
  };
}
