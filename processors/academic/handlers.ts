import type { EventPayloads, SagaStep, SchoolEvent } from '../../schemas/generated/events';
import { emit, type EmitSpec } from '../shared/emit';
import { unhandled } from '../shared/handled';
import type { RuleCode } from '../shared/invariants';

/**
 * Academic: years, sections (seats), courses per section, and enrollments, which are
 * also the saga state. Owns saga step 1 (CreateEnrollment), step 3 (AssignToSection),
 * the compensations CompensateSectionAssignment and CompensateEnrollment, and the end
 * of every saga (COMPLETED or FAILED). Pure: (event, state) → changes + events.
 */

export type EnrollmentStatus =
  | 'PENDING'
  | 'USER_VALIDATED'
  | 'SEATED'
  | 'GRADES_INITIALIZED'
  | 'ATTENDANCE_INITIALIZED'
  | 'COMPENSATING'
  | 'COMPLETED'
  | 'FAILED'
  | 'COMPENSATION_FAILED';

export interface Enrollment {
  enrollmentId: string;
  studentUserId: string;
  sectionId: string;
  academicYearId: string;
  status: EnrollmentStatus;
  currentStep: SagaStep;
  failedStep: SagaStep | null;
  failureReason: string | null;
  seatHeld: boolean;
  active: boolean;
  compensated: SagaStep[];
  warnings: string[];
  deadlineExpired: boolean;
}

export interface Section {
  id: string;
  academicYearId: string;
  capacity: number;
  seatsTaken: number;
}

export type Change =
  | { kind: 'upsertYear'; year: EventPayloads['academic.year.started'] }
  | { kind: 'upsertSection'; section: EventPayloads['section.created'] }
  | { kind: 'upsertCourse'; course: EventPayloads['course.assigned'] }
  | { kind: 'createEnrollment'; enrollment: EventPayloads['student.enrolled']; correlationId: string }
  | { kind: 'patchEnrollment'; enrollmentId: string; patch: Partial<Omit<Enrollment, 'enrollmentId'>> }
  | { kind: 'seats'; sectionId: string; delta: 1 | -1 }
  /** The student's personal data was erased: their enrollments' previous institution becomes the marker. */
  | { kind: 'eraseStudent'; studentUserId: string };

export interface Decision {
  changes: Change[];
  emit: EmitSpec[];
}

const none: Decision = { changes: [], emit: [] };

/**
 * user.personal-data.erased (issue 21): the previous institution each enrollment of the person holds (from
 * student.enrolled, decrypted) becomes the marker, as a rebuild decodes it once their key is gone. The
 * enrollments themselves, their saga and seats are facts about the opaque id and stay.
 */
export function onPersonalDataErased(p: EventPayloads['user.personal-data.erased']): Decision {
  return { changes: [{ kind: 'eraseStudent', studentUserId: p.userId }], emit: [] };
}

const PROGRESS: Partial<Record<EnrollmentStatus, number>> = {
  PENDING: 0,
  USER_VALIDATED: 1,
  SEATED: 2,
  GRADES_INITIALIZED: 3,
  ATTENDANCE_INITIALIZED: 4,
  COMPLETED: 5,
};

/** True when `to` is further along than the saga is, and the saga is not compensating or ended. */
function movesForward(enr: Enrollment, to: EnrollmentStatus): boolean {
  const from = PROGRESS[enr.status];
  return from !== undefined && from < (PROGRESS[to] ?? -1);
}
const TERMINAL: EnrollmentStatus[] = ['COMPLETED', 'FAILED', 'COMPENSATION_FAILED'];

export function onStudentEnrolled(e: SchoolEvent<'student.enrolled'>, existing: Enrollment | undefined): Decision {
  // Step 1. A repeated enrollment id is the same enrollment, not a new one.
  if (existing) return none;
  return { changes: [{ kind: 'createEnrollment', enrollment: e.payload, correlationId: e.correlationId }], emit: [] };
}

/** Step 3: a seat in the section, of the same academic year, if one is free. */
const assignmentFailed = (enr: Enrollment, message: string): Change =>
  ({
    kind: 'patchEnrollment',
    enrollmentId: enr.enrollmentId,
    patch: { status: 'COMPENSATING', currentStep: 'ASSIGN_TO_SECTION', failedStep: 'ASSIGN_TO_SECTION', failureReason: message },
  }) as const;
