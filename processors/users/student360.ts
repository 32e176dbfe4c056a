import type { AttendanceStatus } from '../../schemas/generated/events';
import type { Student360Resource } from './resources';

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
 * The student 360 as the API answers it: the users document (profile, parents, current
 * enrollment) plus the averages and attendance counts read from the grades and attendance
 * projections at query time. Those two change with every grade and mark; keeping them in the
 * document put a FerretDB write on the path of every such event (see docs/decisions.md).
 * Same fields as the document had: averages by period and course, counts of marks by status
 * (only statuses that occurred).
 */
export function composeStudent360(
  doc: Student360Resource,
  averages: PeriodAverage[],
  summary: (AttendanceCounts & { sections?: Array<AttendanceCounts & { sectionId: string }> }) | undefined,
): Student360 {
  const out: Student360 = { ...doc };
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
