import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DIMENSIONS, SEVERITIES } from '../rules/rule-definition';
import { COLORS, humanize, money, PdfLayout, SEVERITY_COLORS, STATUS_COLORS, type Cell } from './pdf-layout';
import { PRIORITY_FORMULA, type ComplianceEvidence, type FailingResource, type ReportedResource, type ExecutiveSummary, type RemediationPlan, type ReportHeader } from './report-content';

type Write = (chunk: Buffer) => Promise<void>;

/**
 * How many resources a PDF lists per work item or rule: it is read by people, so beyond these it
 * says how many more there are, and the JSON form of the same report lists every one.
 */
export const PDF_LISTED_RESOURCES = { affected: 100, failing: 100, passing: 50 } as const;

const SHORT_FRAMEWORK_NAMES: Record<string, string> = { cis_aws_foundations: 'CIS AWS', soc2: 'SOC 2', pci_dss: 'PCI DSS' };
const SEVERITIES_DOWN = [...SEVERITIES].reverse();
const TITLES = { executive_summary: 'Executive summary', remediation_plan: 'Remediation plan', compliance_evidence: 'Compliance evidence' } as const;

function layoutFor(report: ReportHeader & { report_type: keyof typeof TITLES }, subject: string): PdfLayout {
  const { provenance } = report;
  return new PdfLayout({
    title: TITLES[report.report_type],
    subject,
    organization: report.organization.name,
    footer: `Audit ${provenance.audit_id} · rule catalogue ${provenance.catalogue_version ?? 'unknown'}`,
  });
}

