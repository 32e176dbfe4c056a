import { parseTraceparent } from '../../lib/tracing';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { narrow, unhandled } from '../shared/handled';
import { RuleViolationError } from '../runtime/errors';
import type { ChunkFold, Emitted, ProjectContext } from '../runtime/types';
import { toEvents } from '../shared/emit';
import { SAGA_TIMELINE } from '../shared/saga';
import {
  decideSaga,
  onPersonalDataErased,
  onStudentEnrolled,
  onStudentTransferred,
  onUserValidated,
  replayedAssignment,
  type Change,
  type Decision,
  type Enrollment,
} from './handlers';
import { flushAcademic, loadAcademic, type AcademicState } from './store';

export const HANDLES = [
  'academic.year.started',
  'section.created',
  'course.assigned',
  'student.enrolled',
  'student.transferred',
  'enrollment.user.validated',
  'enrollment.user.validation.failed',
  'enrollment.user.validation.compensated',
  'enrollment.section.assigned',
  'enrollment.section.assignment.failed',
  'enrollment.section.assignment.compensated',
  'enrollment.grades.initialized',
  'enrollment.grades.initialization.failed',
  'enrollment.grades.compensated',
  'enrollment.attendance.initialized',
  'enrollment.attendance.initialization.failed',
  'enrollment.welcome.sent',
  'enrollment.welcome.failed',
  'enrollment.compensated',
  'enrollment.completed',
  'enrollment.failed',
  'enrollment.deadline.expired',
  'user.personal-data.erased',
] as const satisfies readonly EventType[];
type Handled = (typeof HANDLES)[number];

/** Saga events academic itself emits (each in the chunk that applied its cause, live). */
const OWN: ReadonlySet<EventType> = new Set([
  'enrollment.section.assigned',
  'enrollment.section.assignment.failed',
  'enrollment.section.assignment.compensated',
  'enrollment.compensated',
  'enrollment.completed',
  'enrollment.failed',
  'enrollment.deadline.expired',
]);

/** Saga events caused by an event academic does not consume (the notification sent): they wait for the step before instead. */
const AFTER_STEP: Partial<Record<EventType, EventType>> = {
  'enrollment.welcome.sent': 'enrollment.attendance.initialized',
  'enrollment.welcome.failed': 'enrollment.attendance.initialized',
};

/** The decision on one event over the chunk's state (pure; `replaying`: academic's seat decisions replay their recorded outcome). */
function decide(event: SchoolEvent<Handled>, s: AcademicState, replaying: boolean, enrollment: Enrollment | undefined): Decision {
  switch (event.eventType) {
    case 'academic.year.started':
      return { changes: [{ kind: 'upsertYear', year: event.payload }], emit: [] };
    case 'section.created':
      return { changes: [{ kind: 'upsertSection', section: event.payload }], emit: [] };
    case 'course.assigned':
      return { changes: [{ kind: 'upsertCourse', course: event.payload }], emit: [] };
    case 'user.personal-data.erased':
      return onPersonalDataErased(event.payload);
    case 'student.enrolled':
      return onStudentEnrolled(event, enrollment);
    case 'enrollment.user.validated':
      if (replaying) return { changes: [], emit: [] }; // the recorded outcome (below) decides during a rebuild
      return onUserValidated(event, enrollment, enrollment ? s.sections.get(enrollment.sectionId) : undefined);
    case 'student.transferred': {
      const d = onStudentTransferred(event, enrollment, s.sections.get(event.payload.toSectionId));
      if ('refused' in d) throw new RuleViolationError(`transfer refused: ${d.refused}`, d.rule);
      return d;
    }
    case 'enrollment.section.assigned':
    case 'enrollment.section.assignment.failed':
      return replaying && enrollment?.status === 'PENDING' ? replayedAssignment(event, enrollment) : decideSaga(event, enrollment);
    case 'enrollment.user.validation.failed':
    case 'enrollment.user.validation.compensated':
    case 'enrollment.section.assignment.compensated':
    case 'enrollment.grades.initialized':
    case 'enrollment.grades.initialization.failed':
    case 'enrollment.grades.compensated':
    case 'enrollment.attendance.initialized':
    case 'enrollment.attendance.initialization.failed':
    case 'enrollment.welcome.sent':
    case 'enrollment.welcome.failed':
    case 'enrollment.compensated':
    case 'enrollment.completed':
    case 'enrollment.failed':
    case 'enrollment.deadline.expired':
      return decideSaga(event, enrollment);
    default:
      return unhandled(event);
  }
}

