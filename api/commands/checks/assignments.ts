import type { UserResource } from '../../../processors/users/resources';
import type { FieldError } from '../../http/problem';
import type { Facts, SectionFacts } from './facts';
import { broken, isDeactivated, type FieldOf } from './types';

/** What teacher.assigned.to.course and schedule.created name. */
export interface TeachingTarget {
  teacherUserId: string;
  sectionId: string;
  courseId: string;
}

/** TEACHER_NOT_A_TEACHER, USER_DEACTIVATED, ASSIGNMENT_COURSE_NOT_IN_SECTION (pure). */
export function teachingErrors(
  p: TeachingTarget,
  teacher: UserResource | undefined,
  section: SectionFacts | undefined,
  field: FieldOf,
): FieldError[] {
  const errors: FieldError[] = [];
  const t = field('teacherUserId');
  if (!teacher) errors.push(broken(t, 'TEACHER_NOT_A_TEACHER', `user ${p.teacherUserId} does not exist`));
  else if (teacher.userType !== 'TEACHER')
    errors.push(broken(t, 'TEACHER_NOT_A_TEACHER', `user ${p.teacherUserId} is a ${teacher.userType}, not a TEACHER`));
  else if (isDeactivated(teacher)) errors.push(broken(t, 'USER_DEACTIVATED', `user ${p.teacherUserId} is deactivated`));
  if (!section?.courseIds.has(p.courseId))
    errors.push(
      broken(
        field('courseId'),
        'ASSIGNMENT_COURSE_NOT_IN_SECTION',
        section ? `course ${p.courseId} is not a course of section ${p.sectionId}` : `section ${p.sectionId} does not exist`,
      ),
    );
  return errors;
}

export async function checkTeaching(p: TeachingTarget, facts: Facts, field: FieldOf): Promise<FieldError[]> {
  const [teacher, section] = await Promise.all([facts.user(p.teacherUserId), facts.section(p.sectionId)]);
  return teachingErrors(p, teacher, section, field);
}