/** Streams the document's bytes to `write` while `draw` lays it out. */
async function render(layout: PdfLayout, write: Write, draw: () => Promise<void>): Promise<void> {
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

function titleFacts(report: ReportHeader): [string, string][] {
  const { provenance, filters } = report;
  const facts: [string, string][] = [
    ['Audit', `${provenance.audit_id}, finished ${formatDate(provenance.audit_finished_at)}`],
    ['Coverage', `${provenance.coverage.resources_evaluated.toLocaleString('en-US')} resources, ${provenance.coverage.rules_evaluated} rules`],
    ['Prepared', formatDate(report.generated_at)],
  ];
  const scope = filterText(report);
  if (scope) facts.push(['Scope', scope]);
  void filters;
  return facts;
}

function filterText({ filters }: ReportHeader): string | null {
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

function provenanceSection(layout: PdfLayout, report: ReportHeader, extra: [string, string][] = []): void {
  const { provenance } = report;
  layout.section('About this report');
  layout.paragraph(
    'Every figure in this report comes from one audit: the rules, at the versions named here, evaluated over the resources it covered. The JSON form of this report carries the same data for tools.',
    { color: COLORS.muted, size: 9 },
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

export async function writeExecutiveSummaryPdf(report: ExecutiveSummary, write: Write): Promise<void> {
  const layout = layoutFor(report, 'Scores, risks, savings and compliance posture');
  await render(layout, write, async () => {
    const { doc } = layout;
    layout.titlePage({ kind: 'Executive summary', headline: 'Where the cloud estate stands: scores, the risks that matter, savings and compliance.', facts: titleFacts(report) });
    layout.reserveContents(4);

    layout.section('At a glance');
    layout.paragraph(
      `The audit found ${report.findings.total.toLocaleString('en-US')} failing checks${filterText(report) ? ` (${filterText(report)})` : ''}. ` +
        `Scores run from 0 to 100 per dimension; 100 means no weighted check failed.` +
        (report.previous_audit_id ? ` Changes compare with the previous audit, ${report.previous_audit_id}.` : ' This is the first audit to compare with.'),
    );
    const cardWidth = (layout.width - 30) / 4;
    const top = doc.y + 4;
    report.dimensions.forEach((d, i) => {
      const x = layout.left + i * (cardWidth + 10);
      doc.roundedRect(x, top, cardWidth, 122, 6).lineWidth(0.8).strokeColor(COLORS.faint).stroke();
      const color = d.score === null ? COLORS.muted : d.score >= 80 ? COLORS.good : d.score >= 60 ? COLORS.warn : COLORS.bad;
      layout.gauge(x + cardWidth / 2, top + 70, 36, d.score, color);
      doc.font('bold').fontSize(9).fillColor(COLORS.muted).text(humanize(d.dimension).toUpperCase(), x, top + 10, { width: cardWidth, align: 'center', characterSpacing: 0.5 });
      doc.font('bold').fontSize(20).fillColor(COLORS.ink).text(d.score === null ? '–' : String(d.score), x, top + 50, { width: cardWidth, align: 'center' });
      const change = d.change === null ? (d.previous_score === null ? 'no earlier score' : 'not scored now') : d.change === 0 ? '= no change' : d.change > 0 ? `▲ +${d.change} points` : `▼ ${d.change} points`;
      const changeColor = d.change === null || d.change === 0 ? COLORS.muted : d.change > 0 ? COLORS.good : COLORS.bad;
      doc.font('body').fontSize(8.5).fillColor(changeColor).text(change, x, top + 92, { width: cardWidth, align: 'center' });
    });
    doc.y = top + 140;

    layout.heading('Findings by severity');
    layout.bars(SEVERITIES_DOWN.map((s) => ({ label: humanize(s), segments: [{ value: report.findings.by_severity[s], color: SEVERITY_COLORS[s]! }] })));
    layout.heading('Findings by dimension');
    layout.bars(
      DIMENSIONS.map((d) => ({ label: humanize(d), segments: SEVERITIES_DOWN.map((s) => ({ value: report.findings.by_dimension[d][s], color: SEVERITY_COLORS[s]! })) })),
    );
    layout.legend(SEVERITIES_DOWN.map((s) => ({ label: humanize(s), color: SEVERITY_COLORS[s]! })));

    layout.ensureSpace(60);
    const boxTop = doc.y + 4;
    doc.roundedRect(layout.left, boxTop, layout.width, 56, 6).fill('#ECFDF5');
    doc.font('body').fontSize(9).fillColor(COLORS.accent).text('ESTIMATED MONTHLY SAVING', layout.left + 16, boxTop + 10, { characterSpacing: 0.5 });
    doc.font('bold').fontSize(20).fillColor(COLORS.ink).text(money(report.cost.monthly_savings_usd), layout.left + 16, boxTop + 24, { lineBreak: false });
    doc.font('body').fontSize(9).fillColor(COLORS.muted).text(
      `from ${report.cost.findings.toLocaleString('en-US')} cost ${report.cost.findings === 1 ? 'finding' : 'findings'} (idle, oversized or unattached resources), ${money(report.cost.monthly_savings_usd * 12)} a year.`,
      layout.left + 200, boxTop + 22, { width: layout.width - 216 },
    );
    doc.y = boxTop + 70;

    layout.section('Top risks');
    if (report.top_risks.length === 0) layout.paragraph('No failing checks: nothing to single out.');
    report.top_risks.forEach((risk, i) => {
      layout.ensureSpace(90);
      const y = doc.y;
      doc.font('bold').fontSize(22).fillColor(COLORS.faint).text(String(i + 1), layout.left, y - 2, { width: 28 });
      doc.font('bold').fontSize(11).fillColor(COLORS.ink).text(risk.title, layout.left + 32, y, { width: layout.width - 32 });
      const pillY = doc.y + 3;
      const w = layout.pill(risk.severity, SEVERITY_COLORS[risk.severity]!, layout.left + 32, pillY);
      doc.font('body').fontSize(8).fillColor(COLORS.muted).text(`${humanize(risk.dimension)} · ${resources(risk.affected_resources)} · ${risk.rule_id}`, layout.left + 38 + w, pillY + 2, { lineBreak: false });
      doc.y = pillY + 18;
      doc.font('body').fontSize(9.5).fillColor(COLORS.ink).text(risk.summary, layout.left + 32, doc.y, { width: layout.width - 32, lineGap: 2 });
      doc.y += 14;
    });

    layout.section('Compliance posture');
    layout.paragraph('Each framework\'s controls as of the audit: passed, failed, or not evaluated (no resource the control\'s rules apply to). Score = passed ÷ (passed + failed).', { size: 9, color: COLORS.muted });
    layout.bars(
      report.compliance.map((f) => ({
        label: SHORT_FRAMEWORK_NAMES[f.framework_id] ?? f.name,
        segments: [
          { value: f.passed, color: COLORS.good },
          { value: f.failed, color: COLORS.bad },
          { value: f.not_evaluated, color: '#D1D5DB' },
        ],
        note: f.score === null ? 'no score' : `${f.score}%`,
      })),
    );
    layout.legend([
      { label: 'Passed', color: COLORS.good },
      { label: 'Failed', color: COLORS.bad },
      { label: 'Not evaluated', color: '#D1D5DB' },
    ]);
    await layout.table(
      [
        { header: 'Framework', width: 3 },
        { header: 'Score', width: 1, align: 'right' },
        { header: 'Passed', width: 1, align: 'right' },
        { header: 'Failed', width: 1, align: 'right' },
        { header: 'Not evaluated', width: 1.3, align: 'right' },
        { header: 'Coverage', width: 1.1, align: 'right' },
      ],
      [report.compliance.map((f) => [f.name, f.score === null ? '–' : `${f.score}%`, String(f.passed), String(f.failed), String(f.not_evaluated), f.coverage === null ? '–' : `${f.coverage}%`])],
    );

    provenanceSection(layout, report, [['Previous audit', report.previous_audit_id ?? 'none']]);
  });
}

export async function writeRemediationPlanPdf(report: RemediationPlan, accounts: AccountNames, write: Write): Promise<void> {
  const layout = layoutFor(report, 'The work, grouped by rule, most urgent first');
  await render(layout, write, async () => {
    const { doc } = layout;
    layout.titlePage({ kind: 'Remediation plan', headline: 'The fixes, grouped by rule and ordered by severity, reach and cost, with the steps and Terraform to apply.', facts: titleFacts(report) });
    layout.reserveContents(report.groups.length + (report.groups.length > 0 ? 3 : 2));

    layout.section('Overview');
    layout.facts([
      ['Work items (rules)', report.totals.groups.toLocaleString('en-US')],
      ['Findings to fix', report.totals.findings.toLocaleString('en-US')],
      ['Monthly cost at stake', money(report.totals.monthly_cost_usd)],
      ['Order', PRIORITY_FORMULA],
    ]);
    await layout.table(
      [
        { header: '#', width: 0.5, align: 'right' },
        { header: 'Work item', width: 5 },
        { header: 'Severity', width: 1.3 },
        { header: 'Resources', width: 1.1, align: 'right' },
        { header: '$ / month', width: 1.3, align: 'right' },
        { header: 'Priority', width: 1.1, align: 'right' },
      ],
      [report.groups.map((g): Cell[] => [String(g.rank), g.title, { text: g.severity, pill: SEVERITY_COLORS[g.severity]! }, g.affected_resources.toLocaleString('en-US'), g.monthly_cost_usd > 0 ? money(g.monthly_cost_usd) : '–', g.priority.toLocaleString('en-US')])],
      { empty: 'Nothing to fix: the audit found no failing checks within the filters.' },
    );

    if (report.groups.length > 0) {
      layout.section('Work items');
      layout.paragraph('One item a rule, most urgent first. Each says why it matters, how to fix it, and lists every affected resource.', { size: 9, color: COLORS.muted });
    }
    for (const group of report.groups) {
      layout.section(`${group.rank}. ${group.title}`, 2);
      const y = doc.y;
      const w = layout.pill(group.severity, SEVERITY_COLORS[group.severity]!, layout.left, y);
      doc.font('body').fontSize(8.5).fillColor(COLORS.muted).text(`${humanize(group.dimension)} · ${group.rule_id}`, layout.left + w + 8, y + 2, { lineBreak: false });
      doc.y = y + 20;
      layout.facts([
        ['Affected resources', group.affected_resources.toLocaleString('en-US')],
        ['Cost at stake', group.monthly_cost_usd > 0 ? `${money(group.monthly_cost_usd)} a month` : 'none recorded'],
        ['Priority', group.priority.toLocaleString('en-US')],
      ]);
      layout.heading('Why it matters');
      layout.paragraph(group.description);
      layout.heading('How to fix it');
      layout.paragraph(group.remediation.text);
      if (group.remediation.terraform) {
        layout.heading('Terraform');
        layout.code(group.remediation.terraform);
      }
      layout.heading(`Affected resources (${group.affected_resources.toLocaleString('en-US')})`);
      await layout.table(
        [
          { header: 'Resource', width: 4.1, size: 7.5 },
          { header: 'Type', width: 2.5, size: 6.5 },
          { header: 'Account', width: 2.7, size: 6.5 },
          { header: 'Region', width: 1.5, size: 7 },
          { header: 'Status', width: 1.1, size: 7 },
          { header: '$ / month', width: 1.6, align: 'right', size: 7 },
        ],
        mapPages(report.resourcesOf(group), (r): Cell[] => [
          `${r.name ?? '(unnamed)'}\n${r.native_id}`,
          r.type,
          accountName(accounts, r.account_id),
          r.region ?? '–',
          humanize(r.finding_status),
          r.monthly_cost_usd === null ? '–' : money(r.monthly_cost_usd),
        ]),
        { limit: PDF_LISTED_RESOURCES.affected },
      );
      moreInJson(layout, group.affected_resources, PDF_LISTED_RESOURCES.affected);
    }

    provenanceSection(layout, report, [accountsFact(accounts)]);
  });
}

export async function writeComplianceEvidencePdf(report: ComplianceEvidence, accounts: AccountNames, write: Write): Promise<void> {
  const layout = layoutFor(report, `${report.framework.name}: controls, rules and resources`);
  await render(layout, write, async () => {
    const { doc } = layout;
    layout.titlePage({
      kind: 'Compliance evidence',
      headline: `${report.framework.name} ${report.framework.version}: every control, the rules behind it, and the resources that pass and fail.`,
      facts: [['Framework', `${report.framework.name} ${report.framework.version}`], ...titleFacts(report)],
    });
    const evaluated = report.rules.filter((rule) => rule.evaluated > 0 || rule.errors > 0);
    const notEvaluated = report.rules.filter((rule) => rule.evaluated === 0 && rule.errors === 0);
    layout.reserveContents(evaluated.length + (notEvaluated.length > 0 ? 5 : 4));

    layout.section('Summary');
    const { summary } = report;
    layout.paragraph(
      `As of audit ${report.provenance.audit_id}, ${summary.passed} controls passed, ${summary.failed} failed and ${summary.not_evaluated} could not be evaluated. ` +
        `Score: ${summary.score === null ? 'none (nothing evaluated)' : `${summary.score}%`} of the evaluated controls passed; coverage: ${summary.coverage === null ? '–' : `${summary.coverage}%`} of the controls were evaluated.`,
    );
    layout.bars(
      [
        { label: 'Passed', segments: [{ value: summary.passed, color: COLORS.good }] },
        { label: 'Failed', segments: [{ value: summary.failed, color: COLORS.bad }] },
        { label: 'Not evaluated', segments: [{ value: summary.not_evaluated, color: '#D1D5DB' }] },
      ],
      { max: Math.max(1, summary.passed + summary.failed + summary.not_evaluated) },
    );
    layout.paragraph(
      'How to trace a claim: each control lists the rules mapped to it; each rule\'s section lists the resources it failed on, with the finding and the evidence read from the resource, and the resources it passed on. A control fails when any of its rules failed on any resource (findings suppressed as false positives excepted).',
      { size: 9, color: COLORS.muted },
    );

    layout.section('Controls');
    await layout.table(
      [
        { header: 'Control', width: 1 },
        { header: 'Title', width: 3.8 },
        { header: 'Status', width: 1.9 },
        { header: 'Rules evaluated', width: 3.2, size: 6.5 },
        { header: 'Failing', width: 0.9, align: 'right' },
      ],
      [report.controls.map((c): Cell[] => [c.id, c.title, { text: humanize(c.status), pill: STATUS_COLORS[c.status]! }, c.rule_ids.length > 0 ? c.rule_ids.join('\n') : '(no rule maps here)', String(c.failing_resources)])],
    );

    layout.section('Evidence by rule');
    layout.paragraph('Every rule mapped to a control of the framework that the audit evaluated, once: the resources it failed on, with the finding and the values read from the resource, and the resources it passed on.', { size: 9, color: COLORS.muted });
    if (evaluated.length === 0) layout.paragraph('None: the audit evaluated no rule of the framework.');
    for (const rule of evaluated) {
      layout.section(rule.title, 2);
      const y = doc.y;
      const w = layout.pill(rule.severity, SEVERITY_COLORS[rule.severity]!, layout.left, y);
      doc.font('body').fontSize(8.5).fillColor(COLORS.muted).text(rule.rule_id, layout.left + w + 8, y + 2, { lineBreak: false });
      doc.y = y + 20;
      const controls = report.controls.filter((c) => c.rule_ids.includes(rule.rule_id)).map((c) => c.id);
      layout.facts([
        ['Controls', controls.join(', ')],
        ['Evaluated on', resources(rule.evaluated)],
        ['Failed on', resources(rule.failed)],
        ['Could not evaluate', resources(rule.errors)],
      ]);
      layout.heading('Failing resources');
      await layout.table(
        [
          { header: 'Resource', width: 3.6, size: 7.5 },
          { header: 'Account · region', width: 2.4, size: 6.5 },
          { header: 'Finding', width: 2.2, size: 6.5 },
          { header: 'Evidence', width: 3.6, font: 'mono', size: 6.5 },
        ],
        mapPages(rule.failed > 0 ? report.failingOf(rule) : empty<FailingResource>(), (r): Cell[] => [
          `${r.name ?? '(unnamed)'}\n${r.native_id}`,
          `${accountName(accounts, r.account_id)}\n${r.region ?? '–'}`,
          `${r.finding_id}\n${humanize(r.finding_status)}`,
          r.evidence.length === 0 ? '–' : r.evidence.map((e) => `${e.path} = ${truncate(JSON.stringify(e.value) ?? 'null', 160)}`).join('\n'),
        ]),
        { empty: 'None: the rule failed on no resource.', limit: PDF_LISTED_RESOURCES.failing },
      );
      moreInJson(layout, rule.failed, PDF_LISTED_RESOURCES.failing);
      layout.heading('Passing resources');
      await layout.table(
        [
          { header: 'Resource', width: 4.6, size: 7.5 },
          { header: 'Type', width: 2.5, size: 6.5 },
          { header: 'Account', width: 2.7, size: 6.5 },
          { header: 'Region', width: 1.5, size: 7 },
        ],
        mapPages(rule.evaluated > rule.failed ? report.passingOf(rule) : empty<ReportedResource>(), (r): Cell[] => [`${r.name ?? '(unnamed)'}\n${r.native_id}`, r.type, accountName(accounts, r.account_id), r.region ?? '–']),
        { empty: rule.evaluated === 0 ? 'None: the audit evaluated the rule on no resource.' : 'None: the rule failed on every resource it was evaluated on.', limit: PDF_LISTED_RESOURCES.passing },
      );
      moreInJson(layout, rule.evaluated - rule.failed, PDF_LISTED_RESOURCES.passing);
    }

    if (notEvaluated.length > 0) {
      layout.section('Rules not evaluated in this audit', 2);
      layout.paragraph('The audit covered no resource these rules apply to (none of their resource types), so they neither passed nor failed; the controls they map to count as not evaluated unless another rule was.', { size: 9, color: COLORS.muted });
      await layout.table(
        [
          { header: 'Rule', width: 4, font: 'mono', size: 6.5 },
          { header: 'Title', width: 5.5 },
          { header: 'Controls', width: 2 },
        ],
        [notEvaluated.map((rule): Cell[] => [rule.rule_id, rule.title, report.controls.filter((c) => c.rule_ids.includes(rule.rule_id)).map((c) => c.id).join(', ')])],
      );
    }

    provenanceSection(layout, report, [['Framework', `${report.framework.name} ${report.framework.version} (${report.framework.id})`], accountsFact(accounts)]);
  });
}

type AccountNames = ReadonlyMap<string, string>;

/** The account's name; its id when the account is gone (the About section pairs names with ids). */
function accountName(accounts: AccountNames, id: string): string {
  return accounts.get(id) ?? id;
}

function accountsFact(accounts: AccountNames): [string, string] {
  return ['Accounts', accounts.size === 0 ? 'none' : [...accounts].map(([id, name]) => `${name} (${id})`).join(', ')];
}

function moreInJson(layout: PdfLayout, total: number, listed: number): void {
  if (total <= listed) return;
  layout.paragraph(
    `Listed: the first ${listed.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}. The JSON form of this report (same audit, format json) lists all ${total.toLocaleString('en-US')}.`,
    { size: 8.5, color: COLORS.muted },
  );
}

async function* mapPages<T, U>(pages: AsyncIterable<T[]>, map: (item: T) => U): AsyncIterable<U[]> {
  for await (const page of pages) yield page.map(map);
}

async function* empty<T>(): AsyncIterable<T[]> {}

function resources(count: number): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? 'resource' : 'resources'}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