const seated = (enr: Enrollment, sectionId: string): Change[] => [
  { kind: 'seats', sectionId, delta: 1 },
  {
    kind: 'patchEnrollment',
    enrollmentId: enr.enrollmentId,
    patch: { status: 'SEATED', currentStep: 'INITIALIZE_GRADES', seatHeld: true },
  },
];

export function onUserValidated(
  e: SchoolEvent<'enrollment.user.validated'>,
  enr: Enrollment | undefined,
  section: Section | undefined,
): Decision {
  if (!enr || enr.status !== 'PENDING') return none;
  const fail = (reason: EventPayloads['enrollment.section.assignment.failed']['reason'], message: string): Decision => ({
    changes: [assignmentFailed(enr, message)],
    emit: [emit('enrollment.section.assignment.failed', { enrollmentId: enr.enrollmentId, sectionId: enr.sectionId, reason, message })],
  });
  if (!section) return fail('SECTION_NOT_FOUND', `section ${enr.sectionId} does not exist`);
  if (section.academicYearId !== enr.academicYearId) {
    return fail(
      'ACADEMIC_YEAR_MISMATCH',
      `section ${section.id} belongs to academic year ${section.academicYearId}, not ${enr.academicYearId}`,
    );
  }
  if (section.seatsTaken >= section.capacity)
    return fail('SECTION_FULL', `section ${section.id} is full (${section.seatsTaken} of ${section.capacity} seats taken)`);
  return {
    changes: seated(enr, section.id),
    emit: [
      emit('enrollment.section.assigned', {
        enrollmentId: enr.enrollmentId,
        studentUserId: enr.studentUserId,
        sectionId: section.id,
        seatsTaken: section.seatsTaken + 1,
        capacity: section.capacity,
      }),
    ],
  };
}

/**
 * During a rebuild the seat decision is not taken again (it depends on the order events of
 * several partitions arrive in, which a replay does not reproduce): academic's own recorded
 * outcome is applied instead, with the same changes the live decision made.
 */
export function replayedAssignment(
  e: SchoolEvent<'enrollment.section.assigned' | 'enrollment.section.assignment.failed'>,
  enr: Enrollment | undefined,
): Decision {
  if (!enr || enr.status !== 'PENDING') return none;
  return e.eventType === 'enrollment.section.assigned'
    ? { changes: seated(enr, e.payload.sectionId), emit: [] }
    : { changes: [assignmentFailed(enr, e.payload.message)], emit: [] };
}

/** The end of a saga that succeeded (possibly with warnings): COMPLETED, and enrollment.completed for everyone else. */
function complete(enr: Enrollment, warnings: string[], extra: Partial<Enrollment> = {}): Decision {
  return {
    changes: [
      {
        kind: 'patchEnrollment',
        enrollmentId: enr.enrollmentId,
        patch: { status: 'COMPLETED', currentStep: 'COMPLETE_ENROLLMENT', warnings, ...extra },
      },
    ],
    emit: [
      emit('enrollment.completed', {
        enrollmentId: enr.enrollmentId,
        studentUserId: enr.studentUserId,
        sectionId: enr.sectionId,
        warnings,
      }),
    ],
  };
}

/** A step succeeded: the saga moves to `status`, waiting for `next` (only forward; see movesForward). */
function advance(enr: Enrollment, status: EnrollmentStatus, next: SagaStep): Decision {
  if (!movesForward(enr, status)) return none;
  return { changes: [{ kind: 'patchEnrollment', enrollmentId: enr.enrollmentId, patch: { status, currentStep: next } }], emit: [] };
}

/** A later step failed: remember which and why (the first failure wins). */
function failure(enr: Enrollment, step: SagaStep, reason: string): Change {
  return {
    kind: 'patchEnrollment',
    enrollmentId: enr.enrollmentId,
    patch: { status: 'COMPENSATING', failedStep: enr.failedStep ?? step, failureReason: enr.failureReason ?? reason },
  };
}

/** CompensateSectionAssignment: free the seat (once), then hand over to the users processor. */
function compensateSection(enr: Enrollment, reason: string, extra: Change[], compensatedBefore: SagaStep[] = enr.compensated): Decision {
  const changes: Change[] = [...extra];
  if (enr.seatHeld) changes.push({ kind: 'seats', sectionId: enr.sectionId, delta: -1 });
  changes.push({
    kind: 'patchEnrollment',
    enrollmentId: enr.enrollmentId,
    patch: { seatHeld: false, compensated: [...compensatedBefore, 'ASSIGN_TO_SECTION'] },
  });
  return {
    changes,
    emit: [emit('enrollment.section.assignment.compensated', { enrollmentId: enr.enrollmentId, sectionId: enr.sectionId, reason })],
  };
}

