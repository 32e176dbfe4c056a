import type { PoolClient } from 'pg';
import type { EventType, SagaStep, SchoolEvent } from '../../schemas/generated/events';
import { narrow, unhandled } from '../shared/handled';
import { RuleViolationError } from '../runtime/errors';
import type { Emitted, ProjectContext } from '../runtime/types';
import { toEvents } from '../shared/emit';
import { SAGA_TIMELINE } from '../shared/saga';
import {
  decideSaga,
  onStudentEnrolled,
  onStudentTransferred,
  onUserValidated,
  type Change,
  replayedAssignment,
  type Decision,
  type Enrollment,
  type Section,
} from './handlers';

interface EnrollmentRow {
  enrollment_id: string;
  student_user_id: string;
  section_id: string;
  academic_year_id: string;
  status: Enrollment['status'];
  current_step: SagaStep;
  failed_step: SagaStep | null;
  failure_reason: string | null;
  seat_held: boolean;
  active: boolean;
  compensated: SagaStep[];
  warnings: string[];
  deadline_expired: boolean;
}

const toEnrollment = (r: EnrollmentRow): Enrollment => ({
  enrollmentId: r.enrollment_id,
  studentUserId: r.student_user_id,
  sectionId: r.section_id,
  academicYearId: r.academic_year_id,
  status: r.status,
  currentStep: r.current_step,
  failedStep: r.failed_step,
  failureReason: r.failure_reason,
  seatHeld: r.seat_held,
  active: r.active,
  compensated: r.compensated,
  warnings: r.warnings,
  deadlineExpired: r.deadline_expired,
});

/**
 * What deciding on one saga event needs to know first, read in one round trip after taking the
 * enrollment's lock (migration 004): the enrollment (row-locked), whether the event's cause and the step it
 * waits for are applied, and whether events of it are parked.
 */
interface EventState {
  enrollment: Enrollment | undefined;
  causeApplied: boolean;
  stepDone: boolean;
  parked: boolean;
}

async function eventState(tx: PoolClient, event: SchoolEvent<Handled>, enrollmentId: string): Promise<EventState> {
  const r = await tx.query<{ enrollment: EnrollmentRow | null; cause_applied: boolean; step_done: boolean; parked: boolean }>(
    'select * from academic_event_state($1, $2, $3, $4)',
    [`enrollment:${enrollmentId}`, enrollmentId, event.causationId ?? null, AFTER_STEP[event.eventType] ?? null],
  );
  const row = r.rows[0]!;
  return {
    enrollment: row.enrollment ? toEnrollment(row.enrollment) : undefined,
    causeApplied: row.cause_applied,
    stepDone: row.step_done,
    parked: row.parked,
  };
}

async function loadSection(tx: PoolClient, id: string): Promise<Section | undefined> {
  const r = await tx.query<{ id: string; academic_year_id: string; capacity: number; seats_taken: number }>(
    'select id, academic_year_id, capacity, seats_taken from sections where id = $1 for update',
    [id],
  );
  const row = r.rows[0];
  return row ? { id: row.id, academicYearId: row.academic_year_id, capacity: row.capacity, seatsTaken: row.seats_taken } : undefined;
}

const COLUMNS: Record<string, string> = {
  studentUserId: 'student_user_id',
  sectionId: 'section_id',
  academicYearId: 'academic_year_id',
  status: 'status',
  currentStep: 'current_step',
  failedStep: 'failed_step',
  failureReason: 'failure_reason',
  seatHeld: 'seat_held',
  active: 'active',
  compensated: 'compensated',
  warnings: 'warnings',
  deadlineExpired: 'deadline_expired',
};

interface Statement {
  text: string;
  values: unknown[];
}

const stmt = (text: string, values: unknown[]): Statement => ({ text, values });

