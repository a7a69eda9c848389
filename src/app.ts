import express from 'express';
import helmet from 'helmet';
import type { Redis } from 'ioredis';
import type { OpenAPIV3_1 } from 'openapi-types';
import type { Logger } from 'pino';
import { accountHandlers } from './accounts/accounts.handlers';
import { alertHandlers } from './alerts/alerts.handlers';
import { resolveTriggersOfTriagedFindings } from './alerts/alert-runner';
import { auditLogHandlers } from './audit-log/audit-log.handlers';
import { recordStateChanges } from './audit-log/audit-log.middleware';
import { auditHandlers } from './audits/audits.handlers';
import { authHandlers } from './auth/auth.handlers';
import { complianceHandlers } from './compliance/compliance.handlers';
import { credentialHandlers } from './credentials/credentials.handlers';
import type { TokenSettings } from './auth/login-tokens';
import { authenticateLoginToken } from './auth/auth.service';
import { CredentialCache, watchCredentialChanges } from './auth/credential-cache';
import { SigningKeyring } from './auth/signing-keys';
import type { Config } from './config';
import type { Db } from './db/database';
import { deliveryHandlers } from './deliveries/deliveries.handlers';
import { wakeDeliveries } from './deliveries/deliveries.service';
import { discoveryHandlers } from './discovery/discovery.handlers';
import { secretsKeyring } from './discovery/connection-secrets';
import { eventHandlers } from './events/events.handlers';
import { docsHandlers } from './docs/docs.handlers';
import { findingHandlers } from './findings/findings.handlers';
import { chain } from './http/chain';
import { handlerTable } from './http/contract';
import { dispatchOperations } from './http/dispatch';
import { identifyCaller, requireCredentials, requireScopes, type BearerAuthenticator } from './http/authenticate';
import { errorHandler } from './http/error-handler';
import { replayIdempotentRequests } from './http/idempotency';
import { sendJson } from './http/json-response';
import { forbidStoringSecrets } from './http/no-store';
import { loadOpenApiDocument } from './http/openapi-document';
import { requestValidator, responseValidator } from './http/openapi-validation';
import { oauthAdminHandlers } from './oauth/oauth-admin.handlers';
import { oauthFormParser, oauthHandlers } from './oauth/oauth.handlers';
import { authenticateOAuthAccessToken, isOAuthAccessToken } from './oauth/oauth.service';
import { OperationIndex } from './http/operations';
import { rateLimitLogin, rateLimitPerCaller, rateLimitSignup } from './http/rate-limit';
import { postgresStores, redisStores } from './http/rate-limit-store';
import { requestLogger } from './http/request-logger';
import { rejectUnstorableInput } from './http/unstorable-input';
import { requireKnownOperation, resolveOperation } from './http/resolve-operation';
import './http/locals';
import { importHandlers, keepImportBody } from './imports/imports.handlers';
import type { JobQueue } from './jobs/job-queue';
import { memberHandlers } from './members/members.handlers';
import { organizationHandlers } from './organizations/organizations.handlers';
import { policyHandlers } from './policies/policies.handlers';
import { platformHandlers } from './platform/platform.handlers';
import { planHandlers } from './plans/plans.handlers';
import { planNotice, planInForce, requireFeature, type PlanSettings } from './plans/plans.service';
import { requirePlan } from './http/require-plan';
import type { Feature } from './plans/plan-catalogue';
import { resourceHandlers } from './resources/resources.handlers';
import { credentialLinkHandlers } from './credential-links/credential-links.handlers';
import { rotationHandlers } from './rotations/rotations.handlers';
import { rotationPolicyHandlers } from './rotation-policies/rotation-policies.handlers';
import { verifyDelays } from './rotations/rotations.service';
import { reportHandlers } from './reports/reports.handlers';
import { ruleHandlers } from './rules/rules.handlers';
import { syncHandlers } from './syncs/syncs.handlers';
import { systemHandlers } from './system/system.handlers';
import { tokenHandlers } from './tokens/tokens.handlers';
import { webhookHandlers } from './webhooks/webhooks.handlers';
import { authenticatePersonalAccessToken, PAT_PREFIX } from './tokens/tokens.service';

export interface AppDeps {
  config: Readonly<Config>;
  db: Db;
  logger: Logger;
  /** The JWT signing secret (see `resolveSigningSecret`). */
  signingSecret: string;
  /** The client for `config.redisUrl`; the rate-limit counters live there when it is given. */
  redis?: Redis;
  /** The background job queue (large imports, audits, reports). */
  jobs: JobQueue;
  /** Tests only: the spec to route by instead of the bundled one (e.g. with an operation marked heavy). */
  document?: OpenAPIV3_1.Document;
}

// Enough for every client of a busy instance; beyond it the oldest are verified again.
const CREDENTIAL_CACHE_ENTRIES = 10_000;

