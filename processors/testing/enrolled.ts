import { DayOfWeekValues, type SchoolEvent } from '../../schemas/generated/events';
import type { Ready } from '../runtime/store';
import { anEvent } from './gwt';

/** academic's enrollment.completed of `studentUserId` in `sectionId`: the fact grades and attendance admit events on. */
export const completed = (studentUserId: string, sectionId: string, enrollmentId = `E-${studentUserId}-${sectionId}`): SchoolEvent =>
  anEvent('enrollment.completed', { enrollmentId, studentUserId, sectionId, warnings: [] });

/** Records on academic-events (partition 0, from `offset`): facts to apply before the events a test is about. */
export const onAcademic = (events: SchoolEvent[], offset = 0, partition = 0): Ready[] =>
  events.map((event, i) => ({ event, position: { topic: 'academic-events', partition, offset: offset + i } }));

/** The courses and grading periods the test sections teach (the ones the specs grade in, and the examples'). */
export const TEST_COURSES = ['MATH', 'ART', 'CRS-MATH-5'] as const;
export const TEST_PERIODS = ['T1', 'T2', '2025-T1', '2025-T2'] as const;
const TEST_YEAR = 'Y-TEST';

/**
 * The sections' reference facts the gate admits events on besides the enrollment (processors/shared/gate.ts): each
 * section created in the test year, which has the test periods, teaching the test courses (grades), with a lesson
 * on every day of the week (attendance's school days): academic-events and assignment-events records, from `offset`.
 */
export function school(sections: readonly string[], offset = 1000): Ready[] {
  const academic: SchoolEvent[] = [
    anEvent('academic.year.started', {
      academicYearId: TEST_YEAR,
      startDate: '2024-09-01',
      endDate: '2026-08-31',
      gradingPeriods: TEST_PERIODS.map((periodId) => ({ periodId, name: periodId, startDate: '2024-09-01', endDate: '2026-08-31' })),
    }),
    ...sections.flatMap((sectionId) => [
      anEvent('section.created', { sectionId, academicYearId: TEST_YEAR }),
      ...TEST_COURSES.map((courseId) => anEvent('course.assigned', { sectionId, courseId })),
    ]),
  ];
  const slots = sections.flatMap((sectionId) =>
    DayOfWeekValues.map((dayOfWeek) =>
      anEvent('schedule.created', { scheduleId: `SCH-${sectionId}-${dayOfWeek}`, sectionId, courseId: 'MATH', dayOfWeek }),
    ),
  );
  return [
    ...onAcademic(academic, offset, 1),
    ...slots.map((event, i) => ({ event, position: { topic: 'assignment-events', partition: 0, offset: offset + i } })),
  ];
}

/**
 * The facts that `pairs` of [student, section] completed their enrollment there, as academic-events records, after
 * their sections' reference facts (school).
 */
export const enrolled = (pairs: ReadonlyArray<readonly [string, string]>): Ready[] => [
  ...school([...new Set(pairs.map(([, x]) => x))]),
  ...onAcademic(pairs.map(([s, x]) => completed(s, x))),
];
