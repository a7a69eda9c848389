// Type-checked by scripts/check-clients.sh against the client orval generates from the spec.
import { baseUrl as connection } from './fetcher';
import { downloadReport, listFindings } from './generated/fourfold';

export async function flow(baseUrl: string, token: string, reportId: string): Promise<[string, Blob]> {
  Object.assign(connection, { current: baseUrl, token });

  const findings = await listFindings({ limit: 10 });
  if (findings.status !== 200) throw new Error(findings.data.error.code);
  const severity: 'critical' | 'high' | 'medium' | 'low' | 'info' = findings.data.data[0].severity;

  const pdf = await downloadReport(reportId, { headers: { Accept: 'application/pdf' } });
  if (pdf.status !== 200 || !(pdf.data instanceof Blob)) throw new Error('the PDF did not arrive as bytes');
  return [severity, pdf.data];
}
