import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import type { RuleCode } from '../../processors/shared/invariants';
import type { ApiDeps } from '../deps';
import type { FieldError } from '../http/problem';

/**
 * Rules GRADE_STUDENT_NOT_ENROLLED and ATTENDANCE_STUDENT_NOT_ENROLLED on the API side: a command writing
 * for a student in a section needs a COMPLETED enrollment of the student in that section in the academic
 * projection. The grades and attendance processors park such an event from any producer until they learn the
 * enrollment (processors/shared/enrolled.ts, docs/invariants.md).
 */
export const ENROLLMENT_RULES: { readonly [K in EventType]?: RuleCode } = {
  'grade.recorded': 'GRADE_STUDENT_NOT_ENROLLED',
  'competency.evaluated': 'GRADE_STUDENT_NOT_ENROLLED',
  'attendance.marked': 'ATTENDANCE_STUDENT_NOT_ENROLLED',
  'absence.recorded': 'ATTENDANCE_STUDENT_NOT_ENROLLED',
  'tardiness.recorded': 'ATTENDANCE_STUDENT_NOT_ENROLLED',
};

/** What one event of a command needs: this student enrolled in this section, or `rule` is broken at `field`. */
export interface EnrollmentClaim {
  rule: RuleCode;
  studentUserId: string;
  sectionId: string;
  field: string;
}

/** The claims of a command's events (pure); `fieldOf(i)` names the body field of the i-th event's student. */
export function enrollmentClaims(events: SchoolEvent[], fieldOf: (i: number) => string): EnrollmentClaim[] {
  return events.flatMap((e, i) => {
    const rule = ENROLLMENT_RULES[e.eventType];
    const p = e.payload as { studentUserId?: unknown; sectionId?: unknown };
    if (!rule || typeof p.studentUserId !== 'string' || typeof p.sectionId !== 'string') return [];
    return [{ rule, studentUserId: p.studentUserId, sectionId: p.sectionId, field: fieldOf(i) }];
  });
}

/** The claims `enrolled` (section → students with a COMPLETED enrollment there) does not back, as field errors (pure). */
export function unbackedClaims(claims: EnrollmentClaim[], enrolled: ReadonlyMap<string, ReadonlySet<string>>): FieldError[] {
  return claims
    .filter((c) => !enrolled.get(c.sectionId)?.has(c.studentUserId))
    .map((c) => ({
      field: c.field,
      message: `student ${c.studentUserId} has no COMPLETED enrollment in section ${c.sectionId}`,
      rule: c.rule,
    }));
}

/**
 * Reads the academic projection for a command's claims (one query per section named) and answers the claims it
 * does not back (the caller refuses the command with 409 then; nothing is published).
 */
export async function enrollmentErrors(
  deps: Pick<ApiDeps, 'guard' | 'q'>,
  events: SchoolEvent[],
  fieldOf: (i: number) => string,
): Promise<FieldError[]> {
  const claims = enrollmentClaims(events, fieldOf);
  if (!claims.length) return [];
  const bySection = new Map<string, string[]>();
  for (const c of claims) bySection.set(c.sectionId, [...(bySection.get(c.sectionId) ?? []), c.studentUserId]);
  const enrolled = new Map<string, ReadonlySet<string>>();
  for (const [sectionId, students] of bySection)
    enrolled.set(sectionId, await deps.guard.run('academic', () => deps.q.academic.completedIn(sectionId, students)));
  return unbackedClaims(claims, enrolled);
}
