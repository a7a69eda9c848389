// Resources have no rules beyond their queries: imports write them, other features read them,
// through these.
export {
  countResourcesOfAccount,
  findAccountResourceStates,
  findResource,
  insertResourceContents,
  markResourcesSeen,
  markUnseenResourcesGone,
  updateResourcesContent,
  type ResourceContentRow,
} from './resources.repository';