/** One statement running `first` (an insert without RETURNING) as a CTE, then `then`; their parameters renumbered. */
export function withFirst(first: Statement, then: Statement): Statement {
  const shift = first.values.length;
  return {
    text: `with first_write as (${first.text})\n${then.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + shift}`)}`,
    values: [...first.values, ...then.values],
  };
}

/** The statement that writes one change. */
function statementOf(c: Change, at: string): Statement {
  switch (c.kind) {
    case 'upsertYear':
      return stmt(
        `insert into academic_years (id, name, start_date, end_date, grading_periods) values ($1, $2, $3, $4, $5)
         on conflict (id) do update set name = excluded.name, start_date = excluded.start_date, end_date = excluded.end_date, grading_periods = excluded.grading_periods`,
        [c.year.academicYearId, c.year.name, c.year.startDate, c.year.endDate, JSON.stringify(c.year.gradingPeriods)],
      );
    case 'upsertSection':
      return stmt(
        `insert into sections (id, academic_year_id, name, grade_level, capacity, homeroom) values ($1, $2, $3, $4, $5, $6)
         on conflict (id) do update set academic_year_id = excluded.academic_year_id, name = excluded.name, grade_level = excluded.grade_level,
           capacity = excluded.capacity, homeroom = excluded.homeroom`,
        [c.section.sectionId, c.section.academicYearId, c.section.name, c.section.gradeLevel, c.section.capacity, c.section.homeroom],
      );
    case 'upsertCourse':
      return stmt(
        `insert into section_courses (section_id, course_id, course_name, weekly_hours) values ($1, $2, $3, $4)
         on conflict (section_id, course_id) do update set course_name = excluded.course_name, weekly_hours = excluded.weekly_hours`,
        [c.course.sectionId, c.course.courseId, c.course.courseName, c.course.weeklyHours],
      );
    case 'createEnrollment': {
      const e = c.enrollment;
      return stmt(
        `insert into enrollments (enrollment_id, student_user_id, section_id, academic_year_id, enrollment_date, enrollment_type, previous_institution,
           correlation_id, status, current_step, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', 'VALIDATE_USER', $9, $9)`,
        [
          e.enrollmentId,
          e.studentUserId,
          e.sectionId,
          e.academicYearId,
          e.enrollmentDate,
          e.enrollmentType,
          e.previousInstitution,
          c.correlationId,
          at,
        ],
      );
    }
    case 'patchEnrollment': {
      const entries = Object.entries(c.patch);
      const sets = entries.map(([k], i) => `${COLUMNS[k] ?? k} = $${i + 2}`);
      const values = entries.map(([, v]) => (Array.isArray(v) ? JSON.stringify(v) : v));
      return stmt(`update enrollments set ${sets.join(', ')}, updated_at = $${entries.length + 2} where enrollment_id = $1`, [
        c.enrollmentId,
        ...values,
        at,
      ]);
    }
    case 'seats':
      // A rebuild can apply a recorded seat before it reads the section (another partition): the count waits
      // on a placeholder row that section.created fills in (its upsert keeps seats_taken). Live, never. (The
      // proposed row must pass the check constraint even when it conflicts, hence greatest.)
      return stmt(
        `insert into sections (id, academic_year_id, name, grade_level, capacity, seats_taken) values ($1, '', '', 0, 0, greatest($2::int, 0))
         on conflict (id) do update set seats_taken = sections.seats_taken + $2::int`,
        [c.sectionId, c.delta],
      );
    default: {
      const never: never = c;
      throw new Error(`unknown change ${JSON.stringify(never)}`);
    }
  }
}

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
] as const satisfies readonly EventType[];
type Handled = (typeof HANDLES)[number];

