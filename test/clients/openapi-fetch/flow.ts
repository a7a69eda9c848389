// Type-checked by scripts/check-clients.sh against types openapi-typescript generates from the spec.
import createClient from 'openapi-fetch';
import type { paths } from './generated/schema';

export async function flow(baseUrl: string, token: string, reportId: string): Promise<[string, Uint8Array]> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

  const findings = await client.GET('/v1/findings', { params: { query: { limit: 10 } } });
  if (!findings.data) throw new Error(findings.error?.error.code);
  const severity: 'critical' | 'high' | 'medium' | 'low' | 'info' = findings.data.data[0].severity;
  // An `allOf` envelope typed `data` as `unknown[] & Finding[]`: indexing it worked, iterating gave `unknown`.
  const severities: string[] = findings.data.data.map((finding) => finding.severity);
  for (const finding of findings.data.data) severities.push(finding.id);

  const pdf = await client.GET('/v1/reports/{id}/download', {
    params: { path: { id: reportId } },
    headers: { Accept: 'application/pdf' },
    parseAs: 'arrayBuffer',
  });
  if (!pdf.data) throw new Error(pdf.error?.error.code);
  const bytes: ArrayBuffer = pdf.data;
  return [severity, new Uint8Array(bytes)];
}
