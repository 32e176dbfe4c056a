import type { PoolClient } from 'pg';
import type { DayOfWeek, EventPayloads } from '../../schemas/generated/events';
import { columns } from '../runtime/columns';
import type { Statement } from '../runtime/sql';
import { factKey } from '../shared/gate';

/**
 * The school days of a section (rule ATTENDANCE_NOT_A_SCHOOL_DAY): the days of the week on which its schedule ever
 * had a slot, learned from schedule.created. Grow-only (no event removes a slot), so the gate can park a mark on
 * "section X has lessons on day D" until a schedule says so, and decide the same live and in a rebuild.
 */

/** The days of the week, Sunday first (Date.getUTCDay's order). */
export const WEEK: readonly DayOfWeek[] = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

/** The day of the week of a calendar date (YYYY-MM-DD; a date has no time zone, so read as UTC). Shared with the API's check. */
export const dayOfWeek = (date: string): DayOfWeek => WEEK[new Date(`${date}T00:00:00Z`).getUTCDay()]!;

/**
 * The latest date that is today somewhere (UTC+14, YYYY-MM-DD): a school east of UTC marks its own today while
 * it is still yesterday in UTC, so "after today in UTC" would refuse a Sydney morning's register. Shared with the API's check.
 */
export const latestToday = (now: Date): string => new Date(now.getTime() + 14 * 3600_000).toISOString().slice(0, 10);

/** The fact "section X has lessons on day D". */
export const schoolDayFact = (sectionId: string, day: DayOfWeek): string => factKey('day', sectionId, day);

/** The fact a schedule.created teaches. */
export const schoolDayOf = (p: EventPayloads['schedule.created']): string => schoolDayFact(p.sectionId, p.dayOfWeek);

/** The school days a chunk knows (loaded) and learns (written back to section_days). */
export class SchoolDays {
  private readonly fresh = new Map<string, { sectionId: string; day: DayOfWeek }>();

  constructor(readonly known: ReadonlySet<string>) {}

  /** The fact a schedule teaches (the gate decides whether it is new). */
  learn(p: EventPayloads['schedule.created']): string {
    const key = schoolDayOf(p);
    if (!this.known.has(key)) this.fresh.set(key, { sectionId: p.sectionId, day: p.dayOfWeek });
    return key;
  }

  writes(): Statement[] {
    const rows = [...this.fresh.values()];
    return rows.length
      ? [
          {
            text: 'insert into section_days select * from unnest($1::text[], $2::text[]) on conflict do nothing',
            values: columns(rows, ['sectionId', 'day']),
          },
        ]
      : [];
  }
}

/** The school days of `sections` (one query). */
export async function loadSchoolDays(tx: PoolClient, sections: readonly string[]): Promise<SchoolDays> {
  if (!sections.length) return new SchoolDays(new Set());
  const r = await tx.query<{ sectionId: string; day: DayOfWeek }>(
    'select section_id "sectionId", day_of_week "day" from section_days where section_id = any($1::text[])',
    [[...new Set(sections)]],
  );
  return new SchoolDays(new Set(r.rows.map((x) => schoolDayFact(x.sectionId, x.day))));
}
