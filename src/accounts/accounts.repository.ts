import type { Db, Trx } from '../db/database';
import type { AccountsTable } from '../db/schema';

type Provider = AccountsTable['provider'];

export function insertAccount(
  db: Db,
  account: { id: string; organization_id: string; provider: Provider; external_id: string; name: string; labels: Record<string, string> },
) {
  return db
    .insertInto('accounts')
    .values({ ...account, labels: JSON.stringify(account.labels) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findAccount(db: Db, organizationId: string, id: string) {
  return db.selectFrom('accounts').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
}

export function findAccountByExternalId(db: Db, organizationId: string, provider: Provider, externalId: string) {
  return db
    .selectFrom('accounts')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('provider', '=', provider)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
}

/** Accounts in id order (ULIDs, so oldest first), after the keyset position `afterId`. */
export function listAccounts(db: Db, organizationId: string, filter: { provider?: Provider }, limit: number, afterId?: string) {
  let query = db.selectFrom('accounts').selectAll().where('organization_id', '=', organizationId);
  if (filter.provider) query = query.where('provider', '=', filter.provider);
  if (afterId !== undefined) query = query.where('id', '>', afterId);
  return query.orderBy('id').limit(limit).execute();
}

export function updateAccount(db: Db, organizationId: string, id: string, changes: { name?: string; labels?: Record<string, string> }) {
  return db
    .updateTable('accounts')
    .set({
      updated_at: new Date(),
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.labels !== undefined ? { labels: JSON.stringify(changes.labels) } : {}),
    })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteAccount(db: Db, organizationId: string, id: string): Promise<void> {
  await db.deleteFrom('accounts').where('organization_id', '=', organizationId).where('id', '=', id).execute();
}

/**
 * Takes the account's row lock until the transaction ends, so that imports into one account, and
 * its deletion, run one after the other; answers the account, or undefined if it is not the
 * organization's. `for no key update`: an audit holds its accounts `for key share` from its first
 * write to its commit (`lockAuditedAccounts`), which an import need not wait for; the deletion
 * itself does.
 */
export function lockAccount(trx: Trx, organizationId: string, accountId: string) {
  return trx.selectFrom('accounts').selectAll().where('organization_id', '=', organizationId).where('id', '=', accountId).forNoKeyUpdate().executeTakeFirst();
}

/** Of these account ids, the ones the organization has. */
export async function existingAccountIds(db: Db, organizationId: string, ids: string[]): Promise<Set<string>> {
  const rows = await db.selectFrom('accounts').select('id').where('organization_id', '=', organizationId).where('id', 'in', ids).execute();
  return new Set(rows.map((row) => row.id));
}

export async function recordAccountImport(db: Db, accountId: string, at: Date): Promise<void> {
  await db.updateTable('accounts').set({ last_import_at: at }).where('id', '=', accountId).execute();
}
