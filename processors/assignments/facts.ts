import type { PoolClient } from 'pg';
import type { EventPayloads } from '../../schemas/generated/events';
import { columns } from '../runtime/columns';
import type { Statement } from '../runtime/sql';
import { factKey } from '../shared/gate';

/**
 * The facts assignments' gate waits on (rules TEACHER_NOT_A_TEACHER, ASSIGNMENT_COURSE_NOT_IN_SECTION), both grow-only:
 * "user U is a TEACHER" (user.created; a type never changes) and "course C is one of section X's" (course.assigned;
 * no event removes a course). A chunk loads the ones its events name and writes back the ones it learns.
 */

export const teacherFact = (userId: string): string => factKey('teacher', userId);
export const courseFact = (sectionId: string, courseId: string): string => factKey('course', sectionId, courseId);

/** The fact a user.created teaches, if any: only a TEACHER's. */
export const teacherFactOf = (p: Pick<EventPayloads['user.created'], 'userId' | 'userType'>): string | undefined =>
  p.userType === 'TEACHER' ? teacherFact(p.userId) : undefined;

export class AssignmentFacts {
  private readonly teachers = new Set<string>();
  private readonly courses = new Map<string, { sectionId: string; courseId: string }>();

  constructor(readonly known: ReadonlySet<string>) {}

  /** The fact a user's creation teaches (the gate decides whether it is new). */
  learnTeacher(p: EventPayloads['user.created']): string | undefined {
    const key = teacherFactOf(p);
    if (key !== undefined && !this.known.has(key)) this.teachers.add(p.userId);
    return key;
  }

  learnCourse(p: EventPayloads['course.assigned']): string {
    const key = courseFact(p.sectionId, p.courseId);
    if (!this.known.has(key)) this.courses.set(key, { sectionId: p.sectionId, courseId: p.courseId });
    return key;
  }

  writes(): Statement[] {
    const out: Statement[] = [];
    if (this.teachers.size)
      out.push({
        text: 'insert into teachers select * from unnest($1::text[]) on conflict do nothing',
        values: [[...this.teachers]],
      });
    const courses = [...this.courses.values()];
    if (courses.length)
      out.push({
        text: 'insert into section_courses select * from unnest($1::text[], $2::text[]) on conflict do nothing',
        values: columns(courses, ['sectionId', 'courseId']),
      });
    return out;
  }
}

/** The facts about `teachers` and `sections` already known (two queries at most). */
export async function loadAssignmentFacts(
  tx: PoolClient,
  teachers: readonly string[],
  sections: readonly string[],
): Promise<AssignmentFacts> {
  const known = new Set<string>();
  if (teachers.length) {
    const r = await tx.query<{ id: string }>('select user_id id from teachers where user_id = any($1::text[])', [[...new Set(teachers)]]);
    for (const x of r.rows) known.add(teacherFact(x.id));
  }
  if (sections.length) {
    const r = await tx.query<{ sectionId: string; courseId: string }>(
      'select section_id "sectionId", course_id "courseId" from section_courses where section_id = any($1::text[])',
      [[...new Set(sections)]],
    );
    for (const x of r.rows) known.add(courseFact(x.sectionId, x.courseId));
  }
  return new AssignmentFacts(known);
}
