import type { Role, UserType } from '../../schemas/generated/events';

/**
 * The roles a user of each type may hold (USER_ROLES_NOT_OF_TYPE, docs/invariants.md). A role grants what its
 * relationships allow, and the relationships follow the type: only a TEACHER is assigned to teach
 * (TEACHER_NOT_A_TEACHER), only a PARENT is linked to a child, only a STUDENT is enrolled (saga step 2 asks for
 * both the type and the role). So a role of another type's relationships means nothing on an account and is
 * refused; ADMIN is the one role a type other than its own may hold, and only a TEACHER (a head of department
 * administers as well as teaching). Fewer roles are fine: an account whose roles were revoked holds none (saga
 * step 2 refuses to enroll a STUDENT without the student role, so DOMAIN.md expects one to exist).
 */
export const ROLES_OF_TYPE: { readonly [T in UserType]: ReadonlySet<Role> } = {
  STUDENT: new Set<Role>(['STUDENT']),
  PARENT: new Set<Role>(['PARENT']),
  TEACHER: new Set<Role>(['TEACHER', 'ADMIN']),
  ADMIN: new Set<Role>(['ADMIN']),
};

/** Why `roles` do not fit `type`, or undefined when they do (pure; the API and the users processor share it). */
export function rolesProblem(type: UserType, roles: readonly Role[]): string | undefined {
  const allowed = ROLES_OF_TYPE[type];
  const foreign = [...new Set(roles)].filter((r) => !allowed.has(r));
  return foreign.length ? `a ${type} may hold only ${[...allowed].join(', ')}, not ${foreign.join(', ')}` : undefined;
}
