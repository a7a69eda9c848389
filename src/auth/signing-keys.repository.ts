import { sql } from 'kysely';
import type { Db } from '../db/database';

export function listSigningKeys(db: Db) {
  return db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute();
}

export async function insertSigningKey(db: Db, key: { kid: string; secret_encrypted: string }): Promise<void> {
  await db.insertInto('signing_keys').values(key).execute();
}

/** Deletes the keys whose successor appeared before `supersededBefore`; answers how many. */
export async function deleteSupersededSigningKeys(db: Db, supersededBefore: Date): Promise<number> {
  const result = await db
    .deleteFrom('signing_keys as old')
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('signing_keys as newer')
          .select(sql`1`.as('one'))
          .whereRef('newer.created_at', '>', 'old.created_at')
          .where('newer.created_at', '<', supersededBefore),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