/** Applies one change to the chunk's state. */
function change(s: AcademicState, c: Change, at: string): void {
  switch (c.kind) {
    case 'upsertYear':
      s.years.set(c.year.academicYearId, c.year);
      return;
    case 'upsertSection': {
      const { sectionId, academicYearId, name, gradeLevel, capacity, homeroom } = c.section;
      const seatsTaken = s.sections.get(sectionId)?.seatsTaken ?? 0; // seats counted before the section was read stay
      s.sections.set(sectionId, { id: sectionId, academicYearId, name, gradeLevel, capacity, homeroom, seatsTaken });
      s.changedSections.add(sectionId);
      return;
    }
    case 'upsertCourse':
      s.courses.set(`${c.course.sectionId}\u0000${c.course.courseId}`, c.course);
      return;
    case 'createEnrollment': {
      const e = c.enrollment;
      s.enrollments.set(e.enrollmentId, {
        enrollmentId: e.enrollmentId,
        studentUserId: e.studentUserId,
        sectionId: e.sectionId,
        academicYearId: e.academicYearId,
        status: 'PENDING',
        currentStep: 'VALIDATE_USER',
        failedStep: null,
        failureReason: null,
        seatHeld: false,
        active: true,
        compensated: [],
        warnings: [],
        deadlineExpired: false,
      });
      s.created.set(e.enrollmentId, { enrollment: e, correlationId: c.correlationId, at });
      s.touched.set(e.enrollmentId, at);
      return;
    }
    case 'patchEnrollment': {
      const e = s.enrollments.get(c.enrollmentId);
      if (!e) throw new Error(`academic: patch of enrollment ${c.enrollmentId}, which the chunk did not read`);
      s.enrollments.set(c.enrollmentId, { ...e, ...c.patch });
      s.touched.set(c.enrollmentId, at);
      return;
    }
    case 'seats': {
      if (!s.sectionsRead.has(c.sectionId))
        throw new Error(`academic: seat change in section ${c.sectionId}, which the chunk did not read`);
      const sec = s.sections.get(c.sectionId);
      // A rebuild can apply a recorded seat before it reads the section (another partition): the count waits on a
      // placeholder row that section.created fills in (keeping the count). Live, never.
      s.sections.set(
        c.sectionId,
        sec
          ? { ...sec, seatsTaken: sec.seatsTaken + c.delta }
          : { id: c.sectionId, academicYearId: '', name: '', gradeLevel: 0, capacity: 0, homeroom: null, seatsTaken: Math.max(c.delta, 0) },
      );
      s.changedSections.add(c.sectionId);
      return;
    }
    case 'eraseStudent': {
      s.erasedStudents.add(c.studentUserId);
      // Created in this chunk: the insert carries the marker (the flush's update would not see the new row).
      for (const [id, created] of s.created)
        if (created.enrollment.studentUserId === c.studentUserId && created.enrollment.previousInstitution !== null)
          s.created.set(id, { ...created, enrollment: { ...created.enrollment, previousInstitution: ERASED_MARKER } });
      return;
    }
    default: {
      const never: never = c;
      throw new Error(`unknown change ${JSON.stringify(never)}`);
    }
  }
}

/** The decision's changes, and the saga timeline entry of the event. */
function record(s: AcademicState, event: SchoolEvent<Handled>, decision: Decision): void {
  for (const c of decision.changes) change(s, c, event.timestamp);
  const entry = SAGA_TIMELINE[event.eventType];
  if (!entry || !('enrollmentId' in event.payload)) return;
  const enrollmentId = event.payload.enrollmentId;
  const applied = s.applied.get(enrollmentId) ?? new Map<string, string>();
  if (applied.has(event.eventId)) return;
  applied.set(event.eventId, event.eventType);
  s.applied.set(enrollmentId, applied);
  const p = event.payload as { message?: string; reason?: unknown };
  s.timeline.push({
    enrollmentId,
    eventId: event.eventId,
    eventType: event.eventType,
    step: event.eventType === 'enrollment.deadline.expired' ? event.payload.stalledStep : entry.step,
    outcome: entry.outcome,
    detail: 'message' in p ? (p.message ?? null) : 'reason' in p ? String(p.reason) : null,
    at: event.timestamp,
  });
}

