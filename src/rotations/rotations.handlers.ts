import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { toRotation } from './rotations.mapper';
import { listRotations } from './rotations.repository';
import { createRotation, requireRotation, type RotationSettings } from './rotations.service';

export function rotationHandlers(db: Db, settings: RotationSettings): HandlerTable<'createRotation' | 'listRotations' | 'getRotation'> {
  const create: OperationHandler<'createRotation'> = async (req, res) => {
    const result = await createRotation(db, settings, principalOf(res), req.body, req.query.dry_run === true);
    if (result.dryRun) {
      res.json(result.plan);
      return;
    }
    res.status(201).location(`/v1/rotations/${result.rotation.id}`).json(toRotation(result.rotation));
  };
  const list: OperationHandler<'listRotations'> = async (req, res) => {
    const filter = { status: req.query.status };
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'rotations', filter },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listRotations(db, principalOf(res).organizationId, filter, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toRotation,
      }),
    );
  };
  return {
    createRotation: create,
    listRotations: list,
    getRotation: async (req, res) => {
      res.json(toRotation(await requireRotation(db, principalOf(res), req.params.id)));
    },
  };
}
