import { dayOfWeek, latestToday, WEEK } from '../../../processors/attendance/days';
import type { DayOfWeek } from '../../../schemas/generated/events';
import type { FieldError } from '../../http/problem';
import type { Facts, SectionFacts, YearFacts } from './facts';
import { broken, type FieldOf } from './types';

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

/**
 * ATTENDANCE_NOT_A_SCHOOL_DAY (pure): the date falls on a day of the week of one of the section's schedule slots
 * (`days`, all of them, or undefined when the date's day is known to be one). A section with no slot has no school
 * day (saga step 5 seats no one there either); an unknown section is left to the enrollment rule.
 */
export function schoolDayErrors(
  date: string,
  section: SectionFacts | undefined,
  days: readonly DayOfWeek[] | undefined,
  field: FieldOf,
): FieldError[] {
  const day = dayOfWeek(date);
  if (!section || !days || days.includes(day)) return [];
  const known = WEEK.filter((d) => days.includes(d));
  return [
    broken(
      field('date'),
      'ATTENDANCE_NOT_A_SCHOOL_DAY',
      known.length
        ? `date ${date} is a ${day}; section ${section.sectionId} has lessons on ${known.join(', ')}`
        : `section ${section.sectionId} has no schedule, so no school days`,
    ),
  ];
}

export async function checkAttendanceDate(p: { sectionId: string; date: string }, facts: Facts, field: FieldOf): Promise<FieldError[]> {
  const [section, year, lessons] = await Promise.all([
    facts.section(p.sectionId),
    facts.yearOfSection(p.sectionId),
    facts.hasLessonsOn(p.sectionId, dayOfWeek(p.date)),
  ]);
  // The common case answers from the cache; only a refusal reads the section's days, to name them.
  const days = lessons ? undefined : await facts.schoolDays(p.sectionId);
  return [...yearDateErrors(p.date, section, year, field), ...schoolDayErrors(p.date, section, days, field)];
}
