import type { FieldError } from '../../http/problem';
import type { Facts, SectionFacts, YearFacts } from './facts';
import { broken, type FieldOf } from './types';

/** Today's date (YYYY-MM-DD) in UTC, the calendar attendance dates are compared in. */
export const todayUtc = (now: Date): string => now.toISOString().slice(0, 10);

/** ATTENDANCE_DATE_IN_FUTURE (pure, from the request and the API's clock: a 400). */
export function futureDateErrors(date: string, now: Date, field: FieldOf): FieldError[] {
  const today = todayUtc(now);
  return date > today ? [broken(field('date'), 'ATTENDANCE_DATE_IN_FUTURE', `date ${date} is after today (${today}, UTC)`)] : [];
}

/**
 * ATTENDANCE_DATE_OUTSIDE_YEAR (pure): within the section's year, both ends included. An unknown section is not
 * decided here (the enrollment rule refuses it); a known section whose year is unknown is refused.
 */
export function yearDateErrors(date: string, section: SectionFacts | undefined, year: YearFacts | undefined, field: FieldOf): FieldError[] {
  if (!section) return [];
  if (year && year.startDate <= date && date <= year.endDate) return [];
  return [
    broken(
      field('date'),
      'ATTENDANCE_DATE_OUTSIDE_YEAR',
      year
        ? `date ${date} is outside academic year ${year.academicYearId} (${year.startDate}..${year.endDate})`
        : `the academic year ${section.academicYearId} of section ${section.sectionId} is not known`,
    ),
  ];
}

export async function checkAttendanceDate(p: { sectionId: string; date: string }, facts: Facts, field: FieldOf): Promise<FieldError[]> {
  const [section, year] = await Promise.all([facts.section(p.sectionId), facts.yearOfSection(p.sectionId)]);
  return yearDateErrors(p.date, section, year, field);
}
