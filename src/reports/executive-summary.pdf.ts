import { DIMENSIONS, SEVERITIES } from '../rules/rule-definition';
import { COLORS, humanize, money, SEVERITY_COLORS } from './pdf-layout';
import type { ExecutiveSummary } from './report-content';
import { filterText, layoutFor, NOTE_STYLE, provenanceSection, render, resources, titleFacts, type Write } from './report-pdf';

const SHORT_FRAMEWORK_NAMES: Record<string, string> = {
  cis_aws_foundations: 'CIS AWS',
  aws_fsbp: 'AWS FSBP',
  cis_azure_foundations: 'CIS Azure',
  cis_gcp_foundations: 'CIS GCP',
  soc2: 'SOC 2',
  pci_dss: 'PCI DSS',
};
const SEVERITIES_DOWN = [...SEVERITIES].reverse();

const TEXT = { caption: 9, figure: 20 } as const;

/** Offsets are from the card's top. */
const SCORE_CARD = {
  gap: 10,
  marginTop: 4,
  height: 122,
  cornerRadius: 6,
  labelTop: 10,
  scoreTop: 50,
  gaugeBaseline: 70,
  gaugeRadius: 36,
  changeTop: 92,
  followingTop: 140,
} as const;

const SCORE_BANDS = { good: 80, fair: 60 } as const;

/** Offsets are from the box's top. */
const SAVING_BOX = {
  marginTop: 4,
  height: 56,
  cornerRadius: 6,
  padding: 16,
  labelTop: 10,
  amountTop: 24,
  noteLeft: 200,
  noteTop: 22,
  followingTop: 70,
} as const;

const TOP_RISK = {
  minHeight: 90,
  indent: 32,
  rankWidth: 28,
  rankRaise: 2,
  pillGap: 3,
  noteGap: 6,
  noteDrop: 2,
  summaryTop: 18,
  spaceAfter: 14,
} as const;

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
    const cardWidth = (layout.width - (DIMENSIONS.length - 1) * SCORE_CARD.gap) / DIMENSIONS.length;
    const top = doc.y + SCORE_CARD.marginTop;
    report.dimensions.forEach((d, i) => {
      const x = layout.left + i * (cardWidth + SCORE_CARD.gap);
      doc.roundedRect(x, top, cardWidth, SCORE_CARD.height, SCORE_CARD.cornerRadius).lineWidth(0.8).strokeColor(COLORS.faint).stroke();
      layout.gauge(x + cardWidth / 2, top + SCORE_CARD.gaugeBaseline, SCORE_CARD.gaugeRadius, d.score, scoreColor(d.score));
      doc.font('bold').fontSize(TEXT.caption).fillColor(COLORS.muted).text(humanize(d.dimension).toUpperCase(), x, top + SCORE_CARD.labelTop, { width: cardWidth, align: 'center', characterSpacing: 0.5 });
      doc.font('bold').fontSize(TEXT.figure).fillColor(COLORS.ink).text(d.score === null ? '–' : String(d.score), x, top + SCORE_CARD.scoreTop, { width: cardWidth, align: 'center' });
      const change = d.change === null ? (d.previous_score === null ? 'no earlier score' : 'not scored now') : d.change === 0 ? '= no change' : d.change > 0 ? `▲ +${d.change} points` : `▼ ${d.change} points`;
      const changeColor = d.change === null || d.change === 0 ? COLORS.muted : d.change > 0 ? COLORS.good : COLORS.bad;
      doc.font('body').fontSize(8.5).fillColor(changeColor).text(change, x, top + SCORE_CARD.changeTop, { width: cardWidth, align: 'center' });
    });
    doc.y = top + SCORE_CARD.followingTop;

    layout.heading('Findings by severity');
    layout.bars(SEVERITIES_DOWN.map((s) => ({ label: humanize(s), segments: [{ value: report.findings.by_severity[s], color: SEVERITY_COLORS[s]! }] })));
    layout.heading('Findings by dimension');
    layout.bars(
      DIMENSIONS.map((d) => ({ label: humanize(d), segments: SEVERITIES_DOWN.map((s) => ({ value: report.findings.by_dimension[d][s], color: SEVERITY_COLORS[s]! })) })),
    );
    layout.legend(SEVERITIES_DOWN.map((s) => ({ label: humanize(s), color: SEVERITY_COLORS[s]! })));

    layout.ensureSpace(SAVING_BOX.marginTop + SAVING_BOX.height);
    const boxTop = doc.y + SAVING_BOX.marginTop;
    doc.roundedRect(layout.left, boxTop, layout.width, SAVING_BOX.height, SAVING_BOX.cornerRadius).fill(COLORS.accentTint);
    doc.font('body').fontSize(TEXT.caption).fillColor(COLORS.accent).text('ESTIMATED MONTHLY SAVING', layout.left + SAVING_BOX.padding, boxTop + SAVING_BOX.labelTop, { characterSpacing: 0.5 });
    doc.font('bold').fontSize(TEXT.figure).fillColor(COLORS.ink).text(money(report.cost.monthly_savings_usd), layout.left + SAVING_BOX.padding, boxTop + SAVING_BOX.amountTop, { lineBreak: false });
    doc.font('body').fontSize(TEXT.caption).fillColor(COLORS.muted).text(
      `from ${report.cost.findings.toLocaleString('en-US')} cost ${report.cost.findings === 1 ? 'finding' : 'findings'} (idle, oversized or unattached resources), ${money(report.cost.monthly_savings_usd * 12)} a year.`,
      layout.left + SAVING_BOX.noteLeft, boxTop + SAVING_BOX.noteTop, { width: layout.width - SAVING_BOX.noteLeft - SAVING_BOX.padding },
    );
    doc.y = boxTop + SAVING_BOX.followingTop;

    layout.section('Top risks');
    if (report.top_risks.length === 0) layout.paragraph('No failing checks: nothing to single out.');
    report.top_risks.forEach((risk, i) => {
      layout.ensureSpace(TOP_RISK.minHeight);
      const y = doc.y;
      const x = layout.left + TOP_RISK.indent;
      const width = layout.width - TOP_RISK.indent;
      doc.font('bold').fontSize(22).fillColor(COLORS.faint).text(String(i + 1), layout.left, y - TOP_RISK.rankRaise, { width: TOP_RISK.rankWidth });
      doc.font('bold').fontSize(11).fillColor(COLORS.ink).text(risk.title, x, y, { width });
      const pillY = doc.y + TOP_RISK.pillGap;
      const pillWidth = layout.pill(risk.severity, SEVERITY_COLORS[risk.severity]!, x, pillY);
      doc.font('body').fontSize(8).fillColor(COLORS.muted).text(`${humanize(risk.dimension)} · ${resources(risk.affected_resources)} · ${risk.rule_id}`, x + TOP_RISK.noteGap + pillWidth, pillY + TOP_RISK.noteDrop, { lineBreak: false });
      doc.y = pillY + TOP_RISK.summaryTop;
      doc.font('body').fontSize(9.5).fillColor(COLORS.ink).text(risk.summary, x, doc.y, { width, lineGap: 2 });
      doc.y += TOP_RISK.spaceAfter;
    });

    layout.section('Compliance posture');
    layout.paragraph('Each framework\'s controls as of the audit: passed, failed, or not evaluated (no resource the control\'s rules apply to). Score = passed ÷ (passed + failed).', NOTE_STYLE);
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

function scoreColor(score: number | null): string {
  if (score === null) return COLORS.muted;
  return score >= SCORE_BANDS.good ? COLORS.good : score >= SCORE_BANDS.fair ? COLORS.warn : COLORS.bad;
}
