import type { CollectorContext, CollectorResult, PermissionCheck } from './collector';
import type { ConnectionCredentials } from './connections.service';

export interface LoadedCollector {
  collect(credentials: ConnectionCredentials, ctx: CollectorContext): Promise<CollectorResult>;
  verify(credentials: ConnectionCredentials, ctx: CollectorContext): Promise<PermissionCheck[]>;
}

/**
 * Each provider's collector, imported on first use so that the API's start-up and memory do not
 * grow with the cloud SDKs.
 */
export const COLLECTORS: Record<ConnectionCredentials['provider'], () => Promise<LoadedCollector>> = {
  aws: async () => {
    const { collectAws, verifyAws } = await import('./aws/aws-collector.js');
    return {
      collect: (c, ctx) => collectAws(only(c, 'aws').aws, ctx),
      verify: (c, ctx) => verifyAws(only(c, 'aws').aws, ctx),
    };
  },
  azure: async () => {
    const { collectAzure, verifyAzure } = await import('./azure/azure-collector.js');
    return {
      collect: (c, ctx) => collectAzure(only(c, 'azure').azure, only(c, 'azure').subscriptionId, ctx),
      verify: (c, ctx) => verifyAzure(only(c, 'azure').azure, only(c, 'azure').subscriptionId, ctx),
    };
  },
  gcp: async () => {
    const { collectGcp, verifyGcp } = await import('./gcp/gcp-collector.js');
    return {
      collect: (c, ctx) => collectGcp(only(c, 'gcp').gcp, only(c, 'gcp').scope, ctx),
      verify: (c, ctx) => verifyGcp(only(c, 'gcp').gcp, only(c, 'gcp').scope, ctx),
    };
  },
};

function only<P extends ConnectionCredentials['provider']>(credentials: ConnectionCredentials, provider: P): Extract<ConnectionCredentials, { provider: P }> {
  if (credentials.provider !== provider) throw new Error(`a ${credentials.provider} connection given to the ${provider} collector`);
  return credentials as Extract<ConnectionCredentials, { provider: P }>;
}
