import { Command, Option } from 'commander';
import { rotateSigningKey } from '../auth/signing-keys';
import { generatePassword } from '../users/passwords';
import { migrateToLatest } from '../db/database';
import { AppError } from '../errors';
import { JobQueue } from '../jobs/job-queue';
import { toPlatformOrganization } from '../platform/platform.mapper';
import { changeOrganization, createOrganization, listPlatformOrganizations, setPlatformAdmin } from '../platform/platform.service';
import { resetPassword } from '../credentials/credentials.service';
import { cliLogger, withContext } from './cli-context';
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

  return program;
}
