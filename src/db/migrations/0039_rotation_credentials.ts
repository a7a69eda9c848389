import { sql, type Kysely } from 'kysely';

// Rotations of any credential kind (issue 21): an Entra ID app password, an AWS IAM user's access
// key or a GCP service-account key, written into the store entries its confirmed credential links
// name (Key Vault, Secrets Manager, Secret Manager secrets). `application_id` and `key_id` keep
// naming the credential's owner and key (the application's object id, the IAM user, the service
// account's email; the key id or access key id), so one rotation per credential at a time still
// holds. `stores` lists each entry written: its resource type, resource, account and target.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('rotations')
    .addColumn('credential_type', 'text', (c) =>
      c.notNull().defaultTo('azuread_application_password').check(sql`credential_type in ('azuread_application_password', 'aws_iam_access_key', 'google_service_account_key')`),
    )
    .addColumn('credential_resource_id', 'text', (c) => c.references('resources.id').onDelete('set null'))
    .addColumn('stores', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
  // Rows written before: their stores are the Key Vault secrets they name.
  await sql`
    update rotations set stores = coalesce((
      select jsonb_agg(jsonb_build_object('type', 'azurerm_key_vault_secret', 'resource_id', null, 'account_id', rotations.account_id, 'target', uri))
      from jsonb_array_elements_text(rotations.key_vault_secrets) as uri), '[]'::jsonb)`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('rotations').dropColumn('stores').dropColumn('credential_resource_id').dropColumn('credential_type').execute();
}
