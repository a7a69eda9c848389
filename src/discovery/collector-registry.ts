import type { CollectorContext, CollectorResult, PermissionCheck } from './collector';
import type { ConnectionCredentials } from './connections.service';

export interface LoadedCollector {
  collect(credentials: ConnectionCredentials, ctx: CollectorContext): Promise<CollectorResult>;
  verify(credentials: ConnectionCredentials, ctx: CollectorContext): Promise<PermissionCheck[]>;
}

/**
 * Each provider's collector, imported on first use so that the API's start-up and memory do not
 * grow with the cloud SDKs. undefined: this build has no collector for the provider (the scan
 * fails `provider_not_supported`).
 */
export const COLLECTORS: Record<ConnectionCredentials['provider'], () => Promise<LoadedCollector | undefined>> = {
  aws: async () => {
    const { collectAws, verifyAws } = await import('./aws/aws-collector.js');
    return {
      collect: (c, ctx) => collectAws(only(c, 'aws').aws, ctx),
      verify: (c, ctx) => verifyAws(only(c, 'aws').aws, ctx),
    };
  },
  azure: async () => undefined,
  gcp: async () => undefined,
};

function only<P extends ConnectionCredentials['provider']>(credentials: ConnectionCredentials, provider: P): Extract<ConnectionCredentials, { provider: P }> {
  if (credentials.provider !== provider) throw new Error(`a ${credentials.provider} connection given to the ${provider} collector`);
  return credentials as Extract<ConnectionCredentials, { provider: P }>;
}
