import type { EventPayloads, Role, SchoolEvent, UserType } from '../../schemas/generated/events';
import type { DocUpdate as RuntimeDocUpdate } from '../runtime/doc-ops';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import { RuleViolationError } from '../runtime/errors';
import { emit, type EmitSpec } from '../shared/emit';
import { rolesProblem } from './roles';

/**
 * Users: profiles (type, roles, status, linked parents/children) and the per-student
 * "360" document. Owns saga step 2 (ValidateUserExists) and CompensateUserValidation.
 * Pure: (event, state) → document updates + events.
 */

/** A user's own fields, as user.created gives them (and the 360 and the API answer them). */
export interface ProfileFields {
  userType: UserType;
  firstName: string;
  lastName: string;
  email: string;
  phone: string | null;
  birthDate: string | null;
  roles: Role[];
  status: 'ACTIVE' | 'DEACTIVATED';
}

export interface Profile extends ProfileFields {
  _id: string;
  deactivationReason?: string;
  /** Set by user.personal-data.erased: personal fields are the erased marker from then on (never in API answers). */
  erased?: boolean;
  parents?: string[];
  children?: string[];
}

/** Parent links waiting for their parent (see onParentLinked). */
export const PARKED_LINKS = 'parked_links';

/** One guarded single-document update (the runtime's fold applies and coalesces them). */
export type DocUpdate = RuntimeDocUpdate & { collection: 'users' | 'student360' | 'enrollment_refs' | typeof PARKED_LINKS };

export interface Decision {
  updates: DocUpdate[];
  emit: EmitSpec[];
}

