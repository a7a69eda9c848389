import type { OrganizationLimits } from '../config';
import fs from 'node:fs';
import path from 'node:path';
import { createAccount } from '../accounts/accounts.service';
import { runAudit } from '../audits/audit-runner';
import { findAudit, insertQueuedAudit } from '../audits/audits.service';
import { findMembership } from '../auth/auth.service';
import type { Principal } from '../http/principal';
import { generatePassword } from '../users/passwords';
import { SCOPES_BY_ROLE } from '../auth/scopes';
import type { Db } from '../db/database';
import { importInventory } from '../imports/imports.service';
import type { JobQueue } from '../jobs/job-queue';
import { createOrganization } from '../platform/platform.service';
import { enabledPolicies } from '../policies/policies.service';
import { loadCatalogue } from '../rules/catalogue';

const FIXTURE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'inventory', 'native.json');
// The fixture's resources live in these accounts (their ids appear in its ARNs and resource ids).
const ACCOUNTS = [
  { provider: 'aws', external_id: '345678901234', name: 'demo-aws' },
  { provider: 'azure', external_id: '3f2c1a7e-5b8d-4e6f-9a0b-1c2d3e4f5a6b', name: 'demo-azure' },
  { provider: 'gcp', external_id: 'acme-demo-project', name: 'demo-gcp' },
] as const;

/**
 * An organization with a demo owner, the fixture inventory in an AWS, an Azure and a GCP
 * account, and one finished full audit of it, run in this process: a newcomer sees findings at once.
 */
export async function seedDemo(db: Db, jobs: JobQueue, input: { slug: string; username: string; password?: string }, limits: OrganizationLimits) {
  const password = input.password ?? generatePassword();
  const { organization, member } = await createOrganization(db, {
    name: 'Demo organization',
    slug: input.slug,
    owner: { username: input.username, password },
  });
  const principal = await ownerPrincipal(db, organization.id, member.user_id);
  const document = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as unknown;
  let resources = 0;
  for (const account of ACCOUNTS) {
    const row = await createAccount(db, principal, account);
    const imported = await importInventory(db, { jobs, inlineMaxResources: Number.MAX_SAFE_INTEGER, limits }, principal, row, { format: 'native', mode: 'full', document });
    resources += imported.counts.created;
  }
  const audit = await insertQueuedAudit(db, principal, { mode: 'full', account_ids: null, parent_audit_id: null });
  await runAudit(db, audit.id, { catalogue: loadCatalogue, policies: enabledPolicies, now: () => new Date() });
  const finished = await findAudit(db, organization.id, audit.id);
  if (finished?.status !== 'succeeded' || !finished.summary) throw new Error(`the demo audit ${audit.id} did not succeed (${finished?.error_message ?? finished?.status})`);
  const findings = Object.values(finished.summary.findings).reduce((sum, bySeverity) => sum + Object.values(bySeverity).reduce((a, b) => a + b, 0), 0);
  return { organizationId: organization.id, slug: organization.slug, username: input.username, password: input.password ? null : password, resources, auditId: audit.id, findings };
}

/** The new owner as the services expect a caller, for the writes seed-demo makes in their name. */
async function ownerPrincipal(db: Db, organizationId: string, userId: string): Promise<Principal> {
  const member = (await findMembership(db, organizationId, userId))!;
  return {
    userId,
    organizationId,
    role: member.role,
    scopes: SCOPES_BY_ROLE[member.role],
    member,
    credential: { kind: 'session', id: 'seed-demo', expiresAt: new Date() },
    via: 'authorization_header',
  };
}
