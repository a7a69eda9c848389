import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { toResource, toResourceSummary, toResourceVersion } from './resources.mapper';
import { requireResource } from './resources.service';
import {
  listResources,
  listResourceVersions,
  sortKeyOf,
  type ResourceFilter,
  type ResourceSort,
  type ResourceSortField,
} from './resources.repository';

export function resourceHandlers(db: Db): HandlerTable<'listResources' | 'getResource' | 'listResourceVersions'> {
  const listResourcesHandler: OperationHandler<'listResources'> = async (req, res) => {
    const { query } = req;
    const filter: ResourceFilter = {
      accountId: query.account_id,
      provider: query.provider,
      types: query.type,
      region: query.region,
      status: query.status,
      tags: query.tag?.map((tag) => {
        const colon = tag.indexOf(':');
        return colon < 0 ? { key: tag } : { key: tag.slice(0, colon), value: tag.slice(colon + 1) };
      }),
      name: query.name,
      q: query.q,
      seenAfter: query.seen_after ? new Date(query.seen_after) : undefined,
      seenBefore: query.seen_before ? new Date(query.seen_before) : undefined,
    };
    const sortParam = query.sort ?? '-last_seen_at';
    const sort: ResourceSort = { field: sortParam.replace(/^-/, '') as ResourceSortField, descending: sortParam.startsWith('-') };
    res.json(
      await paginate({
        query,
        binding: { list: 'resources', filter, sort },
        keyKinds: [sort.field.endsWith('_seen_at') ? 'timestamp' : 'text', 'id'],
        fetch: (after, limitPlusOne) => listResources(db, principalOf(res).organizationId, filter, sort, limitPlusOne, after),
        keysOf: (row) => [sortKeyOf(row, sort.field), row.id],
        toItem: toResourceSummary,
      }),
    );
  };

  const getResource: OperationHandler<'getResource'> = async (req, res) => {
    res.json(toResource(await requireResource(db, principalOf(res).organizationId, req.params.id)));
  };

  const listResourceVersionsHandler: OperationHandler<'listResourceVersions'> = async (req, res) => {
    const resource = await requireResource(db, principalOf(res).organizationId, req.params.id);
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'resource_versions', resource: resource.id },
        keyKinds: ['integer'],
        fetch: (before, limitPlusOne) => listResourceVersions(db, resource.id, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.version],
        toItem: toResourceVersion,
      }),
    );
  };

  return {
    listResources: listResourcesHandler,
    getResource,
    listResourceVersions: listResourceVersionsHandler,
  };
}
