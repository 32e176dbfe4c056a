import type { Role } from '../../../schemas/generated/events';
import type { UserResource } from '../../../processors/users/resources';
import { rolesProblem } from '../../../processors/users/roles';
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

/** USER_ROLES_NOT_OF_TYPE for user.created, from the request alone (pure, a 400). */
export function createdRolesErrors(p: { userType: UserResource['userType']; roles: Role[] }, field: FieldOf): FieldError[] {
  const problem = rolesProblem(p.userType, p.roles);
  return problem ? [broken(field('roles'), 'USER_ROLES_NOT_OF_TYPE', problem)] : [];
}

/**
 * USER_UNKNOWN (no user in the users projection; a document kept for a user other events named before the user
 * was created is not one), USER_DEACTIVATED and USER_ROLES_NOT_OF_TYPE (the new roles against the user's type in
 * the users projection) for user.role.changed (pure); the users processor dead-letters the same three.
 */
export function roleChangeErrors(p: { userId: string; newRoles: Role[] }, u: UserResource | undefined, field: FieldOf): FieldError[] {
  if (!u) return [broken(field('userId'), 'USER_UNKNOWN', `user ${p.userId} does not exist`)];
  if (isDeactivated(u)) return [broken(field('userId'), 'USER_DEACTIVATED', `user ${p.userId} is deactivated`)];
  const problem = rolesProblem(u.userType, p.newRoles);
  return problem ? [broken(field('newRoles'), 'USER_ROLES_NOT_OF_TYPE', `user ${p.userId}: ${problem}`)] : [];
}

export async function checkLink(p: { studentUserId: string; parentUserId: string }, facts: Facts, field: FieldOf): Promise<FieldError[]> {
  const [student, parent] = await Promise.all([facts.user(p.studentUserId), facts.user(p.parentUserId)]);
  return linkErrors(p, student, parent, field);
}

export async function checkRoleChange(p: { userId: string; newRoles: Role[] }, facts: Facts, field: FieldOf): Promise<FieldError[]> {
  return roleChangeErrors(p, await facts.user(p.userId), field);
}
