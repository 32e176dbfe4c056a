import type { UserResource } from '../../../processors/users/resources';
import type { FieldError } from '../../http/problem';
import type { Facts } from './facts';
import { broken, isDeactivated, type FieldOf } from './types';

/** One side of a parent link: an existing user of `type`, else `rule`; deactivated → USER_DEACTIVATED (pure). */
function linkSide(
  u: UserResource | undefined,
  id: string,
  type: 'PARENT' | 'STUDENT',
  rule: 'PARENT_LINK_NOT_PARENT' | 'PARENT_LINK_NOT_STUDENT',
  field: string,
): FieldError[] {
  if (!u) return [broken(field, rule, `user ${id} does not exist`)];
  if (u.userType !== type) return [broken(field, rule, `user ${id} is a ${u.userType}, not a ${type}`)];
  return isDeactivated(u) ? [broken(field, 'USER_DEACTIVATED', `user ${id} is deactivated`)] : [];
}

/** PARENT_LINK_NOT_PARENT, PARENT_LINK_NOT_STUDENT, USER_DEACTIVATED for student.parent.linked (pure). */
export function linkErrors(
  p: { studentUserId: string; parentUserId: string },
  student: UserResource | undefined,
  parent: UserResource | undefined,
  field: FieldOf,
): FieldError[] {
  return [
    ...linkSide(parent, p.parentUserId, 'PARENT', 'PARENT_LINK_NOT_PARENT', field('parentUserId')),
    ...linkSide(student, p.studentUserId, 'STUDENT', 'PARENT_LINK_NOT_STUDENT', field('studentUserId')),
  ];
}

/** USER_DEACTIVATED for user.role.changed (pure). A user the projection does not know is not decided here. */
export function roleChangeErrors(userId: string, u: UserResource | undefined, field: FieldOf): FieldError[] {
  return isDeactivated(u) ? [broken(field('userId'), 'USER_DEACTIVATED', `user ${userId} is deactivated`)] : [];
}

export async function checkLink(p: { studentUserId: string; parentUserId: string }, facts: Facts, field: FieldOf): Promise<FieldError[]> {
  const [student, parent] = await Promise.all([facts.user(p.studentUserId), facts.user(p.parentUserId)]);
  return linkErrors(p, student, parent, field);
}

export async function checkRoleChange(p: { userId: string }, facts: Facts, field: FieldOf): Promise<FieldError[]> {
  return roleChangeErrors(p.userId, await facts.user(p.userId), field);
}
