import type { Db } from '../db/database';
import { AppError } from '../errors';
import type { Principal } from '../http/principal';
import { newId } from '../ids';
import { requireResource } from '../resources/resources.service';
import { CREDENTIAL_TYPES, isCredentialType, isStoreType, STORE_TYPES } from './credential-kinds';
import { proposeLinks, type LinkCandidate } from './credential-link-proposals';
import {
  confirmedStoreResources,
  deleteCredentialLinkRow,
  deleteProposals,
  findCredentialLink,
  findLinkOfPair,
  insertCredentialLink,
  listActiveResourcesOfTypes,
  listOpenProposals,
  listResourceBatch,
  lockProposals,
  updateCredentialLinkStatus,
  updateProposal,
  type CredentialLinkView,
  type EndRow,
} from './credential-links.repository';
import { DEPENDENT_TYPES, referencesIn, secretTarget, type SecretReference } from './secret-dependents';

/** The store entries a person confirmed hold the credential (what a rotation writes). */
export function confirmedStoresOf(db: Db, organizationId: string, credentialResourceId: string) {
  return confirmedStoreResources(db, organizationId, credentialResourceId);
}

export async function requireCredentialLink(db: Db, organizationId: string, id: string): Promise<CredentialLinkView> {
  const link = await findCredentialLink(db, organizationId, id);
  if (!link) throw new AppError('not_found', `No credential link ${id} in this organization.`);
  return link;
}

/** A person says a store entry holds a credential: a confirmed, manual link. */
export async function addCredentialLink(db: Db, principal: Principal, input: { credential_resource_id: string; store_resource_id: string }): Promise<CredentialLinkView> {
  const credential = await requireResource(db, principal.organizationId, input.credential_resource_id);
  const store = await requireResource(db, principal.organizationId, input.store_resource_id);
  const problems = [
    ...(isCredentialType(credential.type) ? [] : [{ field: 'body.credential_resource_id', issue: `a ${credential.type} is not a credential: one of ${CREDENTIAL_TYPES.join(', ')}` }]),
    ...(isStoreType(store.type) ? [] : [{ field: 'body.store_resource_id', issue: `a ${store.type} is not a store entry: one of ${STORE_TYPES.join(', ')}` }]),
  ];
  if (problems.length > 0) throw new AppError('validation_failed', 'These resources cannot be linked.', problems);
  const id = newId('cln');
  const now = new Date();
  const inserted = await insertCredentialLink(db, {
    id,
    organization_id: principal.organizationId,
    credential_resource_id: credential.id,
    store_resource_id: store.id,
    status: 'confirmed',
    origin: 'manual',
    confidence: 1,
    reasons: [{ kind: 'manual', detail: 'added by a person' }],
    decided_by: principal.userId,
    decided_at: now,
    created_at: now,
  });
  if (!inserted) {
    const existing = await findLinkOfPair(db, credential.id, store.id);
    throw new AppError('conflict', `These resources are linked already (${existing?.id ?? 'a link'}, ${existing?.status ?? 'unknown'}): change that link instead.`, existing ? [{ field: null, issue: `linked by ${existing.id}` }] : []);
  }
  return requireCredentialLink(db, principal.organizationId, id);
}

export async function decideCredentialLink(db: Db, principal: Principal, id: string, status: 'confirmed' | 'rejected'): Promise<CredentialLinkView> {
  const updated = await updateCredentialLinkStatus(db, principal.organizationId, id, { status, decided_by: principal.userId, at: new Date() });
  if (!updated) throw new AppError('not_found', `No credential link ${id} in this organization.`);
  return requireCredentialLink(db, principal.organizationId, id);
}

export async function removeCredentialLink(db: Db, principal: Principal, id: string): Promise<void> {
  if (!(await deleteCredentialLinkRow(db, principal.organizationId, id))) throw new AppError('not_found', `No credential link ${id} in this organization.`);
}

export interface ProposalCounts {
  proposed: number;
  updated: number;
  withdrawn: number;
  unchanged: number;
}

/**
 * Proposes links between the organization's active credentials and store entries, in one
 * transaction: new pairs become `proposed`; open proposals take their new confidence and reasons,
 * or are withdrawn when nothing supports them any more. A person's decision (confirmed, rejected)
 * and a person's link are never touched.
 */
export async function proposeCredentialLinks(db: Db, organizationId: string): Promise<ProposalCounts> {
  return db.transaction().execute(async (trx) => {
    await lockProposals(trx, organizationId);
    const [credentials, stores] = await Promise.all([
      listActiveResourcesOfTypes(trx, organizationId, CREDENTIAL_TYPES),
      listActiveResourcesOfTypes(trx, organizationId, STORE_TYPES),
    ]);
    const proposals = proposeLinks(credentials as LinkCandidate[], stores as LinkCandidate[]);
    const open = new Map((await listOpenProposals(trx, organizationId)).map((row) => [`${row.credential_resource_id}\u0000${row.store_resource_id}`, row]));
    const counts: ProposalCounts = { proposed: 0, updated: 0, withdrawn: 0, unchanged: 0 };
    const now = new Date();
    for (const proposal of proposals) {
      const key = `${proposal.credentialId}\u0000${proposal.storeId}`;
      const existing = open.get(key);
      if (existing !== undefined) {
        open.delete(key);
        if (existing.confidence === proposal.confidence && JSON.stringify(existing.reasons) === JSON.stringify(proposal.reasons)) {
          counts.unchanged += 1;
        } else {
          await updateProposal(trx, existing.id, { confidence: proposal.confidence, reasons: proposal.reasons, at: now });
          counts.updated += 1;
        }
        continue;
      }
      const inserted = await insertCredentialLink(trx, {
        id: newId('cln'),
        organization_id: organizationId,
        credential_resource_id: proposal.credentialId,
        store_resource_id: proposal.storeId,
        status: 'proposed',
        origin: 'automatic',
        confidence: proposal.confidence,
        reasons: proposal.reasons,
        decided_by: null,
        decided_at: null,
        created_at: now,
      });
      if (inserted) counts.proposed += 1;
    }
    await deleteProposals(trx, [...open.values()].map((row) => row.id));
    counts.withdrawn = open.size;
    return counts;
  });
}

export interface Dependent {
  resource: EndRow;
  references: SecretReference[];
}

const DEPENDENTS_BATCH = 500;

/**
 * The resources whose attributes name the secret, after `afterId`, ordered by id: candidates of
 * the types that can read it are scanned in batches until `limit` dependents are found.
 */
export async function findDependents(db: Db, organizationId: string, secretId: string, limit: number, afterId?: string): Promise<Dependent[]> {
  const secret = await requireResource(db, organizationId, secretId);
  const types = DEPENDENT_TYPES[secret.type];
  const target = types === undefined ? null : secretTarget(secret.type, secret.name, secret.attributes);
  if (types === undefined || target === null) return [];
  const dependents: Dependent[] = [];
  let after = afterId;
  for (;;) {
    const batch = await listResourceBatch(db, organizationId, types, DEPENDENTS_BATCH, after);
    for (const row of batch) {
      const references = referencesIn(row.attributes, row.type, target);
      if (references.length === 0) continue;
      const { attributes: _attributes, ...resource } = row;
      dependents.push({ resource, references });
      if (dependents.length >= limit) return dependents;
    }
    if (batch.length < DEPENDENTS_BATCH) return dependents;
    after = batch.at(-1)?.id;
  }
}
