import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Severity } from '../rules/rule-definition';
import { COLORS, PdfLayout, SEVERITY_COLORS } from './pdf-layout';
import type { ReportHeader } from './report-content';

export type Write = (chunk: Buffer) => Promise<void>;

/**
 * How many resources a PDF lists per work item or rule: it is read by people, so beyond these it
 * says how many more there are, and the JSON form of the same report lists every one.
 */
export const PDF_LISTED_RESOURCES = { affected: 100, failing: 100, passing: 50 } as const;

/** The small muted paragraph that introduces or qualifies a section. */
export const NOTE_STYLE = { size: 9, color: COLORS.muted } as const;

const TITLES = { executive_summary: 'Executive summary', remediation_plan: 'Remediation plan', compliance_evidence: 'Compliance evidence' } as const;

export function layoutFor(report: ReportHeader & { report_type: keyof typeof TITLES }, subject: string): PdfLayout {
  const { provenance } = report;
  return new PdfLayout({
    title: TITLES[report.report_type],
    subject,
    organization: report.organization.name,
    footer: `Audit ${provenance.audit_id} · rule catalogue ${provenance.catalogue_version ?? 'unknown'}`,
  });
}

/** Streams the document's bytes to `write` while `draw` lays it out. */
export async function render(layout: PdfLayout, write: Write, draw: () => Promise<void>): Promise<void> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      write(chunk).then(() => callback(), callback);
    },
  });
  const written = pipeline(layout.doc, sink);
  try {
    await draw();
    layout.finish();
  } catch (error) {
    layout.doc.destroy(error as Error);
    await written.catch(() => {});
    throw error;
  }
  await written;
}

export function titleFacts(report: ReportHeader): [string, string][] {
  const { provenance } = report;
  const facts: [string, string][] = [
    ['Audit', `${provenance.audit_id}, finished ${formatDate(provenance.audit_finished_at)}`],
    ['Coverage', `${provenance.coverage.resources_evaluated.toLocaleString('en-US')} resources, ${provenance.coverage.rules_evaluated} rules`],
    ['Prepared', formatDate(report.generated_at)],
  ];
  const scope = filterText(report);
  if (scope) facts.push(['Scope', scope]);
  return facts;
}

export function filterText({ filters }: ReportHeader): string | null {
  const parts = [
    filters.dimensions.length > 0 ? `dimensions ${filters.dimensions.join(', ')}` : null,
    filters.severities.length > 0 ? `severities ${filters.severities.join(', ')}` : null,
    filters.account_ids.length > 0 ? `accounts ${filters.account_ids.join(', ')}` : null,
  ].filter((p): p is string => p !== null);
  return parts.length > 0 ? parts.join('; ') : null;
}

function formatDate(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function provenanceSection(layout: PdfLayout, report: ReportHeader, extra: [string, string][] = []): void {
  const { provenance } = report;
  layout.section('About this report');
  layout.paragraph(
    'Every figure in this report comes from one audit: the rules, at the versions named here, evaluated over the resources it covered. The JSON form of this report carries the same data for tools.',
    NOTE_STYLE,
  );
  layout.facts([
    ['Report', report.report_id],
    ['Organization', `${report.organization.name} (${report.organization.id})`],
    ['Audit', provenance.audit_id],
    ['Audit finished', formatDate(provenance.audit_finished_at)],
    ['Rule catalogue version', provenance.catalogue_version ?? 'not recorded'],
    ['Policy versions', provenance.policy_versions.length === 0 ? 'none (built-in rules only)' : provenance.policy_versions.map((p) => `${p.policy_id} v${p.version}`).join(', ')],
    ['Resources evaluated', provenance.coverage.resources_evaluated.toLocaleString('en-US')],
    ['Rules evaluated', String(provenance.coverage.rules_evaluated)],
    ['Evaluations', `${provenance.coverage.evaluations.toLocaleString('en-US')} (${provenance.coverage.evaluation_errors} could not be evaluated)`],
    ['Filters', filterText(report) ?? 'none: the whole audit'],
    ['Generated', formatDate(report.generated_at)],
    ...extra,
  ]);
}

const SEVERITY_LINE = { noteGap: 8, noteDrop: 2, noteSize: 8.5, height: 20 } as const;

export function severityLine(layout: PdfLayout, severity: Severity, note: string): void {
  const { doc } = layout;
  const y = doc.y;
  const pillWidth = layout.pill(severity, SEVERITY_COLORS[severity]!, layout.left, y);
  doc.font('body').fontSize(SEVERITY_LINE.noteSize).fillColor(COLORS.muted).text(note, layout.left + pillWidth + SEVERITY_LINE.noteGap, y + SEVERITY_LINE.noteDrop, { lineBreak: false });
  doc.y = y + SEVERITY_LINE.height;
}

export type AccountNames = ReadonlyMap<string, string>;

/** The account's name; its id when the account is gone (the About section pairs names with ids). */
export function accountName(accounts: AccountNames, id: string): string {
  return accounts.get(id) ?? id;
}

export function accountsFact(accounts: AccountNames): [string, string] {
  return ['Accounts', accounts.size === 0 ? 'none' : [...accounts].map(([id, name]) => `${name} (${id})`).join(', ')];
}

export function moreInJson(layout: PdfLayout, total: number, listed: number): void {
  if (total <= listed) return;
  layout.paragraph(
    `Listed: the first ${listed.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}. The JSON form of this report (same audit, format json) lists all ${total.toLocaleString('en-US')}.`,
    { size: 8.5, color: COLORS.muted },
  );
}

export async function* mapPages<T, U>(pages: AsyncIterable<T[]>, map: (item: T) => U): AsyncIterable<U[]> {
  for await (const page of pages) yield page.map(map);
}

export function resources(count: number): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? 'resource' : 'resources'}`;
}
