// Type-checked by scripts/check-clients.sh against the client @hey-api/openapi-ts generates from the spec.
import { client } from './generated/client.gen';
import { downloadReport, listFindings } from './generated/sdk.gen';

export async function flow(baseUrl: string, token: string, reportId: string): Promise<[string, Blob]> {
  client.setConfig({ baseUrl, auth: () => token });

  const findings = await listFindings({ query: { limit: 10 }, throwOnError: true });
  const severity: 'critical' | 'high' | 'medium' | 'low' | 'info' = findings.data.data[0].severity;
  // An `allOf` envelope typed `data` as `unknown[] & Finding[]`: indexing it worked, iterating gave `unknown`.
  const severities: string[] = findings.data.data.map((finding) => finding.severity);
  for (const finding of findings.data.data) severities.push(finding.id);

  // hey-api types a response by its JSON media type alone, so the PDF's type is not the
  // generated one: the client parses it as a Blob at run time (parseAs), and that is checked.
  const pdf = await downloadReport({ path: { id: reportId }, headers: { Accept: 'application/pdf' }, parseAs: 'blob', throwOnError: true });
  const bytes: unknown = pdf.data;
  if (!(bytes instanceof Blob)) throw new Error('the PDF did not arrive as bytes');
  return [severity, bytes];
}
