/**
 * A connection's `scan_schedule`: a 5-field cron expression (minute hour day-of-month month
 * day-of-week; numbers, `*`, ranges, steps and lists) read in an IANA time zone. Pure functions.
 */

export interface ScanSchedule {
  cron: string;
  time_zone: string;
}

interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Cron's rule: when both day fields are restricted, a day matching either is due. */
  daysRestricted: boolean;
  weekdaysRestricted: boolean;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  // 7 is Sunday too, as in most crons.
  { name: 'day of week', min: 0, max: 7 },
] as const;

/** The fields of `cron`, or why it is not a 5-field cron expression. */
export function parseCron(cron: string): CronFields | { problem: string } {
  const parts = cron.trim().split(/\s+/);
  if (parts.length !== 5) return { problem: 'not a 5-field cron expression' };
  const sets: Set<number>[] = [];
  for (const [index, part] of parts.entries()) {
    const field = FIELDS[index]!;
    const values = new Set<number>();
    for (const item of part.split(',')) {
      const match = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(item);
      if (!match) return { problem: `the ${field.name} field "${part}" is not numbers, *, ranges, steps or lists` };
      const from = match[1] === '*' ? field.min : Number(match[2]);
      // `a/s` runs from a to the field's end, as Vixie cron reads it.
      const to = match[1] === '*' || (match[3] === undefined && match[4] !== undefined) ? field.max : Number(match[3] ?? match[2]);
      const step = match[4] === undefined ? 1 : Number(match[4]);
      if (from < field.min || to > field.max || from > to || step < 1) return { problem: `the ${field.name} field "${part}" is outside ${field.min}-${field.max}` };
      for (let value = from; value <= to; value += step) values.add(value);
    }
    sets.push(values);
  }
  const [minutes, hours, days, months, weekdayField] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const weekdays = new Set([...weekdayField].map((day) => day % 7));
  return { minutes, hours, days, months, weekdays, daysRestricted: !parts[2]!.startsWith('*'), weekdaysRestricted: !parts[4]!.startsWith('*') };
}

/** Why `schedule` cannot be run, per field of the request; empty when it can. */
export function scheduleProblems(schedule: ScanSchedule): { field: string; issue: string }[] {
  const problems: { field: string; issue: string }[] = [];
  if (!isTimeZone(schedule.time_zone)) problems.push({ field: 'body.scan_schedule.time_zone', issue: 'not an IANA time zone' });
  const fields = parseCron(schedule.cron);
  if ('problem' in fields) problems.push({ field: 'body.scan_schedule.cron', issue: fields.problem });
  else if (problems.length === 0 && nextScanTime(schedule, new Date()) === null) problems.push({ field: 'body.scan_schedule.cron', issue: 'names no time in the coming years (such as 31 February)' });
  return problems;
}

/** The first time after `after` (to the minute) that `schedule` names; null when it names none within about four years. */
export function nextScanTime(schedule: ScanSchedule, after: Date): Date | null {
  const fields = parseCron(schedule.cron);
  if ('problem' in fields) return null;
  const format = formatterOf(schedule.time_zone);
  let at = Math.floor(after.getTime() / 60_000) * 60_000 + 60_000;
  // Hour by hour over days and hours that do not match, minute by minute within one that does:
  // at most some 35,000 hours (29 February on a given weekday) and 60 minutes.
  for (let steps = 0; steps < 40_000; steps++) {
    const local = localFields(format, at);
    if (!fields.months.has(local.month) || !dayMatches(fields, local) || !fields.hours.has(local.hour)) {
      at += (60 - local.minute) * 60_000;
      continue;
    }
    if (fields.minutes.has(local.minute)) return new Date(at);
    at += 60_000;
  }
  return null;
}

function dayMatches(fields: CronFields, local: { day: number; weekday: number }): boolean {
  const day = fields.days.has(local.day);
  const weekday = fields.weekdays.has(local.weekday);
  if (fields.daysRestricted && fields.weekdaysRestricted) return day || weekday;
  return day && weekday;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    formatters.set(timeZone, format);
  }
  return format;
}

function localFields(format: Intl.DateTimeFormat, at: number) {
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(at)) parts[part.type] = part.value;
  return { month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute), weekday: WEEKDAYS[parts.weekday!]! };
}

function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}
