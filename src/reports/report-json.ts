import type { ComplianceEvidence, ExecutiveSummary, RemediationPlan } from './report-content';

type Write = (chunk: string) => Promise<void>;

/** `{...fields` without its closing brace, so that streamed members can follow. */
function openObject(fields: object): string {
  return JSON.stringify(fields).slice(0, -1);
}

async function writeArray<T>(write: Write, pages: AsyncIterable<T[]>): Promise<void> {
  await write('[');
  let first = true;
  for await (const page of pages) {
    for (const item of page) {
      await write((first ? '' : ',') + JSON.stringify(item));
      first = false;
    }
  }
  await write(']');
}

export async function writeExecutiveSummaryJson(report: ExecutiveSummary, write: Write): Promise<void> {
  await write(JSON.stringify(report));
}

/** Streams the plan: each group's resources are read and written a page at a time. */
export async function writeRemediationPlanJson(report: RemediationPlan, write: Write): Promise<void> {
  const { groups, resourcesOf: _resourcesOf, ...head } = report;
  await write(openObject(head) + ',"groups":[');
  for (const [i, group] of groups.entries()) {
    await write((i === 0 ? '' : ',') + openObject(group) + ',"resources":');
    await writeArray(write, report.resourcesOf(group));
    await write('}');
  }
  await write(']}');
}

export async function writeComplianceEvidenceJson(report: ComplianceEvidence, write: Write): Promise<void> {
  const { rules, failingOf: _failingOf, passingOf: _passingOf, ...head } = report;
  await write(openObject(head) + ',"rules":[');
  for (const [i, rule] of rules.entries()) {
    await write((i === 0 ? '' : ',') + openObject(rule) + ',"failing_resources":');
    await writeArray(write, report.failingOf(rule));
    await write(',"passing_resources":');
    await writeArray(write, report.passingOf(rule));
    await write('}');
  }
  await write(']}');
}