/** `enrollment`: the event's enrollment as its state read it (row-locked), for events that name one. */
async function decide(
  event: SchoolEvent<Handled>,
  tx: PoolClient,
  replaying: boolean,
  enrollment: Enrollment | undefined,
): Promise<Decision> {
  switch (event.eventType) {
    case 'academic.year.started':
      return { changes: [{ kind: 'upsertYear', year: event.payload }], emit: [] };
    case 'section.created':
      return { changes: [{ kind: 'upsertSection', section: event.payload }], emit: [] };
    case 'course.assigned':
      return { changes: [{ kind: 'upsertCourse', course: event.payload }], emit: [] };
    case 'student.enrolled':
      return onStudentEnrolled(event, enrollment);
    case 'enrollment.user.validated':
      if (replaying) return { changes: [], emit: [] }; // the recorded outcome (below) decides during a rebuild
      return onUserValidated(event, enrollment, enrollment ? await loadSection(tx, enrollment.sectionId) : undefined);
    case 'student.transferred': {
      const d = onStudentTransferred(event, enrollment, await loadSection(tx, event.payload.toSectionId));
      if ('refused' in d) throw new RuleViolationError(`transfer refused: ${d.refused}`);
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

async function record(event: SchoolEvent<Handled>, decision: Decision, tx: PoolClient): Promise<void> {
  const statements = decision.changes.map((c) => statementOf(c, event.timestamp));
  const entry = SAGA_TIMELINE[event.eventType];
  if (entry && 'enrollmentId' in event.payload) {
    const detail = 'message' in event.payload ? event.payload.message : 'reason' in event.payload ? String(event.payload.reason) : null;
    const timeline = stmt(
      `insert into saga_timeline (enrollment_id, event_id, event_type, step, outcome, detail, at) values ($1, $2, $3, $4, $5, $6, $7)
       on conflict do nothing`,
      [
        event.payload.enrollmentId,
        event.eventId,
        event.eventType,
        event.eventType === 'enrollment.deadline.expired' ? event.payload.stalledStep : entry.step,
        entry.outcome,
        detail,
        event.timestamp,
      ],
    );
    // The timeline entry rides with the last change as a data-modifying CTE: one round trip less per saga event.
    const last = statements.pop();
    statements.push(last ? withFirst(timeline, last) : timeline);
  }
  for (const st of statements) await tx.query(st.text, st.values);
}

/** Saga events academic itself emits (each in the transaction that applied its cause, live). */
const OWN: ReadonlySet<EventType> = new Set([
  'enrollment.section.assigned',
  'enrollment.section.assignment.failed',
  'enrollment.section.assignment.compensated',
  'enrollment.compensated',
  'enrollment.completed',
  'enrollment.failed',
  'enrollment.deadline.expired',
]);

const OWN_TYPES = [...OWN];

/** Saga events caused by an event academic does not consume (the notification sent): they wait for the step before instead. */
const AFTER_STEP: Partial<Record<EventType, EventType>> = {
  'enrollment.welcome.sent': 'enrollment.attendance.initialized',
  'enrollment.welcome.failed': 'enrollment.attendance.initialized',
};

/**
 * Whether an event must wait: a rebuild reads the topics in another interleaving than live did;
 * applying each saga event after its cause keeps it on live's path.
 */
function mustWait(event: SchoolEvent<Handled>, replaying: boolean, appliedNow: ReadonlySet<string>, state: EventState): boolean {
  if (event.eventType === 'student.enrolled' || event.eventType === 'student.transferred') return false;
  if (!state.enrollment) return true; // it overtook its student.enrolled (another topic)
  if (AFTER_STEP[event.eventType]) return !state.stepDone;
  if (!event.causationId || appliedNow.has(event.causationId)) return false;
  // Live, academic's own events follow their cause, applied in the same transaction.
  if (OWN.has(event.eventType) && !replaying) return false;
  return !state.causeApplied;
}

/**
 * In a rebuild, a decision that emitted events live is taken only once its recorded outcome (academic's own
 * event caused by it) has been read: of two events racing for one saga (the welcome and the deadline, say),
 * the one that won live decides again, and the loser, tried after it, changes nothing, as it did live.
 */
async function confirmed(tx: PoolClient, enrollmentId: string, eventId: string): Promise<boolean> {
  const r = await tx.query(
    `select 1 from saga_inbox where enrollment_id = $1 and event->>'causationId' = $2 and event->>'eventType' = any($3::text[])`,
    [enrollmentId, eventId, OWN_TYPES],
  );
  return (r.rowCount ?? 0) > 0;
}

type Attempt = { applied: true; emitted: Emitted } | { applied: false };

async function attempt(
  event: SchoolEvent<Handled>,
  tx: PoolClient,
  ctx: ProjectContext,
  appliedNow: ReadonlySet<string>,
  /** Read just before, for an event that names an enrollment (parked ones are read again when retried). */
  state: EventState | undefined,
): Promise<Attempt> {
  const enrollmentId = 'enrollmentId' in event.payload ? event.payload.enrollmentId : undefined;
  if (state && mustWait(event, ctx.replaying, appliedNow, state)) return { applied: false };
  const decision = await decide(event, tx, ctx.replaying, state?.enrollment);
  if (ctx.replaying && enrollmentId && decision.emit.length && !(await confirmed(tx, enrollmentId, event.eventId)))
    return { applied: false };
  await record(event, decision, tx);
  const emitted = ctx.replaying ? [] : toEvents(event, decision.emit, ctx);
  for (const e of emitted) {
    if (e.eventType === 'enrollment.failed' && e.payload.outcome === 'COMPENSATION_FAILED') {
      // Terminal and never retried: an operator must look (the event itself is the alert for downstream).
      ctx.logger.error('saga compensation failed', {
        enrollmentId: e.payload.enrollmentId,
        failedStep: e.payload.failedStep,
        reason: e.payload.reason,
        correlationId: e.correlationId,
      });
    }
  }
  return { applied: true, emitted };
}

/** Retrying a parked event must not fail the batch: a transfer refused now stays parked, as it was never applied. */
async function retry(
  event: SchoolEvent<Handled>,
  enrollmentId: string,
  tx: PoolClient,
  ctx: ProjectContext,
  appliedNow: ReadonlySet<string>,
): Promise<Attempt> {
  await tx.query('savepoint retry_parked');
  try {
    const a = await attempt(event, tx, ctx, appliedNow, await eventState(tx, event, enrollmentId));
    await tx.query('release savepoint retry_parked');
    return a;
  } catch (e) {
    if (!(e instanceof RuleViolationError)) throw e;
    await tx.query('rollback to savepoint retry_parked');
    return { applied: false };
  }
}

async function handle(event: SchoolEvent<Handled>, tx: PoolClient, ctx: ProjectContext): Promise<Emitted> {
  const enrollmentId = 'enrollmentId' in event.payload ? event.payload.enrollmentId : undefined;
  const appliedNow = new Set<string>();
  if (!enrollmentId) {
    const only = await attempt(event, tx, ctx, appliedNow, undefined);
    return only.applied ? only.emitted : [];
  }
  // One enrollment's events come from several topics and partitions: its lock (taken here) serialises them,
  // so a parked event and the event that releases it never miss each other.
  const state = await eventState(tx, event, enrollmentId);
  const first = await attempt(event, tx, ctx, appliedNow, state);
  const emitted: Emitted = [];
  if (first.applied) {
    emitted.push(...first.emitted);
    appliedNow.add(event.eventId);
  } else {
    await tx.query('insert into saga_inbox (enrollment_id, event_id, event) values ($1, $2, $3) on conflict do nothing', [
      enrollmentId,
      event.eventId,
      JSON.stringify(event),
    ]);
  }
  // An applied event may release parked ones; in a rebuild a parked event may also confirm another.
  // Try them in event-time order until none applies. (None were parked: nothing to try; parking takes the lock.)
  for (let progressed = (first.applied && state.parked) || ctx.replaying; progressed;) {
    progressed = false;
    const parked = await tx.query<{ event: SchoolEvent }>('select event from saga_inbox where enrollment_id = $1', [enrollmentId]);
    const ordered = parked.rows
      .map((r) => narrow(r.event, HANDLES))
      .sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.eventId.localeCompare(b.eventId));
    for (const early of ordered) {
      const a = await retry(early, enrollmentId, tx, ctx, appliedNow);
      if (!a.applied) continue;
      await tx.query('delete from saga_inbox where enrollment_id = $1 and event_id = $2', [enrollmentId, early.eventId]);
      emitted.push(...a.emitted);
      appliedNow.add(early.eventId);
      progressed = true;
      break;
    }
  }
  return emitted;
}

export async function projectAcademic(input: SchoolEvent, tx: PoolClient, ctx: ProjectContext): Promise<Emitted> {
  return handle(narrow(input, HANDLES), tx, ctx);
}
