/**
 * Runs one collector in its own process and prints its result as JSON on stdout. The Azure
 * stand-in's certificate must be trusted at process start (NODE_EXTRA_CA_CERTS), so tests and the
 * benchmark run the SDK side here (and AWS too, so the benchmark measures every cloud alike). Input: COLLECTOR_INPUT = {cloud, verify?, credentials, target, endpoints, mode, changedSince}.
 */
import { setMaxListeners } from 'node:events';
import { collectAws, verifyAws } from '../../src/discovery/aws/aws-collector';
import { collectAzure, verifyAzure } from '../../src/discovery/azure/azure-collector';
import type { AwsCredentials, CloudEndpoints, CollectorContext, CollectorResult, GcpScope, PermissionCheck } from '../../src/discovery/collector';
import { collectGcp, verifyGcp } from '../../src/discovery/gcp/gcp-collector';

interface Input {
  cloud: 'aws' | 'azure' | 'gcp';
  verify?: boolean;
  credentials: never;
  target: string | GcpScope;
  endpoints: CloudEndpoints;
  mode: 'full' | 'incremental';
  changedSince: string | null;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.env.COLLECTOR_INPUT ?? '{}') as Input;
  const signal = new AbortController().signal;
  setMaxListeners(0, signal); // as the scan runner does
  const ctx: CollectorContext = {
    signal,
    mode: input.mode,
    changedSince: input.changedSince === null ? null : new Date(input.changedSince),
    endpoints: input.endpoints,
    concurrency: 8,
    progress: () => undefined,
  };
  const started = process.hrtime.bigint();
  try {
    const result = await run(input, ctx);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stdout.write(JSON.stringify({ ok: true, result, seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 }));
  } catch (error) {
    const e = error as { name?: string; code?: string; message?: string };
    process.stdout.write(JSON.stringify({ ok: false, error: { name: e.name, code: e.code, message: e.message } }));
  }
}

function run(input: Input, ctx: CollectorContext): Promise<CollectorResult | PermissionCheck[]> {
  const verify = input.verify === true;
  switch (input.cloud) {
    case 'aws': {
      const credentials = input.credentials as AwsCredentials;
      return verify ? verifyAws(credentials, ctx) : collectAws(credentials, ctx);
    }
    case 'azure':
      return verify ? verifyAzure(input.credentials, input.target as string, ctx) : collectAzure(input.credentials, input.target as string, ctx);
    case 'gcp':
      return verify ? verifyGcp(input.credentials, input.target as GcpScope, ctx) : collectGcp(input.credentials, input.target as GcpScope, ctx);
  }
}

void main();
