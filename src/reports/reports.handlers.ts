import { ReadStream } from 'node:fs';
import type { OrganizationLimits } from '../config';
import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import type { JobQueue } from '../jobs/job-queue';
import { openReportFile } from './report-storage';
import { toReport } from './reports.mapper';
import { listReports, reportContent, type ReportFilter } from './reports.repository';
import { fileNameOf, removeReport, requireReadyReport, requireReport, startReport, type ReportSettings } from './reports.service';

export function reportHandlers(db: Db, jobs: JobQueue, settings: ReportSettings & { limits: OrganizationLimits }): HandlerTable<'createReport' | 'listReports' | 'getReport' | 'deleteReport' | 'downloadReport'> {
  const createReport: OperationHandler<'createReport'> = async (req, res) => {
    const { body } = req;
    const report = await startReport(db, jobs, principalOf(res), {
      type: body.type,
      format: body.format,
      auditId: body.audit_id,
      framework: body.framework,
      filters: body.filters,
    }, settings.limits);
    res.status(202).location(`/v1/reports/${report.id}`).json(toReport(report));
  };

  const listReportsHandler: OperationHandler<'listReports'> = async (req, res) => {
    const { query } = req;
    const filter: ReportFilter = { type: query.type, status: query.status, auditId: query.audit_id };
    res.json(
      await paginate({
        query,
        binding: { list: 'reports', filter },
        keyKinds: ['id'],
        fetch: (before, limitPlusOne) => listReports(db, principalOf(res).organizationId, filter, limitPlusOne, before?.[0]),
        keysOf: (row) => [row.id],
        toItem: toReport,
      }),
    );
  };

  const getReport: OperationHandler<'getReport'> = async (req, res) => {
    res.json(toReport(await requireReport(db, principalOf(res), req.params.id)));
  };

  const deleteReportHandler: OperationHandler<'deleteReport'> = async (req, res) => {
    await removeReport(db, principalOf(res), req.params.id, settings);
    res.status(204).end();
  };

  const downloadReport: OperationHandler<'downloadReport'> = async (req, res) => {
    const principal = principalOf(res);
    const report = await requireReadyReport(db, principal, req.params.id);
    const etag = `"${report.sha256}"`;
    if (namesETag(req.headers['if-none-match'], etag)) {
      res.status(304).setHeader('ETag', etag).end();
      return;
    }
    let file: Buffer | ReadStream | null;
    if (report.file_path) {
      if (!settings.reportsDir) throw new Error(`report ${report.id} is kept in a reports folder, but REPORTS_DIR is not set`);
      // Opened before the headers are set, so that a missing file answers a plain 500.
      file = await openReportFile(settings.reportsDir, report.file_path);
    } else {
      file = await reportContent(db, principal.organizationId, report.id);
    }
    res.status(200);
    res.setHeader('Content-Type', report.format === 'pdf' ? 'application/pdf' : 'application/json; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${fileNameOf(report)}"`);
    res.setHeader('Content-Length', String(report.size_bytes));
    res.setHeader('ETag', etag);
    if (!(file instanceof ReadStream)) {
      res.end(file);
      return;
    }
    const stream = file;
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.once('end', resolve);
      stream.pipe(res);
    });
  };

  return {
    createReport,
    listReports: listReportsHandler,
    getReport,
    deleteReport: deleteReportHandler,
    downloadReport,
  };
}

/** Whether an `If-None-Match` header names `etag` (or is `*`), by the weak comparison RFC 9110 asks for here. */
function namesETag(ifNoneMatch: string | undefined, etag: string): boolean {
  return (ifNoneMatch ?? '').split(',').some((tag) => {
    const candidate = tag.trim().replace(/^W\//, '');
    return candidate === '*' || candidate === etag;
  });
}
