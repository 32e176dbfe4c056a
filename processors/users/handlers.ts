import type { EventPayloads, Role, SchoolEvent, UserType } from '../../schemas/generated/events';
import { emit, type EmitSpec } from '../shared/emit';

/**
 * Users: profiles (type, roles, status, linked parents/children) and the per-student
 * "360" document. Owns saga step 2 (ValidateUserExists) and CompensateUserValidation.
 * Pure: (event, state) → document updates + events.
 */

export interface Profile {
  _id: string;
  userType: UserType;
  firstName: string;
  lastName: string;
  email: string;
  phone: string | null;
  birthDate: string | null;
  roles: Role[];
  status: 'ACTIVE' | 'DEACTIVATED';
  deactivationReason?: string;
  parents?: string[];
  children?: string[];
}

/** One guarded single-document update; $set-style by default, $addToSet and $inc only where the guard makes them safe. */
export interface DocUpdate {
  collection: 'users' | 'student360';
  id: string;
  set?: Record<string, unknown>;
  addToSet?: Record<string, string>;
  inc?: Record<string, number>;
}

export interface Decision {
  updates: DocUpdate[];
  emit: EmitSpec[];
}

const none: Decision = { updates: [], emit: [] };

export function onUserCreated(p: EventPayloads['user.created']): Decision {
  const profile = {
    userType: p.userType,
    firstName: p.firstName,
    lastName: p.lastName,
    email: p.email,
    phone: p.phone,
    birthDate: p.birthDate,
    roles: p.roles,
    status: 'ACTIVE',
  };
  const updates: DocUpdate[] = [{ collection: 'users', id: p.userId, set: profile }];
  if (p.userType === 'STUDENT') updates.push({ collection: 'student360', id: p.userId, set: { profile } });
  return { updates, emit: [] };
}

export function onUserUpdated(p: EventPayloads['user.updated'], current: Profile | undefined): Decision {
  const set: Record<string, unknown> = {};
  for (const k of ['firstName', 'lastName', 'email', 'phone'] as const) if (p[k] !== null) set[k] = p[k];
  const updates: DocUpdate[] = [{ collection: 'users', id: p.userId, set }];
  if (current?.userType === 'STUDENT')
    updates.push({
      collection: 'student360',
      id: p.userId,
      set: Object.fromEntries(Object.entries(set).map(([k, v]) => [`profile.${k}`, v])),
    });
  return { updates, emit: [] };
}

export function onUserDeactivated(p: EventPayloads['user.deactivated'], current: Profile | undefined): Decision {
  const updates: DocUpdate[] = [{ collection: 'users', id: p.userId, set: { status: 'DEACTIVATED', deactivationReason: p.reason } }];
  if (current?.userType === 'STUDENT') updates.push({ collection: 'student360', id: p.userId, set: { 'profile.status': 'DEACTIVATED' } });
  return { updates, emit: [] };
}

export function onRoleChanged(p: EventPayloads['user.role.changed']): Decision {
  return { updates: [{ collection: 'users', id: p.userId, set: { roles: p.newRoles } }], emit: [] };
}

export function onParentLinked(p: EventPayloads['student.parent.linked']): Decision {
  return {
    updates: [
      { collection: 'users', id: p.studentUserId, addToSet: { parents: p.parentUserId } },
      { collection: 'users', id: p.parentUserId, addToSet: { children: p.studentUserId } },
      { collection: 'student360', id: p.studentUserId, addToSet: { parents: p.parentUserId } },
    ],
    emit: [],
  };
}

/** Step 2: the student exists, is active, and has the student role. */
export function onStudentEnrolled(e: SchoolEvent<'student.enrolled'>, student: Profile | undefined): Decision {
  const p = e.payload;
  const fail = (reason: EventPayloads['enrollment.user.validation.failed']['reason'], message: string): EmitSpec =>
    emit('enrollment.user.validation.failed', { enrollmentId: p.enrollmentId, studentUserId: p.studentUserId, reason, message });
  let result: EmitSpec;
  if (!student) result = fail('USER_NOT_FOUND', `user ${p.studentUserId} does not exist`);
  else if (student.status !== 'ACTIVE') result = fail('USER_DEACTIVATED', `user ${p.studentUserId} is deactivated`);
  else if (student.userType !== 'STUDENT' || !student.roles.includes('STUDENT'))
    result = fail('NOT_A_STUDENT', `user ${p.studentUserId} is not a student`);
  else
    result = emit('enrollment.user.validated', {
      enrollmentId: p.enrollmentId,
      studentUserId: p.studentUserId,
      sectionId: p.sectionId,
      academicYearId: p.academicYearId,
    });
  const updates: DocUpdate[] = student
    ? [
        {
          collection: 'student360',
          id: p.studentUserId,
          set: {
            enrollment: { enrollmentId: p.enrollmentId, sectionId: p.sectionId, academicYearId: p.academicYearId, status: 'PENDING' },
          },
        },
      ]
    : [];
  return { updates, emit: [result] };
}

/** CompensateUserValidation: the section step failed, or its compensation ran, so the validation no longer stands. */
export function compensateValidation(enrollmentId: string, studentUserId: string | undefined, reason: string): Decision {
  return {
    updates: [],
    emit: [emit('enrollment.user.validation.compensated', { enrollmentId, studentUserId: studentUserId ?? 'unknown', reason })],
  };
}

export function onEnrollmentEnded(
  e: SchoolEvent<'enrollment.completed' | 'enrollment.failed'>,
  studentUserId: string | undefined,
  currentEnrollmentId: string | undefined,
): Decision {
  if (!studentUserId || currentEnrollmentId !== e.payload.enrollmentId) return none;
  const status = e.eventType === 'enrollment.completed' ? 'COMPLETED' : 'FAILED';
  const set: Record<string, unknown> = { 'enrollment.status': status };
  if (e.eventType === 'enrollment.completed') set['enrollment.sectionId'] = e.payload.sectionId;
  return { updates: [{ collection: 'student360', id: studentUserId, set }], emit: [] };
}

export function onAverage(p: EventPayloads['period.average.calculated']): Decision {
  return {
    updates: [{ collection: 'student360', id: p.studentUserId, set: { [`averages.${p.periodId}.${p.courseId}`]: p.average } }],
    emit: [],
  };
}

export function onAttendance(p: EventPayloads['attendance.marked']): Decision {
  return { updates: [{ collection: 'student360', id: p.studentUserId, inc: { [`attendance.${p.status}`]: 1 } }], emit: [] };
}
