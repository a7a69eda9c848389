import cronParser from 'cron-parser';

/**
 * A connection's `scan_schedule`: a 5-field cron expression (minute hour day-of-month month
 * day-of-week) read in an IANA time zone, by cron-parser (the reader pg-boss schedules with).
 */

export interface ScanSchedule {
  cron: string;
  time_zone: string;
}

/** Why `cron` is not a 5-field cron expression cron-parser can read; undefined when it is. */
export function cronProblem(cron: string): string | undefined {
  // cron-parser also reads a seconds field; a schedule is to the minute.
  if (cron.trim().split(/\s+/).length !== 5) return 'not a 5-field cron expression';
  try {
    cronParser.parseExpression(cron);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Why `schedule` cannot be run, per field of the request; empty when it can. */
export function scheduleProblems(schedule: ScanSchedule): { field: string; issue: string }[] {
  const problems: { field: string; issue: string }[] = [];
  if (!isTimeZone(schedule.time_zone)) problems.push({ field: 'body.scan_schedule.time_zone', issue: 'not an IANA time zone' });
  const problem = cronProblem(schedule.cron);
  if (problem) problems.push({ field: 'body.scan_schedule.cron', issue: problem });
  else if (problems.length === 0 && nextScanTime(schedule, new Date()) === null) problems.push({ field: 'body.scan_schedule.cron', issue: 'names no time in the coming years' });
  return problems;
}

/** The first time after `after` that `schedule` names; null when it names none. */
export function nextScanTime(schedule: ScanSchedule, after: Date): Date | null {
  if (cronProblem(schedule.cron)) return null;
  try {
    return cronParser.parseExpression(schedule.cron, { currentDate: after, tz: schedule.time_zone }).next().toDate();
  } catch {
    return null;
  }
}

function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}
