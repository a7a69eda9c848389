import { sql, type Kysely } from 'kysely';

// An AWS Secrets Manager secret with its own rotation function is rotated through it (RotateSecret):
// `application_id` and `key_id` both name the secret's ARN, `new_key_id` the version made AWSCURRENT.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table rotations drop constraint rotations_credential_type_check`.execute(db);
  await sql`alter table rotations add constraint rotations_credential_type_check
    check (credential_type in ('azuread_application_password', 'aws_iam_access_key', 'google_service_account_key', 'aws_secretsmanager_secret'))`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table rotations drop constraint rotations_credential_type_check`.execute(db);
  await sql`alter table rotations add constraint rotations_credential_type_check
    check (credential_type in ('azuread_application_password', 'aws_iam_access_key', 'google_service_account_key'))`.execute(db);
}
