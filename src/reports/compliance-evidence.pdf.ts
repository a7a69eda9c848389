import { COLORS, humanize, STATUS_COLORS, type Cell } from './pdf-layout';
import type { ComplianceEvidence, FailingResource, ReportedResource } from './report-content';
import { accountName, accountsFact, layoutFor, mapPages, moreInJson, NOTE_STYLE, PDF_LISTED_RESOURCES, provenanceSection, render, resources, severityLine, titleFacts, type AccountNames, type Write } from './report-pdf';

const EVIDENCE_VALUE_MAX_CHARS = 160;

export async function writeComplianceEvidencePdf(report: ComplianceEvidence, accounts: AccountNames, write: Write): Promise<void> {
  const layout = layoutFor(report, `${report.framework.name}: controls, rules and resources`);
  await render(layout, write, async () => {
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
        { label: 'Not evaluated', segments: [{ value: summary.not_evaluated, color: COLORS.neutral }] },
      ],
      { max: Math.max(1, summary.passed + summary.failed + summary.not_evaluated) },
    );
    layout.paragraph(
      'How to trace a claim: each control lists the rules mapped to it; each rule\'s section lists the resources it failed on, with the finding and the evidence read from the resource, and the resources it passed on. A control fails when any of its rules failed on any resource (findings suppressed as false positives excepted).',
      NOTE_STYLE,
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
    layout.paragraph('Every rule mapped to a control of the framework that the audit evaluated, once: the resources it failed on, with the finding and the values read from the resource, and the resources it passed on.', NOTE_STYLE);
    if (evaluated.length === 0) layout.paragraph('None: the audit evaluated no rule of the framework.');
    for (const rule of evaluated) {
      layout.section(rule.title, 2);
      severityLine(layout, rule.severity, rule.rule_id);
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
          r.evidence.length === 0 ? '–' : r.evidence.map((e) => `${e.path} = ${truncate(JSON.stringify(e.value) ?? 'null', EVIDENCE_VALUE_MAX_CHARS)}`).join('\n'),
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
      layout.paragraph('The audit covered no resource these rules apply to (none of their resource types), so they neither passed nor failed; the controls they map to count as not evaluated unless another rule was.', NOTE_STYLE);
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

async function* empty<T>(): AsyncIterable<T[]> {}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
