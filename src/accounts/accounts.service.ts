import type { Principal } from '../http/principal';
import type { Db } from '../db/database';
import type { AccountRow } from '../db/schema';
import { AppError } from '../errors';
import type { Schemas } from '../http/contract';
import { newId } from '../ids';
import { countResourcesOfAccount } from '../resources/resources.service';
import { deleteAccount, findAccount, findAccountByExternalId, insertAccount, lockAccount } from './accounts.repository';

// Queries other features use as they are.
export { existingAccountIds, lockAccount, recordAccountImport } from './accounts.repository';

type Provider = Schemas['Provider'];

const EXTERNAL_ID_RULES: Record<Provider, { pattern: RegExp; says: string }> = {
  aws: { pattern: /^\d{12}$/, says: 'an AWS account id is 12 digits' },
  azure: {
    pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    says: 'an Azure subscription id is a UUID such as 0b1f6471-1bf0-4dda-aec3-111122223333',
  },
  gcp: {
    pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
    says: 'a GCP project id is 6 to 30 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen',
  },
};

export async function createAccount(db: Db, principal: Principal, input: Schemas['AccountCreate']): Promise<AccountRow> {
  const rule = EXTERNAL_ID_RULES[input.provider];
  if (!rule.pattern.test(input.external_id)) {
    throw new AppError('validation_failed', `external_id is not valid for ${input.provider}: ${rule.says}.`, [
      { field: 'body.external_id', issue: rule.says },
    ]);
  }
  const externalId = input.provider === 'azure' ? input.external_id.toLowerCase() : input.external_id;
  const clash = () =>
    new AppError('account_exists', `This organization already has the ${input.provider} account ${externalId}.`, [
      { field: 'body.external_id', issue: 'already registered' },
    ]);
  if (await findAccountByExternalId(db, principal.organizationId, input.provider, externalId)) throw clash();
  return insertAccount(db, {
    id: newId('acc'),
    organization_id: principal.organizationId,
    provider: input.provider,
    external_id: externalId,
    name: input.name.trim(),
    labels: input.labels ?? {},
  }).catch((error: unknown) => {
    if ((error as { code?: string }).code === '23505') throw clash();
    throw error;
  });
}

export async function requireAccount(db: Db, principal: Principal, id: string): Promise<AccountRow> {
  const account = await findAccount(db, principal.organizationId, id);
  if (!account) throw new AppError('not_found', `No account ${id} in this organization.`);
  return account;
}

/** Deletes the account; with `force` its resources go too, otherwise their existence is a conflict. */
export async function removeAccount(db: Db, principal: Principal, id: string, force: boolean): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (!(await lockAccount(trx, principal.organizationId, id))) throw new AppError('not_found', `No account ${id} in this organization.`);
    if (!force && (await countResourcesOfAccount(trx, id)) > 0) {
      throw new AppError('account_in_use', 'Resources reference this account; delete with force=true to delete them too.');
    }
    await deleteAccount(trx, principal.organizationId, id);
  });
}
