// Type-checked by scripts/check-clients.sh against the client orval generates from the spec.
import { baseUrl as connection } from './fetcher';
import { downloadReport, listFindings } from './generated/fourfold';

export async function flow(baseUrl: string, token: string, reportId: string): Promise<[string, Blob]> {
  Object.assign(connection, { current: baseUrl, token });

  const findings = await listFindings({ limit: 10 });
  if (findings.status !== 200) throw new Error(findings.data.error.code);
  const severity: 'critical' | 'high' | 'medium' | 'low' | 'info' = findings.data.data[0].severity;
  // An `allOf` envelope typed `data` as `unknown[] & Finding[]`: indexing it worked, iterating gave `unknown`.
  const severities: string[] = findings.data.data.map((finding) => finding.severity);
  for (const finding of findings.data.data) severities.push(finding.id);

  const pdf = await downloadReport(reportId, { headers: { Accept: 'application/pdf' } });
  if (pdf.status !== 200 || !(pdf.data instanceof Blob)) throw new Error('the PDF did not arrive as bytes');
  return [severity, pdf.data];
}
