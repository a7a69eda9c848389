import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable } from '../http/contract';
import { paginate } from '../http/pagination';
import { requireResource } from '../resources/resources.service';
import { toCredentialLink, toDependent } from './credential-links.mapper';
import { listLinksOfResource } from './credential-links.repository';
import {
  addCredentialLink,
  decideCredentialLink,
  findDependents,
  proposeCredentialLinks,
  removeCredentialLink,
  requireCredentialLink,
} from './credential-links.service';

type Operations =
  | 'listResourceCredentialLinks'
  | 'listResourceDependents'
  | 'createCredentialLink'
  | 'getCredentialLink'
  | 'updateCredentialLink'
  | 'deleteCredentialLink'
  | 'createCredentialLinkProposals';

export function credentialLinkHandlers(db: Db): HandlerTable<Operations> {
  return {
    listResourceCredentialLinks: async (req, res) => {
      const { organizationId } = principalOf(res);
      const resource = await requireResource(db, organizationId, req.params.id);
      const filter = { status: req.query.status };
      res.json(
        await paginate({
          query: req.query,
          binding: { list: 'credential_links', resource: resource.id, filter },
          keyKinds: ['id'],
          fetch: (after, limitPlusOne) => listLinksOfResource(db, organizationId, resource.id, filter, limitPlusOne, after?.[0]),
          keysOf: (row) => [row.id],
          toItem: toCredentialLink,
        }),
      );
    },
    listResourceDependents: async (req, res) => {
      const { organizationId } = principalOf(res);
      res.json(
        await paginate({
          query: req.query,
          binding: { list: 'dependents', resource: req.params.id },
          keyKinds: ['id'],
          fetch: (after, limitPlusOne) => findDependents(db, organizationId, req.params.id, limitPlusOne, after?.[0]),
          keysOf: (dependent) => [dependent.resource.id],
          toItem: toDependent,
        }),
      );
    },
    createCredentialLink: async (req, res) => {
      const link = await addCredentialLink(db, principalOf(res), req.body);
      res.status(201).location(`/v1/credential-links/${link.id}`).json(toCredentialLink(link));
    },
    getCredentialLink: async (req, res) => {
      res.json(toCredentialLink(await requireCredentialLink(db, principalOf(res).organizationId, req.params.id)));
    },
    updateCredentialLink: async (req, res) => {
      res.json(toCredentialLink(await decideCredentialLink(db, principalOf(res), req.params.id, req.body.status)));
    },
    deleteCredentialLink: async (req, res) => {
      await removeCredentialLink(db, principalOf(res), req.params.id);
      res.status(204).end();
    },
    createCredentialLinkProposals: async (_req, res) => {
      res.json(await proposeCredentialLinks(db, principalOf(res).organizationId));
    },
  };
}