/** CompensateEnrollment: the enrollment leaves the active read models; then the saga ends FAILED. */
function compensateEnrollment(enr: Enrollment, reason: string, extra: Change[]): Decision {
  return {
    changes: [...extra, { kind: 'patchEnrollment', enrollmentId: enr.enrollmentId, patch: { active: false } }],
    emit: [emit('enrollment.compensated', { enrollmentId: enr.enrollmentId, reason })],
  };
}

/** Saga events academic reacts to after step 1 and step 3 (each owner's events, DOMAIN.md). */
export type SagaReaction =
  | 'enrollment.user.validation.failed'
  | 'enrollment.section.assignment.failed'
  | 'enrollment.user.validation.compensated'
  | 'enrollment.section.assigned'
  | 'enrollment.section.assignment.compensated'
  | 'enrollment.grades.initialized'
  | 'enrollment.grades.initialization.failed'
  | 'enrollment.grades.compensated'
  | 'enrollment.attendance.initialized'
  | 'enrollment.attendance.initialization.failed'
  | 'enrollment.welcome.sent'
  | 'enrollment.welcome.failed'
  | 'enrollment.compensated'
  | 'enrollment.completed'
  | 'enrollment.failed'
  | 'enrollment.deadline.expired';

export function decideSaga(e: SchoolEvent<SagaReaction>, enr: Enrollment | undefined): Decision {
  if (!enr || TERMINAL.includes(enr.status)) return none;
  const reason = enr.failureReason ?? 'unknown';
  switch (e.eventType) {
    case 'enrollment.user.validation.failed':
      return compensateEnrollment(enr, e.payload.message, [failure(enr, 'VALIDATE_USER', e.payload.message)]);
    case 'enrollment.section.assignment.failed':
    case 'enrollment.section.assignment.compensated':
      return none; // the users processor compensates the validation next
    case 'enrollment.section.assigned':
    case 'enrollment.completed':
    case 'enrollment.failed':
      return none; // academic's own events: only the timeline records them
    case 'enrollment.user.validation.compensated':
      return compensateEnrollment(enr, reason, [
        { kind: 'patchEnrollment', enrollmentId: enr.enrollmentId, patch: { compensated: [...enr.compensated, 'VALIDATE_USER'] } },
      ]);
    // Forward steps only move a saga forward: events of different topics may arrive out of causal order
    // (attendance before grades), and a late success after a failure changes nothing.
    case 'enrollment.grades.initialized':
      return advance(enr, 'GRADES_INITIALIZED', 'INITIALIZE_ATTENDANCE');
    case 'enrollment.grades.initialization.failed':
      return compensateSection(enr, e.payload.message, [failure(enr, 'INITIALIZE_GRADES', e.payload.message)]);
    case 'enrollment.attendance.initialized':
      return advance(enr, 'ATTENDANCE_INITIALIZED', 'SEND_WELCOME_NOTIFICATION');
    case 'enrollment.attendance.initialization.failed':
      return { changes: [failure(enr, 'INITIALIZE_ATTENDANCE', e.payload.message)], emit: [] }; // grades compensates next
    case 'enrollment.grades.compensated':
      return compensateSection(enr, reason, [], [...enr.compensated, 'INITIALIZE_GRADES']);
    case 'enrollment.welcome.sent':
    case 'enrollment.welcome.failed': {
      if (!movesForward(enr, 'COMPLETED')) return none;
      const warnings =
        e.eventType === 'enrollment.welcome.failed' ? [...enr.warnings, `welcome notification failed: ${e.payload.reason}`] : enr.warnings;
      return complete(enr, warnings);
    }
    case 'enrollment.compensated': {
      const compensated: SagaStep[] = [...enr.compensated, 'CREATE_ENROLLMENT'];
      return {
        changes: [{ kind: 'patchEnrollment', enrollmentId: enr.enrollmentId, patch: { status: 'FAILED', compensated } }],
        emit: [
          emit('enrollment.failed', {
            enrollmentId: enr.enrollmentId,
            failedStep: enr.failedStep ?? 'CREATE_ENROLLMENT',
            reason,
            compensated, // appended as each compensation ran: newest step first
            outcome: enr.deadlineExpired ? 'DEADLINE_EXPIRED' : 'FAILED',
          }),
        ],
      };
    }
    case 'enrollment.deadline.expired':
      return onDeadline(e, enr);
    default:
      return unhandled(e);
  }
}

