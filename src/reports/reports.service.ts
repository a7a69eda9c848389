import type { Logger } from 'pino';
import { findAudit } from '../audits/audits.service';
import type { OrganizationLimits } from '../config';
import type { Principal } from '../http/principal';
import { findLatestSucceededAudit } from '../compliance/compliance.service';
import type { Db } from '../db/database';
import type { AuditRow, ReportFilters, ReportFormat, ReportProvenance, ReportType } from '../db/schema';
import { AppError } from '../errors';
import { newId } from '../ids';
import { findOrganizationById } from '../organizations/organizations.service';
import { QUEUES, type JobQueue } from '../jobs/job-queue';
import { assertQueuedJobQuota, assertReportStorageQuota } from '../quotas/quotas.service';
import { complianceEvidence, executiveSummary, remediationPlan, type ReportHeader } from './report-content';
import { writeComplianceEvidenceJson, writeExecutiveSummaryJson, writeRemediationPlanJson } from './report-json';
import { removeReportFile, ReportFileWriter } from './report-storage';
import {
  accountNamesOfAudit,
  completeReport,
  deleteReport,
  failReport,
  findReport,
  insertReport,
  startReportGeneration,
  type ReportRecord,
} from './reports.repository';

export interface ReportJob {
  report_id: string;
}

export interface ReportSettings {
  /** Where report files go; when absent, into the database. */
  reportsDir: string | undefined;
}

export interface ReportRequest {
  type: ReportType;
  format: ReportFormat;
  auditId: string | undefined;
  framework: string | undefined;
  filters: Partial<ReportFilters> | undefined;
}

/** Queues a report of a succeeded audit (by default the latest); the report exists exactly when its job does. */
export async function startReport(db: Db, jobs: JobQueue, principal: Principal, input: ReportRequest, limits: OrganizationLimits): Promise<ReportRecord> {
  if (input.type === 'compliance_evidence' && !input.framework) {
    throw new AppError('validation_failed', 'A compliance_evidence report needs a framework.', [{ field: 'body.framework', issue: 'required for compliance_evidence' }]);
  }
  if (input.type !== 'compliance_evidence' && input.framework) {
    throw new AppError('validation_failed', `A ${input.type} report covers every framework; framework applies only to compliance_evidence.`, [
      { field: 'body.framework', issue: 'only for compliance_evidence' },
    ]);
  }
  const filters: ReportFilters = {
    dimensions: input.filters?.dimensions ?? [],
    severities: input.filters?.severities ?? [],
    account_ids: input.filters?.account_ids ?? [],
  };
  if (input.type === 'compliance_evidence' && (filters.dimensions.length > 0 || filters.severities.length > 0 || filters.account_ids.length > 0)) {
    throw new AppError('validation_failed', 'Compliance evidence covers the whole audit; it takes no filters.', [{ field: 'body.filters', issue: 'not for compliance_evidence' }]);
  }
  const audit = await reportedAudit(db, principal.organizationId, input.auditId);
  const provenance: ReportProvenance = {
    audit_id: audit.id,
    audit_finished_at: audit.finished_at!.toISOString(),
    catalogue_version: audit.catalogue_version,
    policy_versions: audit.policy_versions,
    coverage: audit.summary?.coverage ?? { resources_evaluated: 0, rules_evaluated: 0, evaluations: 0, evaluation_errors: 0 },
  };
  await jobs.start();
  const report = await db.transaction().execute(async (trx) => {
    await assertReportStorageQuota(trx, principal.organizationId, limits);
    await assertQueuedJobQuota(trx, principal.organizationId, limits);
    const row = await insertReport(trx, {
      id: newId('rpt'),
      organization_id: principal.organizationId,
      type: input.type,
      format: input.format,
      status: 'queued',
      audit_id: audit.id,
      framework: input.framework ?? null,
      filters: JSON.stringify(filters),
      provenance: JSON.stringify(provenance),
      error_code: null,
      error_message: null,
      size_bytes: null,
      sha256: null,
      content: null,
      file_path: null,
      created_by: principal.userId,
      created_at: new Date(),
      started_at: null,
      generated_at: null,
    });
    await jobs.send(QUEUES.reports, { report_id: row.id } satisfies ReportJob, trx, principal.organizationId);
    return row;
  });
  jobs.wake(QUEUES.reports);
  return report;
}

async function reportedAudit(db: Db, organizationId: string, auditId: string | undefined): Promise<AuditRow> {
  if (auditId === undefined) {
    const latest = await findLatestSucceededAudit(db, organizationId);
    if (!latest) throw new AppError('not_found', 'This organization has no succeeded full audit to report on yet; run an audit first, or name one with audit_id.');
    auditId = latest.id;
  }
  const audit = await findAudit(db, organizationId, auditId);
  if (!audit) throw new AppError('not_found', `No audit ${auditId} in this organization.`);
  if (audit.status !== 'succeeded' || !audit.finished_at) {
    throw new AppError('audit_not_finished', `Audit ${audit.id} is ${audit.status}; reports are made only of succeeded audits.`);
  }
  return audit;
}

