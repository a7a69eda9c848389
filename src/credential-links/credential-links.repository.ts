import { sql } from 'kysely';
import type { Db, Trx } from '../db/database';
import type { CredentialLinkReasonData, CredentialLinkRow, CredentialLinksTable } from '../db/schema';

const END_COLUMNS = ['id', 'account_id', 'provider', 'type', 'native_id', 'name', 'status'] as const;

/** A link with both of its resources, as the API shows it. */
export type CredentialLinkView = CredentialLinkRow & {
  credential: EndRow;
  store: EndRow;
};
export interface EndRow {
  id: string;
  account_id: string;
  provider: string;
  type: string;
  native_id: string;
  name: string | null;
  status: string;
}

function endObject(alias: 'c' | 's') {
  return sql<EndRow>`jsonb_build_object(${sql.join(END_COLUMNS.map((column) => sql`${sql.lit(column)}::text, ${sql.ref(`${alias}.${column}`)}`))})`;
}

function viewQuery(db: Db | Trx, organizationId: string) {
  return db
    .selectFrom('credential_links as l')
    .innerJoin('resources as c', 'c.id', 'l.credential_resource_id')
    .innerJoin('resources as s', 's.id', 'l.store_resource_id')
    .selectAll('l')
    .select([endObject('c').as('credential'), endObject('s').as('store')])
    .where('l.organization_id', '=', organizationId);
}

export function findCredentialLink(db: Db | Trx, organizationId: string, id: string): Promise<CredentialLinkView | undefined> {
  return viewQuery(db, organizationId).where('l.id', '=', id).executeTakeFirst();
}

/** The links of a resource on either side, oldest first, after the keyset position `afterId`. */
export function listLinksOfResource(db: Db, organizationId: string, resourceId: string, filter: { status?: CredentialLinkRow['status'] }, limit: number, afterId?: string): Promise<CredentialLinkView[]> {
  let query = viewQuery(db, organizationId).where((eb) => eb.or([eb('l.credential_resource_id', '=', resourceId), eb('l.store_resource_id', '=', resourceId)]));
  if (filter.status) query = query.where('l.status', '=', filter.status);
  if (afterId !== undefined) query = query.where('l.id', '>', afterId);
  return query.orderBy('l.id', 'asc').limit(limit).execute();
}

export function findLinkOfPair(db: Db | Trx, credentialResourceId: string, storeResourceId: string) {
  return db.selectFrom('credential_links').select(['id', 'status']).where('credential_resource_id', '=', credentialResourceId).where('store_resource_id', '=', storeResourceId).executeTakeFirst();
}

export interface NewCredentialLink {
  id: string;
  organization_id: string;
  credential_resource_id: string;
  store_resource_id: string;
  status: CredentialLinksTable['status'];
  origin: CredentialLinksTable['origin'];
  confidence: number;
  reasons: CredentialLinkReasonData[];
  decided_by: string | null;
  decided_at: Date | null;
  created_at: Date;
}

/** Inserts a link unless its pair has one already; answers whether it did. */
export async function insertCredentialLink(db: Db | Trx, row: NewCredentialLink): Promise<boolean> {
  const inserted = await db
    .insertInto('credential_links')
    .values({ ...row, reasons: JSON.stringify(row.reasons), updated_at: row.created_at })
    .onConflict((oc) => oc.columns(['credential_resource_id', 'store_resource_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export function updateCredentialLinkStatus(db: Db, organizationId: string, id: string, change: { status: CredentialLinksTable['status']; decided_by: string; at: Date }) {
  return db
    .updateTable('credential_links')
    .set({ status: change.status, decided_by: change.decided_by, decided_at: change.at, updated_at: change.at })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returning('id')
    .executeTakeFirst();
}

export function deleteCredentialLinkRow(db: Db, organizationId: string, id: string) {
  return db.deleteFrom('credential_links').where('organization_id', '=', organizationId).where('id', '=', id).returning('id').executeTakeFirst();
}

/** The organization's active resources of these types, with what a proposal or a dependents search reads. */
export function listActiveResourcesOfTypes(db: Db | Trx, organizationId: string, types: readonly string[]) {
  return db
    .selectFrom('resources')
    .select(['id', 'type', 'name', 'tags', 'attributes'])
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'active')
    .where('type', 'in', [...types])
    .orderBy('id')
    .execute();
}

/** The organization's active resources of these types after `afterId`, by id: one batch of a dependents search. */
export function listResourceBatch(db: Db, organizationId: string, types: readonly string[], limit: number, afterId?: string) {
  let query = db
    .selectFrom('resources')
    .select(['id', 'account_id', 'provider', 'type', 'native_id', 'name', 'status', 'attributes'])
    .where('organization_id', '=', organizationId)
    .where('status', '=', 'active')
    .where('type', 'in', [...types]);
  if (afterId !== undefined) query = query.where('id', '>', afterId);
  return query.orderBy('id').limit(limit).execute();
}

/** The organization's automatic links that are still proposals. */
export function listOpenProposals(trx: Trx, organizationId: string) {
  return trx
    .selectFrom('credential_links')
    .select(['id', 'credential_resource_id', 'store_resource_id', 'confidence', 'reasons'])
    .where('organization_id', '=', organizationId)
    .where('origin', '=', 'automatic')
    .where('status', '=', 'proposed')
    .forUpdate()
    .execute();
}

export function updateProposal(trx: Trx, id: string, change: { confidence: number; reasons: CredentialLinkReasonData[]; at: Date }) {
  return trx.updateTable('credential_links').set({ confidence: change.confidence, reasons: JSON.stringify(change.reasons), updated_at: change.at }).where('id', '=', id).execute();
}

export async function deleteProposals(trx: Trx, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await trx.deleteFrom('credential_links').where('id', 'in', ids).execute();
}

/** Serializes proposal runs of one organization (a scan's and a person's at once). */
export async function lockProposals(trx: Trx, organizationId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`credential-links:${organizationId}`}))`.execute(trx);
}

/** The active store entries of a credential's confirmed links, oldest link first. */
export function confirmedStoreResources(db: Db | Trx, organizationId: string, credentialResourceId: string) {
  return db
    .selectFrom('credential_links as l')
    .innerJoin('resources as s', 's.id', 'l.store_resource_id')
    .select(['s.id', 's.account_id', 's.type', 's.native_id', 's.name', 's.attributes'])
    .where('l.organization_id', '=', organizationId)
    .where('l.credential_resource_id', '=', credentialResourceId)
    .where('l.status', '=', 'confirmed')
    .where('s.status', '=', 'active')
    .orderBy('l.id')
    .execute();
}
