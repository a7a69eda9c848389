import express from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { authRoutes } from './auth/auth.routes';
import type { TokenSettings } from './auth/login-tokens';
import type { Config } from './config';
import type { Db } from './db/database';
import { docsRoutes } from './docs/docs.routes';
import { identifyCaller, requireCredentials, requireScopes } from './http/authenticate';
import { errorHandler } from './http/error-handler';
import { loadOpenApiDocument } from './http/openapi-document';
import { oauthAdminRoutes } from './oauth/oauth-admin.handlers';
import { oauthFormParser, oauthRoutes } from './oauth/oauth.routes';
import { OperationIndex } from './http/operations';
import { rateLimitPerCaller } from './http/rate-limit';
import { requestLogger } from './http/request-logger';
import { requireKnownOperation, resolveOperation } from './http/resolve-operation';
import './http/locals';
import { systemRoutes } from './system/system.routes';

export interface AppDeps {
  config: Readonly<Config>;
  db: Db;
  logger: Logger;
  /** The JWT signing secret (see `resolveSigningSecret`). */
  signingSecret: string;
}

/** Builds the HTTP application without listening. */
export function createApp({ config, db, logger, signingSecret }: AppDeps): express.Express {
  const { document } = loadOpenApiDocument();
  const tokens: TokenSettings = { ...config.jwt, secret: signingSecret };
  const app = express();
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');

  app.use(requestLogger(logger));
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    }),
  );
  app.use(resolveOperation(new OperationIndex(document)));
  app.use(identifyCaller(db, tokens));
  app.use(rateLimitPerCaller(config.rateLimitPerMinute));
  app.use(requireKnownOperation);
  app.use(requireCredentials);
  app.use(requireScopes);
  app.use(express.json({ limit: config.bodyLimitBytes }));
  app.use('/oauth', oauthFormParser(config.bodyLimitBytes));
  app.use(
    OpenApiValidator.middleware({
      // The validator rewrites the document it is given; the served copy stays untouched.
      apiSpec: structuredClone(document) as never,
      validateRequests: { allowUnknownQueryParameters: false, allErrors: true },
      validateResponses: config.validateResponses ? { allErrors: true } : false,
      validateSecurity: false,
      validateFormats: true,
    }),
  );

  app.use(systemRoutes(db));
  app.use(docsRoutes());
  app.use(authRoutes(db, tokens));
  app.use(oauthRoutes(db, tokens));
  app.use(oauthAdminRoutes(db));

  app.use(errorHandler);
  return app;
}