/** Refuses (RuleViolationError, dead-lettered with dlq.rule; no read model changes) roles the user type may not hold. */
export function onUserCreated(p: EventPayloads['user.created']): Decision {
  const problem = rolesProblem(p.userType, p.roles);
  if (problem) throw new RuleViolationError(`user ${p.userId}: ${problem}`, 'USER_ROLES_NOT_OF_TYPE');
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

/** A personal value about an erased person: the marker, as the codec decodes it once their key is gone. */
const erasedValue = <T>(v: T): T | typeof ERASED_MARKER => (v === null || v === undefined ? v : ERASED_MARKER);

export function onUserUpdated(p: EventPayloads['user.updated'], current: Profile | undefined): Decision {
  const set: Record<string, unknown> = {};
  // After an erasure nothing personal comes back: a writer that still had the key cached (or wrote plaintext) is masked here.
  for (const k of ['firstName', 'lastName', 'email', 'phone'] as const) if (p[k] !== null) set[k] = current?.erased ? ERASED_MARKER : p[k];
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
  const reason = current?.erased ? ERASED_MARKER : p.reason;
  const updates: DocUpdate[] = [{ collection: 'users', id: p.userId, set: { status: 'DEACTIVATED', deactivationReason: reason } }];
  if (current?.userType === 'STUDENT') updates.push({ collection: 'student360', id: p.userId, set: { 'profile.status': 'DEACTIVATED' } });
  return { updates, emit: [] };
}

/**
 * Erasure (issue 21): the decrypted copies this projection holds become what a rebuild reads once the key is
 * gone: names and e-mail the marker, a phone the marker when there was one, the birth date null (an erased date
 * reads as null), a deactivation reason the marker. `erased` keeps later events about the person from bringing
 * a value back. Ids, roles, status and links are not personal and stay. Applying it again changes nothing.
 */
export function onPersonalDataErased(p: EventPayloads['user.personal-data.erased'], current: Profile | undefined): Decision {
  if (!current?.userType) return { updates: [], emit: [] }; // no profile held: nothing to drop (and no document to invent)
  const personal = {
    firstName: ERASED_MARKER,
    lastName: ERASED_MARKER,
    email: ERASED_MARKER,
    phone: erasedValue(current.phone),
    birthDate: null,
  };
  const set: Record<string, unknown> = { ...personal, erased: true };
  if (current.deactivationReason !== undefined) set.deactivationReason = erasedValue(current.deactivationReason);
  const updates: DocUpdate[] = [{ collection: 'users', id: p.userId, set }];
  if (current.userType === 'STUDENT')
    updates.push({
      collection: 'student360',
      id: p.userId,
      set: Object.fromEntries(Object.entries(personal).map(([k, v]) => [`profile.${k}`, v])),
    });
  return { updates, emit: [] };
}

/**
 * Refuses (dead-lettered with dlq.rule; no read model changes) a role change the user's own row decides against:
 * a user this processor holds no profile of (USER_UNKNOWN: no user.created applied; a document kept for a user
 * other events named before the user was created is not a user), a deactivated user (USER_DEACTIVATED), or new
 * roles the user's type may not hold (USER_ROLES_NOT_OF_TYPE). The change, the creation and the deactivation are
 * all keyed by the user, so they are read in one partition's order, live and in a rebuild alike.
 */
export function onRoleChanged(p: EventPayloads['user.role.changed'], current: Profile | undefined): Decision {
  if (!current?.userType) throw new RuleViolationError(`user ${p.userId} does not exist`, 'USER_UNKNOWN');
  if (current.status === 'DEACTIVATED') throw new RuleViolationError(`user ${p.userId} is deactivated`, 'USER_DEACTIVATED');
  const problem = rolesProblem(current.userType, p.newRoles);
  if (problem) throw new RuleViolationError(`user ${p.userId}: ${problem}`, 'USER_ROLES_NOT_OF_TYPE');
  return { updates: [{ collection: 'users', id: p.userId, set: { roles: p.newRoles } }], emit: [] };
}

/**
 * A parent link waiting for its parent to be known as a PARENT (collection `parked_links`, one document per
 * event; processors/users/links.ts releases it). No personal data: ids, the relationship, the event's time.
 */
export interface ParkedLink {
  _id: string;
  parentUserId: string;
  studentUserId: string;
  relationship: EventPayloads['student.parent.linked']['relationship'];
  rule: 'PARENT_LINK_NOT_PARENT';
  at: string;
}
/** What a link writes: each side's list of the other, and the student's 360. */
export function linkUpdates(p: Pick<EventPayloads['student.parent.linked'], 'studentUserId' | 'parentUserId'>): DocUpdate[] {
  return [
    { collection: 'users', id: p.studentUserId, addToSet: { parents: p.parentUserId } },
    { collection: 'users', id: p.parentUserId, addToSet: { children: p.studentUserId } },
    { collection: 'student360', id: p.studentUserId, addToSet: { parents: p.parentUserId } },
  ];
}

/** What a parked link waits for: its parent known as a PARENT (a type never changes, so this only ever becomes true). */
export const isParent = (parent: Pick<Profile, 'userType'> | null | undefined): boolean => parent?.userType === 'PARENT';

/**
 * PARENT_LINK_NOT_STUDENT is decided from the student's own row: the link is keyed by the student, so it follows
 * the student's user.created in one partition, live and in a rebuild alike; a link of a user never created or
 * not a STUDENT is refused (dead-lettered, nothing changes). PARENT_LINK_NOT_PARENT needs the parent's row, which
 * another partition writes: the link is applied once the parent is known as a PARENT and parked until then. A user
 * of another type never becomes one (a type never changes), so such a link stays parked for good, as a rebuild
 * that reads the parent after the link parks it too (refusing it on arrival would differ from that rebuild).
 */
export function onParentLinked(
  e: SchoolEvent<'student.parent.linked'>,
  student: Profile | undefined,
  parent: Profile | undefined,
): Decision {
  const p = e.payload;
  if (!student?.userType) throw new RuleViolationError(`student ${p.studentUserId} does not exist`, 'PARENT_LINK_NOT_STUDENT');
  if (student.userType !== 'STUDENT')
    throw new RuleViolationError(`user ${p.studentUserId} is a ${student.userType}, not a STUDENT`, 'PARENT_LINK_NOT_STUDENT');
  if (isParent(parent)) return { updates: linkUpdates(p), emit: [] };
  const parked: Omit<ParkedLink, '_id'> = {
    parentUserId: p.parentUserId,
    studentUserId: p.studentUserId,
    relationship: p.relationship,
    rule: 'PARENT_LINK_NOT_PARENT',
    at: e.timestamp,
  };
  return { updates: [{ collection: PARKED_LINKS, id: e.eventId, set: parked }], emit: [] };
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
  // The 360's enrollment is read from academic's projection at query time (student360.ts), not from this decision.
  return { updates: [{ collection: 'enrollment_refs', id: p.enrollmentId, set: { studentUserId: p.studentUserId } }], emit: [result] };
}

/** CompensateUserValidation: the section step failed, or its compensation ran, so the validation no longer stands. */
export function compensateValidation(enrollmentId: string, studentUserId: string | undefined, reason: string): Decision {
  return {
    updates: [],
    emit: [emit('enrollment.user.validation.compensated', { enrollmentId, studentUserId: studentUserId ?? 'unknown', reason })],
  };
}

/**
 * What users remembers of one enrollment (collection enrollment_refs): its student, for
 * CompensateUserValidation (the compensation events name only the enrollment). Written once, by the
 * request (student.enrolled). Where the enrollment stands is academic's (the 360 reads it there).
 */
export interface EnrollmentRef {
  _id: string;
  studentUserId?: string;
}