export async function requireReport(db: Db, principal: Principal, id: string): Promise<ReportRecord> {
  const report = await findReport(db, principal.organizationId, id);
  if (!report) throw new AppError('not_found', `No report ${id} in this organization.`);
  return report;
}

export async function removeReport(db: Db, principal: Principal, id: string, settings: ReportSettings): Promise<void> {
  const deleted = await deleteReport(db, principal.organizationId, id);
  if (!deleted) throw new AppError('not_found', `No report ${id} in this organization.`);
  await removeReportFile(settings.reportsDir, deleted.file_path);
}

/** A ready report, for download; 409 `report_not_ready` otherwise. */
export async function requireReadyReport(db: Db, principal: Principal, id: string): Promise<ReportRecord> {
  const report = await requireReport(db, principal, id);
  if (report.status !== 'ready') {
    throw new AppError(
      'report_not_ready',
      report.status === 'failed' ? `Report ${id} failed (${report.error_message ?? 'no reason recorded'}); create a new one.` : `Report ${id} is ${report.status}; poll it until it is ready.`,
    );
  }
  return report;
}

export function fileNameOf(report: Pick<ReportRecord, 'id' | 'type' | 'format'>): string {
  return `fourfold-${report.type}-${report.id}.${report.format}`;
}

/**
 * Generates a queued report: reads the audit's findings in pages and streams the file into the
 * database or the reports folder. A report that cannot be made ends `failed` with the reason,
 * at once: generation over a finished audit fails the same way on a retry.
 */
export async function generateReport(db: Db, reportId: string, settings: ReportSettings, logger: Logger): Promise<void> {
  const report = await startReportGeneration(db, reportId);
  if (!report) return;
  let file: ReportFileWriter | undefined;
  try {
    const audit = await findAudit(db, report.organization_id, report.audit_id);
    if (!audit || audit.status !== 'succeeded') throw new Error(`its audit ${report.audit_id} is no longer a succeeded audit`);
    const organization = await findOrganizationById(db, report.organization_id);
    const header: ReportHeader = {
      report_id: report.id,
      generated_at: new Date().toISOString(),
      organization: { id: report.organization_id, name: organization?.name ?? report.organization_id },
      provenance: report.provenance,
      filters: report.filters,
    };
    file = await ReportFileWriter.open(settings.reportsDir, report.organization_id, fileNameOf(report));
    const writer = file;
    const write = (chunk: Buffer | string) => writer.write(chunk);
    // The PDF writers (pdfkit and its fonts, ~18 MB resident) load at the first PDF report, not in every process that imports this service.
    const pdf = report.format === 'pdf';
    switch (report.type) {
      case 'executive_summary': {
        const content = await executiveSummary(db, header, audit);
        await (pdf ? (await import('./executive-summary.pdf.js')).writeExecutiveSummaryPdf(content, write) : writeExecutiveSummaryJson(content, write));
        break;
      }
      case 'remediation_plan': {
        const content = await remediationPlan(db, header, audit);
        await (pdf ? (await import('./remediation-plan.pdf.js')).writeRemediationPlanPdf(content, await accountNamesOfAudit(db, audit), write) : writeRemediationPlanJson(content, write));
        break;
      }
      case 'compliance_evidence': {
        const content = await complianceEvidence(db, header, audit, report.framework!);
        await (pdf ? (await import('./compliance-evidence.pdf.js')).writeComplianceEvidencePdf(content, await accountNamesOfAudit(db, audit), write) : writeComplianceEvidenceJson(content, write));
        break;
      }
    }
    const stored = await file.finish();
    if (!(await completeReport(db, report.id, stored))) await removeReportFile(settings.reportsDir, stored.filePath);
  } catch (error) {
    await file?.discard().catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    // A report deleted meanwhile (alone, or with its organization) has no one to tell.
    if (await failReport(db, report.id, 'generation_failed', `The report could not be generated: ${reason}`)) {
      logger.error({ err: error, report: report.id }, 'report generation failed');
    } else {
      logger.info({ report: report.id }, 'report deleted while it was generated');
    }
  }
}

/** Marks a report whose job ran out of attempts (its worker kept dying) as failed. */
export async function failAbandonedReport(db: Db, reportId: string): Promise<void> {
  await failReport(db, reportId, 'worker_lost', 'The report was not finished after several attempts (its worker stopped). Create it again.');
}
