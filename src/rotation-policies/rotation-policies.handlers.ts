import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable } from '../http/contract';
import { paginate } from '../http/pagination';
import { toRotationPolicy } from './rotation-policies.mapper';
import { listRotationPolicyRows } from './rotation-policies.repository';
import { createRotationPolicy, deleteRotationPolicy, requireRotationPolicy, updateRotationPolicy } from './rotation-policies.service';

export function rotationPolicyHandlers(db: Db): HandlerTable<'listRotationPolicies' | 'createRotationPolicy' | 'getRotationPolicy' | 'updateRotationPolicy' | 'deleteRotationPolicy'> {
  return {
    listRotationPolicies: async (req, res) => {
      res.json(
        await paginate({
          query: req.query,
          binding: { list: 'rotation-policies', filter: {} },
          keyKinds: ['id'],
          fetch: (before, limitPlusOne) => listRotationPolicyRows(db, principalOf(res).organizationId, limitPlusOne, before?.[0]),
          keysOf: (row) => [row.id],
          toItem: toRotationPolicy,
        }),
      );
    },
    createRotationPolicy: async (req, res) => {
      const row = await createRotationPolicy(db, principalOf(res), req.body);
      res.status(201).location(`/v1/rotation-policies/${row.id}`).json(toRotationPolicy(row));
    },
    getRotationPolicy: async (req, res) => {
      res.json(toRotationPolicy(await requireRotationPolicy(db, principalOf(res), req.params.id)));
    },
    updateRotationPolicy: async (req, res) => {
      res.json(toRotationPolicy(await updateRotationPolicy(db, principalOf(res), req.params.id, req.body)));
    },
    deleteRotationPolicy: async (req, res) => {
      await deleteRotationPolicy(db, principalOf(res), req.params.id);
      res.status(204).end();
    },
  };
}
