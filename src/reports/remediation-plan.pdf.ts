import { humanize, money, SEVERITY_COLORS, type Cell } from './pdf-layout';
import { PRIORITY_FORMULA, type RemediationPlan } from './report-content';
import { accountName, accountsFact, layoutFor, mapPages, moreInJson, NOTE_STYLE, PDF_LISTED_RESOURCES, provenanceSection, render, severityLine, titleFacts, type AccountNames, type Write } from './report-pdf';

export async function writeRemediationPlanPdf(report: RemediationPlan, accounts: AccountNames, write: Write): Promise<void> {
  const layout = layoutFor(report, 'The work, grouped by rule, most urgent first');
  await render(layout, write, async () => {
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
      layout.paragraph('One item a rule, most urgent first. Each says why it matters, how to fix it, and lists every affected resource.', NOTE_STYLE);
    }
    for (const group of report.groups) {
      layout.section(`${group.rank}. ${group.title}`, 2);
      severityLine(layout, group.severity, `${humanize(group.dimension)} · ${group.rule_id}`);
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
