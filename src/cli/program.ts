import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { verifyAuditLog } from '../audit-log/audit-log.service';
import { issueLicense, LicenseError } from '../plans/license';
import { PLAN_LIMITS, PLANS, type Plan, type PlanLimit } from '../plans/plan-catalogue';
import { rotateSigningKey } from '../auth/signing-keys';
import { generatePassword } from '../users/passwords';
import { migrateToLatest } from '../db/database';
import { AppError } from '../errors';
import { JobQueue } from '../jobs/job-queue';
import { toPlatformOrganization } from '../platform/platform.mapper';
import { changeOrganization, createOrganization, listPlatformOrganizations, setPlatformAdmin } from '../platform/platform.service';
import { resetPassword } from '../credentials/credentials.service';
import { CliError, cliLogger, EXIT, withContext } from './cli-context';
import { seedDemo } from './seed-demo';
import { secretsKeyring } from '../discovery/connection-secrets';
import { reEncryptSecrets } from '../discovery/connections.service';

const EXIT_CODES = `
Exit codes: 0 done; 1 refused (unknown organization or user, slug or username taken, …);
2 wrong usage or invalid configuration; 3 database unreachable or in use by a running server
(the embedded database takes one process at a time); 4 unexpected failure.

Configuration: the server's environment variables (DATABASE_URL, else the embedded database
in DATA_DIR, ./data by default; JWT_SECRET; TOKEN_TTL_SECONDS).`;

interface Output {
  /** What a script reads with --json. */
  json: unknown;
  /** What a person reads. */
  text: string;
}

function print(program: Command, output: Output): void {
  const { json } = program.opts<{ json?: boolean }>();
  process.stdout.write(json ? `${JSON.stringify(output.json)}\n` : `${output.text}\n`);
}

/** Runs a command against the database and prints its output; failures set the exit code. */
function action<A extends unknown[]>(program: Command, run: (...args: A) => Promise<Output>) {
  return async (...args: A) => {
    print(program, await run(...args));
  };
}