/**
 * Whether an event must wait: a rebuild reads the topics in another interleaving than live did; applying each
 * saga event after its cause keeps it on live's path.
 */
function mustWait(
  s: AcademicState,
  event: SchoolEvent<Handled>,
  enrollmentId: string,
  replaying: boolean,
  appliedNow: ReadonlySet<string>,
): boolean {
  if (event.eventType === 'student.enrolled' || event.eventType === 'student.transferred') return false;
  if (!s.enrollments.has(enrollmentId)) return true; // it overtook its student.enrolled (another topic)
  const applied = s.applied.get(enrollmentId);
  const step = AFTER_STEP[event.eventType];
  if (step) return ![...(applied?.values() ?? [])].includes(step);
  if (!event.causationId || appliedNow.has(event.causationId)) return false;
  // Live, academic's own events follow their cause, applied in the same chunk.
  if (OWN.has(event.eventType) && !replaying) return false;
  return !applied?.has(event.causationId);
}

/**
 * Applies one event over the chunk's state if it need not wait; false if it must. In a rebuild, a decision that
 * emitted events live is taken only once its recorded outcome (academic's own event caused by it) has been read:
 * of two events racing for one saga (the welcome and the deadline, say), the one that won live decides again,
 * and the loser, tried after it, changes nothing, as it did live.
 */
function attempt(s: AcademicState, event: SchoolEvent<Handled>, ctx: ProjectContext, appliedNow: Set<string>, out: Emitted): boolean {
  const enrollmentId = 'enrollmentId' in event.payload ? event.payload.enrollmentId : undefined;
  if (enrollmentId && mustWait(s, event, enrollmentId, ctx.replaying, appliedNow)) return false;
  const decision = decide(event, s, ctx.replaying, enrollmentId ? s.enrollments.get(enrollmentId) : undefined);
  if (ctx.replaying && enrollmentId && decision.emit.length && !s.inbox.holdsEffectOf(enrollmentId, event.eventId, OWN)) return false;
  record(s, event, decision);
  appliedNow.add(event.eventId);
  if (ctx.replaying) return true;
  for (const e of toEvents(event, decision.emit, ctx)) {
    if (e.eventType === 'enrollment.failed' && e.payload.outcome === 'COMPENSATION_FAILED') {
      // Terminal and never retried: an operator must look (the event itself is the alert for downstream).
      ctx.logger.error('saga compensation failed', {
        enrollmentId: e.payload.enrollmentId,
        failedStep: e.payload.failedStep,
        reason: e.payload.reason,
        eventId: event.eventId,
        correlationId: e.correlationId,
        traceId: parseTraceparent(event.metadata.traceparent)?.traceId,
      });
    }
    out.push(e);
  }
  return true;
}

/** One event: applied or parked in the causal inbox; what it applied may release parked events of its enrollment. */
function foldAcademic(s: AcademicState, input: SchoolEvent, ctx: ProjectContext): Emitted {
  const event = narrow(input, HANDLES);
  const out: Emitted = [];
  const appliedNow = new Set<string>();
  if (!('enrollmentId' in event.payload)) {
    attempt(s, event, ctx, appliedNow, out);
    return out;
  }
  const apply = (e: SchoolEvent, retried: boolean): boolean => {
    try {
      return attempt(s, narrow(e, HANDLES), ctx, appliedNow, out);
    } catch (err) {
      // A parked transfer refused now stays parked, as if never applied; refused on arrival, it is dead-lettered.
      if (retried && err instanceof RuleViolationError) return false;
      throw err;
    }
  };
  s.inbox.settle(event.payload.enrollmentId, event, apply, ctx.replaying);
  return out;
}

export const academicFold: ChunkFold<AcademicState> = {
  handles: HANDLES,
  load: loadAcademic,
  fold: foldAcademic,
  flush: flushAcademic,
};