/** Builds the HTTP application without listening. */
export function createApp({ config, db, logger, signingSecret, redis, jobs, document = loadOpenApiDocument().document }: AppDeps): express.Express {
  const tokens: TokenSettings = {
    ...config.jwt,
    secret: signingSecret,
    keys: new SigningKeyring(db, signingSecret, config.jwt.ttlSeconds),
    platformAdmins: config.platformAdmins,
  };
  const plans: PlanSettings = { license: config.license };
  if (config.license) {
    const notice = planNotice(planInForce(undefined, plans));
    if (notice) logger.warn({ plan: 'starter', licensed_plan: config.license.plan, expired_at: config.license.expiresAt.toISOString() }, notice);
  }
  const rateLimitStores = redis ? redisStores(redis, config.redisKeyPrefix, logger, config.timeouts.redisCommandMs) : postgresStores(db, logger);
  const app = express();
  app.set('trust proxy', config.trustProxy);
  if (config.publicUrl) app.set('public origin', config.publicUrl);
  app.disable('x-powered-by');
  // Express's strong ETag hashes every body (sha1) for conditional GETs no API client makes; the
  // report downloads, which clients do revalidate, set their own.
  app.set('etag', false);
  // Large JSON bodies (list pages) encoded piece by piece: see PIECEWISE_FROM_CHARACTERS.
  app.response.json = sendJson;

  const operations = new OperationIndex(document);
  const credentials = new CredentialCache(config.credentialCacheSeconds * 1000, CREDENTIAL_CACHE_ENTRIES);
  if (config.credentialCacheSeconds > 0) {
    watchCredentialChanges(db, credentials, logger).catch((error: unknown) => logger.error({ err: error }, 'could not listen for credential changes'));
  }
  const parseJson = express.json({ limit: config.bodyLimitBytes });
  const parseLargeJson = express.json({ limit: config.importBodyLimitBytes, verify: keepImportBody });
  app.use(
    chain(
      requestLogger(logger),
      helmet({
        contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      }),
      resolveOperation(operations),
      config.validateResponses ? [responseValidator(document)] : [],
      recordStateChanges(db, signingSecret, logger),
      forbidStoringSecrets,
      identifyCaller(credentials.wrap(bearerAuthenticator(db, tokens))),
      rateLimitPerCaller(config.rateLimits, rateLimitStores, logger),
      requireKnownOperation,
      requireCredentials,
      requireScopes,
      requirePlan((organizationId, feature) => requireFeature(db, plans, organizationId, feature as Feature)),
      (req, res, next) => (res.locals.operation?.bodyLimit === 'import' ? parseLargeJson : parseJson)(req, res, next),
    ),
  );
  app.use('/oauth', oauthFormParser(config.bodyLimitBytes));

  const webhooks = { allowedHosts: config.webhookAllowedHosts, encryptionSecret: signingSecret, pagerdutyEventsUrl: config.pagerdutyEventsUrl };
  const handlers = handlerTable({
    ...systemHandlers(db),
    ...docsHandlers(),
    ...authHandlers(db, tokens),
    ...credentialHandlers(db),
    ...organizationHandlers(db, { riskAcceptanceMaxDays: config.riskAcceptanceMaxDays }),
    ...memberHandlers(db, tokens),
    ...tokenHandlers(db, { allowNoExpiry: config.patAllowNoExpiry }),
    ...accountHandlers(db),
    ...resourceHandlers(db),
    ...credentialLinkHandlers(db),
    ...importHandlers(db, { jobs, inlineMaxResources: config.importInlineMaxResources, limits: config.organizationLimits }),
    ...auditHandlers(db, jobs, config.organizationLimits),
    ...ruleHandlers(),
    ...oauthHandlers(db, tokens),
    ...oauthAdminHandlers(db),
    ...complianceHandlers(db),
    ...findingHandlers(db, {
      riskAcceptanceMaxDays: config.riskAcceptanceMaxDays,
      onTakenOutOfOpen: async (trx, organizationId, findingId, now) =>
        (await resolveTriggersOfTriagedFindings(trx, jobs, organizationId, [findingId], now)) > 0 ? () => wakeDeliveries(jobs) : undefined,
    }),
    ...policyHandlers(db),
    ...reportHandlers(db, jobs, { reportsDir: config.reportsDir, limits: config.organizationLimits }),
    ...alertHandlers(db, jobs, { emailConfigured: config.smtpUrl !== undefined, webhooks }),
    ...deliveryHandlers(db, jobs),
    ...eventHandlers(db),
    ...planHandlers(db, plans),
    ...auditLogHandlers(db),
    ...discoveryHandlers(db, jobs, {
      keyring: secretsKeyring(config.discovery, signingSecret),
      endpoints: config.discovery.endpoints,
      concurrency: config.discovery.scanConcurrency,
      limits: config.organizationLimits,
      plans,
    }),
    ...syncHandlers(db, jobs, config.organizationLimits),
    ...rotationHandlers(db, {
      keyring: secretsKeyring(config.discovery, signingSecret),
      endpoints: config.discovery.endpoints,
      plans,
      auditSecret: signingSecret,
      jobs,
      logger,
      verifyRetryDelaysMs: verifyDelays(config.discovery.rotationVerifySeconds),
      secretRotationWait: config.discovery.rotationSecretWait,
    }),
    ...rotationPolicyHandlers(db),
    ...webhookHandlers(db, webhooks),
    ...platformHandlers(db, tokens, { signupEnabled: config.signupEnabled, reportsDir: config.reportsDir, limits: config.organizationLimits }),
  });
  app.use(
    chain(
      rejectUnstorableInput,
      requestValidator(document),
      rateLimitLogin(config.rateLimits, rateLimitStores, logger),
      rateLimitSignup(config.rateLimits, rateLimitStores, logger, { enabled: config.signupEnabled }),
      replayIdempotentRequests(db, logger),
      dispatchOperations(handlers, operations),
    ),
  );

  app.use(errorHandler);
  return app;
}

/** Each kind of bearer token is verified by the feature that issues it, told apart by its prefix. */
function bearerAuthenticator(db: Db, tokens: TokenSettings): BearerAuthenticator {
  return (token, via) => {
    if (token.startsWith(PAT_PREFIX)) return authenticatePersonalAccessToken(db, token, via);
    if (isOAuthAccessToken(token)) return authenticateOAuthAccessToken(db, token, via);
    return authenticateLoginToken(db, tokens, token, via);
  };
}