/**
 * A saga that made no progress within the deadline fails like a failure of the step it
 * waited for (and compensates the same way), unless it moved on since the check. A saga
 * stalled while compensating ends COMPENSATION_FAILED: terminal, reported, never retried.
 */
function onDeadline(e: SchoolEvent<'enrollment.deadline.expired'>, enr: Enrollment): Decision {
  if (enr.status !== e.payload.status || enr.deadlineExpired) return none;
  const why = `deadline expired: no progress for ${Math.round(e.payload.deadlineMs / 1000)} s waiting for ${e.payload.stalledStep}`;
  const mark: Change = { kind: 'patchEnrollment', enrollmentId: enr.enrollmentId, patch: { deadlineExpired: true } };
  switch (enr.status) {
    case 'PENDING':
    case 'USER_VALIDATED':
      return compensateEnrollment(enr, why, [failure(enr, 'VALIDATE_USER', why), mark]);
    case 'SEATED':
      return compensateSection(enr, why, [failure(enr, 'INITIALIZE_GRADES', why), mark]);
    case 'GRADES_INITIALIZED':
      return { changes: [failure(enr, 'INITIALIZE_ATTENDANCE', why), mark], emit: [] }; // grades compensates on this event
    case 'ATTENDANCE_INITIALIZED': {
      const warnings = [...enr.warnings, `welcome notification: ${why}`];
      return complete(enr, warnings, { deadlineExpired: true });
    }
    case 'COMPENSATING':
      return {
        changes: [
          { kind: 'patchEnrollment', enrollmentId: enr.enrollmentId, patch: { status: 'COMPENSATION_FAILED', deadlineExpired: true } },
        ],
        emit: [
          emit('enrollment.failed', {
            enrollmentId: enr.enrollmentId,
            failedStep: enr.failedStep ?? e.payload.stalledStep,
            reason: `${enr.failureReason ?? 'unknown'}; compensation stalled (${why})`,
            compensated: enr.compensated,
            outcome: 'COMPENSATION_FAILED',
          }),
        ],
      };
    case 'COMPLETED':
    case 'FAILED':
    case 'COMPENSATION_FAILED':
      return none; // ended meanwhile
    default:
      return unhandled(enr.status);
  }
}

/**
 * A transfer between sections frees the old seat and takes one in the new section.
 * Refused (dead letter) for an unknown enrollment or a full target: a student coming
 * from another institution enrolls with enrollmentType TRANSFER, which runs the saga.
 */
export function onStudentTransferred(
  e: SchoolEvent<'student.transferred'>,
  enr: Enrollment | undefined,
  to: Section | undefined,
): Decision | { refused: string; rule: RuleCode } {
  if (!enr || enr.status !== 'COMPLETED')
    return { refused: `enrollment ${e.payload.enrollmentId} is not a completed enrollment`, rule: 'TRANSFER_NOT_COMPLETED' };
  if (!to) return { refused: `section ${e.payload.toSectionId} does not exist`, rule: 'TRANSFER_SECTION_UNKNOWN' };
  if (enr.sectionId === to.id) return none;
  if (to.seatsTaken >= to.capacity)
    return { refused: `section ${to.id} is full (${to.seatsTaken} of ${to.capacity} seats taken)`, rule: 'TRANSFER_SECTION_FULL' };
  const changes: Change[] = [{ kind: 'seats', sectionId: to.id, delta: 1 }];
  if (enr.seatHeld) changes.push({ kind: 'seats', sectionId: enr.sectionId, delta: -1 });
  changes.push({ kind: 'patchEnrollment', enrollmentId: enr.enrollmentId, patch: { sectionId: to.id, seatHeld: true } });
  // The new seat is reported like step 3, so the same machinery initialises the new section: grades adds base
  // records for its courses (grades already recorded carry over), attendance moves the register, and the
  // student is welcomed to the new section. Academic ignores those steps for a completed enrollment.
  return {
    changes,
    emit: [
      emit('enrollment.section.assigned', {
        enrollmentId: enr.enrollmentId,
        studentUserId: enr.studentUserId,
        sectionId: to.id,
        seatsTaken: to.seatsTaken + 1,
        capacity: to.capacity,
      }),
    ],
  };
}
