import type { FieldError } from '../../http/problem';
import type { Facts, SectionFacts, YearFacts } from './facts';
import { broken, type FieldOf } from './types';

/**
 * The latest date that is today somewhere (UTC+14, YYYY-MM-DD): a school east of UTC marks its own today while
 * it is still yesterday in UTC, so "after today in UTC" would refuse a Sydney morning's register.
 */
export const latestToday = (now: Date): string => new Date(now.getTime() + 14 * 3600_000).toISOString().slice(0, 10);

/** ATTENDANCE_DATE_IN_FUTURE (pure, from the request and the API's clock: a 400). */
export function futureDateErrors(date: string, now: Date, field: FieldOf): FieldError[] {
  const today = latestToday(now);
  return date > today
    ? [broken(field('date'), 'ATTENDANCE_DATE_IN_FUTURE', `date ${date} is after today in every time zone (${today} at the latest)`)]
    : [];
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
