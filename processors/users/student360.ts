import type { AttendanceStatus } from '../../schemas/generated/events';
import type { Student360Resource } from './resources';

/** A student's enrollment as academic's projection holds it (academicQueries.enrollmentsOfStudent). */
export interface EnrollmentRow {
  enrollmentId: string;
  sectionId: string;
  academicYearId: string;
  /** academic's saga status: PENDING, SEATED, COMPENSATING, COMPLETED, FAILED or COMPENSATION_FAILED. */
  status: string;
}

export interface EnrollmentView {
  enrollmentId: string;
  sectionId: string;
  academicYearId: string;
  status: 'PENDING' | 'COMPLETED' | 'FAILED';
}

/** The saga's outcome as the 360 shows it: ended (COMPLETED or FAILED) or still running (PENDING). */
const outcomeOf = (status: string): EnrollmentView['status'] =>
  status === 'COMPLETED' ? 'COMPLETED' : status === 'FAILED' || status === 'COMPENSATION_FAILED' ? 'FAILED' : 'PENDING';

/** Which enrollment the 360 shows first: one that completed, else one still running, else one that failed. */
const RANK = { COMPLETED: 2, PENDING: 1, FAILED: 0 } as const;

/**
 * The 360's current enrollment: of the student's enrollments (newest request first, as academic lists them),
 * the newest that completed, else the newest still running, else the newest that failed, so a failed request
 * never hides the seat the student holds. academic owns where an enrollment stands (its section after a
 * transfer, its outcome), so the 360 reads it there at query time instead of keeping a copy in users.
 */
export function enrollmentView(newestFirst: readonly EnrollmentRow[]): EnrollmentView | undefined {
  let best: EnrollmentView | undefined;
  for (const e of newestFirst) {
    const view = { enrollmentId: e.enrollmentId, sectionId: e.sectionId, academicYearId: e.academicYearId, status: outcomeOf(e.status) };
    if (!best || RANK[view.status] > RANK[best.status]) best = view;
  }
  return best;
}

export interface PeriodAverage {
  periodId: string;
  courseId: string;
  average: number;
}

export interface AttendanceCounts {
  present: number;
  absent: number;
  late: number;
  excused: number;
}

export type Student360 = Student360Resource & {
  averages?: Record<string, Record<string, number>>;
  attendance?: Partial<Record<AttendanceStatus, number>>;
  /** The same counts per section (a transferred student has one entry per section). */
  attendanceBySection?: Record<string, Partial<Record<AttendanceStatus, number>>>;
};

/** Counts of marks by status, only the statuses that occurred (undefined when none did). */
function countsOf(summary: AttendanceCounts): Partial<Record<AttendanceStatus, number>> | undefined {
  const counts: Partial<Record<AttendanceStatus, number>> = {};
  const add = (status: AttendanceStatus, n: number): void => {
    if (n > 0) counts[status] = n;
  };
  add('PRESENT', summary.present);
  add('ABSENT', summary.absent);
  add('LATE', summary.late);
  add('EXCUSED', summary.excused);
  return Object.keys(counts).length ? counts : undefined;
}

/**
 * The student 360 as the API answers it: the users document (profile, parents) plus the current
 * enrollment, the averages and the attendance counts read from the academic, grades and attendance
 * projections at query time. Those change with the saga's steps and every grade and mark; keeping
 * them in the document put FerretDB writes on the path of every such event (see docs/decisions.md).
 * Same fields as the document had: averages by period and course, counts of marks by status
 * (only statuses that occurred).
 */
export function composeStudent360(
  doc: Student360Resource,
  enrollments: readonly EnrollmentRow[],
  averages: PeriodAverage[],
  summary: (AttendanceCounts & { sections?: Array<AttendanceCounts & { sectionId: string }> }) | undefined,
): Student360 {
  const out: Student360 = { ...doc };
  const enrollment = enrollmentView(enrollments);
  if (enrollment) out.enrollment = enrollment;
  if (averages.length) {
    const byPeriod: Record<string, Record<string, number>> = {};
    for (const a of averages) (byPeriod[a.periodId] ??= {})[a.courseId] = a.average;
    out.averages = byPeriod;
  }
  if (summary) {
    const counts = countsOf(summary);
    if (counts) out.attendance = counts;
    const bySection = Object.fromEntries(
      (summary.sections ?? []).flatMap((s) => {
        const c = countsOf(s);
        return c ? [[s.sectionId, c] as const] : [];
      }),
    );
    if (Object.keys(bySection).length) out.attendanceBySection = bySection;
  }
  return out;
}
