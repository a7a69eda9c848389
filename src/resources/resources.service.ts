import type { Db } from '../db/database';
import { AppError } from '../errors';
import { findResource } from './resources.repository';

// Resources have no rules beyond their queries: imports write them, other features read them,
// through these.
export {
  countResourcesOfAccount,
  existingResourceIds,
  findAccountResourceStates,
  insertResourceContents,
  markResourcesBack,
  markResourcesSeen,
  markUnseenCoveredResourcesGone,
  markUnseenResourcesGone,
  updateResourcesContent,
  type ResourceContentRow,
} from './resources.repository';

/** The organization's resource, or 404 `not_found` (also for another organization's). */
export async function requireResource(db: Db, organizationId: string, id: string) {
  const resource = await findResource(db, organizationId, id);
  if (!resource) throw new AppError('not_found', `No resource ${id} in this organization.`);
  return resource;
}
