import type { PoolClient } from 'pg';
import type { EventPayloads } from '../../schemas/generated/events';
import type { Statement } from '../runtime/sql';
import { factKey, type Need } from '../shared/gate';

/**
 * The academic year of each section and the dates of each year (rule ATTENDANCE_DATE_OUTSIDE_YEAR), learned from
 * academic's section.created and academic.year.started. Both facts are immutable once known (a section keeps its
 * year, a year its dates), so a date's verdict, once both are known, is final: a date inside is admitted, one
 * outside waits on a fact no event teaches (parked for good, with the rule), live and in a rebuild alike.
 */

/** The fact "section X's academic year is known". */
export const sectionYearFact = (sectionId: string): string => factKey('section', sectionId);
/** The fact "year Y's dates are known". */
export const yearDatesFact = (yearId: string): string => factKey('year', yearId);

const RULE = 'ATTENDANCE_DATE_OUTSIDE_YEAR';

/** The sections' years and the years' dates a chunk knows (loaded) and learns (written back). */
export class SchoolYears {
  private readonly freshSections = new Map<string, string>();
  private readonly freshYears = new Map<string, { startDate: string; endDate: string }>();

  constructor(
    private readonly sections: Map<string, string>,
    private readonly years: Map<string, { startDate: string; endDate: string }>,
  ) {}

  /** The facts loaded. */
  known(): string[] {
    return [...[...this.sections.keys()].map(sectionYearFact), ...[...this.years.keys()].map(yearDatesFact)];
  }

  /** What an academic event teaches: the fact (the gate decides whether it is new). */
  learnSection(p: EventPayloads['section.created']): string {
    if (!this.sections.has(p.sectionId)) this.freshSections.set(p.sectionId, p.academicYearId);
    this.sections.set(p.sectionId, this.sections.get(p.sectionId) ?? p.academicYearId);
    return sectionYearFact(p.sectionId);
  }

  learnYear(p: EventPayloads['academic.year.started']): string {
    const dates = { startDate: p.startDate, endDate: p.endDate };
    if (!this.years.has(p.academicYearId)) this.freshYears.set(p.academicYearId, dates);
    this.years.set(p.academicYearId, this.years.get(p.academicYearId) ?? dates);
    return yearDatesFact(p.academicYearId);
  }

  /**
   * What a date in a section needs: the section's year known, the year's dates known, then, for a date outside
   * them, a fact no event teaches (so it parks for good under ATTENDANCE_DATE_OUTSIDE_YEAR).
   */
  needs(sectionId: string, date: string): Need[] {
    const needs: Need[] = [{ fact: sectionYearFact(sectionId), rule: RULE }];
    const year = this.sections.get(sectionId);
    if (year === undefined) return needs;
    needs.push({ fact: yearDatesFact(year), rule: RULE });
    const dates = this.years.get(year);
    if (dates && (date < dates.startDate || date > dates.endDate))
      needs.push({ fact: factKey('outside-year', sectionId, date), rule: RULE });
    return needs;
  }

  writes(): Statement[] {
    const writes: Statement[] = [];
    if (this.freshSections.size)
      writes.push({
        text: 'insert into section_years select * from unnest($1::text[], $2::text[]) on conflict do nothing',
        values: [[...this.freshSections.keys()], [...this.freshSections.values()]],
      });
    if (this.freshYears.size)
      writes.push({
        text: 'insert into academic_years select * from unnest($1::text[], $2::date[], $3::date[]) on conflict do nothing',
        values: [
          [...this.freshYears.keys()],
          [...this.freshYears.values()].map((d) => d.startDate),
          [...this.freshYears.values()].map((d) => d.endDate),
        ],
      });
    return writes;
  }
}

/** The years of `sections` and the dates of those years and of `years` (two queries). */
export async function loadSchoolYears(tx: PoolClient, sections: readonly string[], years: readonly string[]): Promise<SchoolYears> {
  const bySection = new Map<string, string>();
  if (sections.length) {
    const r = await tx.query<{ s: string; y: string }>(
      'select section_id s, academic_year_id y from section_years where section_id = any($1::text[])',
      [[...new Set(sections)]],
    );
    for (const x of r.rows) bySection.set(x.s, x.y);
  }
  const wanted = [...new Set([...years, ...bySection.values()])];
  const dates = new Map<string, { startDate: string; endDate: string }>();
  if (wanted.length) {
    const r = await tx.query<{ y: string; startDate: string; endDate: string }>(
      `select academic_year_id y, to_char(start_date, 'YYYY-MM-DD') "startDate", to_char(end_date, 'YYYY-MM-DD') "endDate"
       from academic_years where academic_year_id = any($1::text[])`,
      [wanted],
    );
    for (const x of r.rows) dates.set(x.y, { startDate: x.startDate, endDate: x.endDate });
  }
  return new SchoolYears(bySection, dates);
}