function slugOf(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

export function buildProgram(): Command {
  const program = new Command('fourfold')
    .description('Operate a fourfold deployment: migrations, organizations, users, signing keys, demo data.')
    .option('--json', 'print one JSON document on stdout instead of text (errors: {"error": {code, message}} on stderr)')
    .addHelpText('after', EXIT_CODES)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  program.configureHelp({ showGlobalOptions: true });

  program
    .command('migrate')
    .description('apply pending database migrations (the server also does at start)')
    .action(
      action(program, () =>
        withContext(async ({ db }) => {
          const applied = await migrateToLatest(db);
          return { json: { applied }, text: applied.length > 0 ? `applied: ${applied.join(', ')}` : 'the database is up to date' };
        }, { migrate: false }),
      ),
    );

  program
    .command('secrets')
    .description('manage the key connections\' secrets are encrypted under')
    .command('re-encrypt')
    .description('re-encrypt every connection secret under SECRETS_KEY (after a rotation: the old key in SECRETS_KEYS_PREVIOUS)')
    .action(
      action(program, () =>
        withContext(async ({ db, config, signingSecret }) => {
          const keyring = secretsKeyring(config.discovery, signingSecret);
          const { reEncrypted, unreadable } = await reEncryptSecrets(db, keyring);
          if (unreadable.length > 0) {
            throw new AppError('validation_failed', `${unreadable.length} connection secrets are under a key that is not configured (accounts ${unreadable.join(', ')}); add it to SECRETS_KEYS_PREVIOUS. ${reEncrypted} were re-encrypted.`);
          }
          return { json: { re_encrypted: reEncrypted, key_id: keyring.currentKeyId }, text: `re-encrypted ${reEncrypted} connection secrets under key ${keyring.currentKeyId}` };
        }),
      ),
    );

  const org = program.command('org').description('create, list and suspend organizations (tenants)').addHelpText('after', EXIT_CODES);
  org
    .command('create')
    .description('create an organization and its first owner; prints their generated password, or invitation, once')
    .requiredOption('--name <name>', 'the organization name')
    .requiredOption('--owner <username>', 'username of the first owner')
    .option('--slug <slug>', 'unique slug (default: from the name)')
    .option('--invite', 'give the owner a one-time invitation (7 days) instead of a generated password')
    .action(
      action(program, (options: { name: string; owner: string; slug?: string; invite?: boolean }) =>
        withContext(async ({ db, config }) => {
          // The API's schema checks these for POST /v1/platform/organizations; here nothing else does.
          if (!/\S/.test(options.name) || options.name.trim().length > 200) {
            throw new AppError('validation_failed', 'The name must have a visible character and at most 200 characters.');
          }
          if (!/^\S{1,254}$/.test(options.owner)) throw new AppError('validation_failed', `"${options.owner}" is not a username: no spaces, at most 254 characters.`);
          const slug = options.slug ?? slugOf(options.name);
          if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(slug)) {
            throw new AppError('validation_failed', `"${slug}" is not a slug: lower-case letters, digits and inner hyphens, at most 63. Give --slug.`);
          }
          const password = options.invite ? undefined : generatePassword();
          const created = await createOrganization(db, { name: options.name, slug, owner: { username: options.owner, password } });
          const invitation = created.invitation ? { token: created.invitation.token, expires_at: created.invitation.expiresAt.toISOString() } : null;
          const organization = toPlatformOrganization(created.organization, config.organizationLimits);
          return {
            json: { organization, owner: { user_id: created.member.user_id, username: options.owner, password: password ?? null, invitation } },
            text: [
              `created ${organization.id} "${organization.name}" (slug ${organization.slug})`,
              password
                ? `owner ${options.owner}, password (shown only now): ${password}`
                : `owner ${options.owner} is invited; invitation token (shown only now, valid until ${invitation!.expires_at}): ${invitation!.token}\n  redeem it at POST /auth/invitations/accept`,
            ].join('\n'),
          };
        }),
      ),
    );
  org
    .command('list')
    .description('list organizations, oldest first')
    .addOption(new Option('--status <status>', 'only those with this status').choices(['active', 'suspended']))
    .action(
      action(program, (options: { status?: 'active' | 'suspended' }) =>
        withContext(async ({ db, config }) => {
          const all = [];
          let after: string | undefined;
          for (;;) {
            const page = await listPlatformOrganizations(db, { status: options.status }, 500, after);
            all.push(...page.map((row) => toPlatformOrganization(row, config.organizationLimits)));
            if (page.length < 500) break;
            after = page.at(-1)!.id;
          }
          const text = all.map((o) => `${o.id}  ${o.status.padEnd(9)}  ${String(o.member_count).padStart(4)} members  ${o.slug}  ${o.name}`);
          return { json: { data: all }, text: text.length > 0 ? text.join('\n') : 'no organizations' };
        }),
      ),
    );
  for (const [name, status, says] of [
    ['suspend', 'suspended', 'refuse every credential of its members until reinstated; keeps its data'],
    ['reinstate', 'active', 'lift a suspension'],
  ] as const) {
    org
      .command(`${name} <id>`)
      .description(says)
      .action(
        action(program, (id: string) =>
          withContext(async ({ db, config }) => {
            const organization = toPlatformOrganization(await changeOrganization(db, id, { status }), config.organizationLimits);
            return { json: organization, text: `${organization.id} is ${organization.status}` };
          }),
        ),
      );
  }

  const user = program.command('user').description('manage users').addHelpText('after', EXIT_CODES);
  user
    .command('reset-password <username>')
    .description('give a user a new generated password, printed once; ends their login sessions and revokes their tokens and app authorizations')
    .option('--keep-tokens', 'keep their personal access tokens and OAuth app authorizations (login sessions end all the same)')
    .action(
      action(program, (username: string, options: { keepTokens?: boolean }) =>
        withContext(async ({ db }) => {
          const reset = await resetPassword(db, username, { keepTokens: options.keepTokens === true });
          const { revoked } = reset;
          return {
            json: { user_id: reset.userId, username: reset.username, password: reset.password, revoked },
            text: [
              `new password of ${reset.username} (shown only now): ${reset.password}`,
              `revoked: ${revoked.sessions} login session(s), ${revoked.personal_access_tokens} personal access token(s), ${revoked.oauth_authorizations} OAuth app authorization(s)` +
                (options.keepTokens ? ' (--keep-tokens: tokens and app authorizations kept)' : ''),
            ].join('\n'),
          };
        }),
      ),
    );

  const platformAdmin = program
    .command('platform-admin')
    .description('grant or withdraw the platform operator role (scope platform:admin); PLATFORM_ADMINS names more')
    .addHelpText('after', EXIT_CODES);
  for (const [name, grant] of [
    ['grant', true],
    ['revoke', false],
  ] as const) {
    platformAdmin
      .command(`${name} <username>`)
      .description(grant ? 'make the user a platform operator (from their next login)' : 'withdraw it (from their next request)')
      .action(
        action(program, (username: string) =>
          withContext(async ({ db }) => {
            if (!(await setPlatformAdmin(db, username, grant))) throw new AppError('not_found', `No user ${username}.`);
            return { json: { username, platform_admin: grant }, text: `${username} is ${grant ? 'now' : 'no longer'} a platform operator` };
          }),
        ),
      );
  }

  const keys = program.command('keys').description('manage the keys that sign login tokens').addHelpText('after', EXIT_CODES);
  keys
    .command('rotate')
    .description('make a new signing key; tokens signed with earlier keys stay valid until they expire (TOKEN_TTL_SECONDS)')
    .action(
      action(program, () =>
        withContext(async ({ db, config, signingSecret }) => {
          const { kid, removed } = await rotateSigningKey(db, signingSecret, config.jwt.ttlSeconds);
          return {
            json: { kid, removed_keys: removed },
            text: `new signing key ${kid}: running servers sign with it within 10 seconds; ${removed} key(s) whose tokens have all expired were removed`,
          };
        }),
      ),
    );

  program
    .command('seed-demo')
    .description('create a demo organization with an owner, the fixture inventory and one finished audit')
    .option('--slug <slug>', 'the organization slug', 'demo')
    .option('--username <username>', 'the demo owner', 'demo')
    .option('--password <password>', 'their password (default: generated, printed once)')
    .action(
      action(program, (options: { slug: string; username: string; password?: string }) =>
        withContext(async ({ db, config }) => {
          const jobs = new JobQueue(db, config, cliLogger());
          try {
            const demo = await seedDemo(db, jobs, options, config.organizationLimits);
            return {
              json: { organization_id: demo.organizationId, slug: demo.slug, username: demo.username, password: demo.password, resources: demo.resources, audit_id: demo.auditId, findings: demo.findings },
              text: [
                `demo organization ${demo.organizationId} (slug ${demo.slug}): ${demo.resources} resources, audit ${demo.auditId} succeeded with ${demo.findings} findings`,
                `log in as ${demo.username}${demo.password ? ` with the password (shown only now): ${demo.password}` : ''}`,
              ].join('\n'),
            };
          } finally {
            await jobs.stop();
          }
        }),
      ),
    );

  const auditLog = program.command('audit-log').description('check the tamper-evident audit log').addHelpText('after', EXIT_CODES);
  auditLog
    .command('verify')
    .description('check every chain (or one organization\'s) entry by entry; names the first broken entry and exits 1')
    .option('--organization <id>', 'only this organization\'s chain')
    .action(
      action(program, (options: { organization?: string }) =>
        withContext(async ({ db, signingSecret }) => {
          const results = await verifyAuditLog(db, signingSecret, options.organization);
          const broken = results.find((result) => result.broken);
          if (broken?.broken) {
            throw new CliError(
              EXIT.refused,
              `the audit log of ${broken.chain || 'no organization'} is broken at entry ${broken.broken.id} (sequence ${broken.broken.sequence}): ${broken.broken.problem}`,
              'audit_log_broken',
            );
          }
          const entries = results.reduce((sum, result) => sum + result.entries, 0);
          return { json: { chains: results.length, entries, valid: true }, text: `the audit log holds: ${entries} entries in ${results.length} chains verified` };
        }),
      ),
    );

  const license = program.command('license').description('issue licences for self-hosted installations (FOURFOLD_LICENSE)');
  license
    .command('keygen')
    .description('print a new Ed25519 key pair (PEM): keep the private key secret, configure the public one as FOURFOLD_LICENSE_PUBLIC_KEY')
    .action(
      action(program, async () => {
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        const pair = { private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
        return { json: pair, text: `${pair.private_key}${pair.public_key}` };
      }),
    );
  license
    .command('issue')
    .description('sign a licence with the Ed25519 private key; prints the FOURFOLD_LICENSE value')
    .requiredOption('--private-key <file>', 'the Ed25519 private key (PEM file)')
    .addOption(new Option('--plan <plan>', 'the plan it gives').choices([...PLANS]).makeOptionMandatory())
    .requiredOption('--expires <date>', 'when it ends (RFC 3339 date or time)')
    .option('--licensee <name>', 'who it is for', '')
    .option('--limit <name=value...>', 'a limit replacing the plan\'s (connected_accounts, rotations_per_month; "none" for no limit)')
    .action(
      action(program, async (options: { privateKey: string; plan: Plan; expires: string; licensee: string; limit?: string[] }) => {
        const expiresAt = new Date(options.expires);
        if (Number.isNaN(expiresAt.getTime())) throw new CliError(EXIT.usage, `--expires "${options.expires}" is not a date`);
        const limits: Partial<Record<PlanLimit, number | null>> = {};
        for (const item of options.limit ?? []) {
          const [name, value] = item.split('=');
          if (!(PLAN_LIMITS as readonly string[]).includes(name ?? '') || !/^(none|\d+)$/.test(value ?? '')) {
            throw new CliError(EXIT.usage, `--limit ${item}: give <${PLAN_LIMITS.join('|')}>=<number|none>`);
          }
          limits[name as PlanLimit] = value === 'none' ? null : Number(value);
        }
        let privateKey: string;
        try {
          privateKey = readFileSync(options.privateKey, 'utf8');
        } catch {
          throw new CliError(EXIT.usage, `cannot read the private key ${options.privateKey}`);
        }
        let token: string;
        try {
          token = issueLicense(privateKey, { plan: options.plan, expiresAt, limits, licensee: options.licensee });
        } catch (error) {
          if (error instanceof LicenseError) throw new CliError(EXIT.usage, `the licence ${error.message}`);
          throw error;
        }
        return { json: { license: token, plan: options.plan, expires_at: expiresAt.toISOString(), limits }, text: token };
      }),
    );

  return program;
}
