import type { Kysely } from 'kysely';

// Rotation and sync compose (issue 21): a rotation that wrote Key Vault secrets a sync covers
// queues a run of that sync restricted to those secrets (`trigger` `rotation`), naming the
// rotation and the secret names it is restricted to (null: every item the sync selects).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('sync_runs')
    .addColumn('rotation_id', 'text', (c) => c.references('rotations.id').onDelete('set null'))
    .addColumn('only_items', 'jsonb')
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sync_runs').dropColumn('only_items').dropColumn('rotation_id').execute();
}
