import { DIMENSIONS, SEVERITIES } from '../rules/rule-definition';
import { COLORS, humanize, money, SEVERITY_COLORS } from './pdf-layout';
import type { ExecutiveSummary } from './report-content';
import { filterText, layoutFor, provenanceSection, render, resources, titleFacts, type Write } from './report-pdf';

const SHORT_FRAMEWORK_NAMES: Record<string, string> = { cis_aws_foundations: 'CIS AWS', soc2: 'SOC 2', pci_dss: 'PCI DSS' };
const SEVERITIES_DOWN = [...SEVERITIES].reverse();

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
    doc.roundedRect(layout.left, boxTop, layout.width, 56, 6).fill(COLORS.accentTint);
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
          { value: f.not_evaluated, color: COLORS.neutral },
        ],
        note: f.score === null ? 'no score' : `${f.score}%`,
      })),
    );
    layout.legend([
      { label: 'Passed', color: COLORS.good },
      { label: 'Failed', color: COLORS.bad },
      { label: 'Not evaluated', color: COLORS.neutral },
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
