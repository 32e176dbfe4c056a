import type { PoolClient } from 'pg';
import type { EventPayloads, SchoolEvent } from '../../schemas/generated/events';
import { columns } from '../runtime/columns';
import { CausalInbox } from './inbox';
import type { Enrollment, Section } from './handlers';

export interface SectionRow extends Section {
  name: string;
  gradeLevel: number;
  homeroom: string | null;
}

/** A timeline entry as the decisions read it back: which events of an enrollment were applied, of which type. */
export interface TimelineRow {
  enrollmentId: string;
  eventId: string;
  eventType: string;
  step: string;
  outcome: string;
  detail: string | null;
  at: string;
}

/** What a chunk of academic events needs and changes: loaded once, folded in memory, flushed once. */
export interface AcademicState {
  enrollments: Map<string, Enrollment>;
  /** Enrollments this chunk created: their creation columns and time. */
  created: Map<string, { enrollment: EventPayloads['student.enrolled']; correlationId: string; at: string }>;
  /** Changed enrollments → time of their last change (updated_at). */
  touched: Map<string, string>;
  sections: Map<string, SectionRow>;
  /** Every section id read (found or not): a seat change elsewhere would be a write without a read. */
  sectionsRead: Set<string>;
  changedSections: Set<string>;
  years: Map<string, EventPayloads['academic.year.started']>;
  courses: Map<string, EventPayloads['course.assigned']>;
  /** Per enrollment: the ids and types of its applied events (loaded and this chunk's). */
  applied: Map<string, Map<string, string>>;
  timeline: TimelineRow[];
  inbox: CausalInbox;
}

/** Every enrollment and section id an event (or a parked one) names. */
const enrollmentOf = (e: SchoolEvent): string | undefined => ('enrollmentId' in e.payload ? e.payload.enrollmentId : undefined);
function sectionsNamed(e: SchoolEvent): string[] {
  const p = e.payload as Partial<Record<'sectionId' | 'toSectionId' | 'fromSectionId', unknown>>;
  return [p.sectionId, p.toSectionId, p.fromSectionId].filter((s): s is string => typeof s === 'string');
}

/** Transaction-scoped advisory locks on sorted keys (same hashing as the runtime's chunk locks). */
async function lock(tx: PoolClient, keys: Iterable<string>): Promise<void> {
  const sorted = [...new Set(keys)].sort();
  if (sorted.length) await tx.query('select pg_advisory_xact_lock(hashtext(current_schema() || k)) from unnest($1::text[]) k', [sorted]);
}

interface EnrollmentLoad {
  id: string;
  enrollment: Enrollment | null;
  applied: Array<[string, string]>;
  parked: SchoolEvent[];
}

/**
 * The chunk's enrollments (with their applied event ids and parked events), then their sections: each set
 * locked in sorted order before it is read (enrollments before sections, so concurrent chunks — a rebuild's
 * partitions, a second instance — queue instead of deadlocking). Four round trips for the whole chunk.
 */
export async function loadAcademic(tx: PoolClient, events: SchoolEvent[]): Promise<AcademicState> {
  const enrollmentIds = [...new Set(events.map(enrollmentOf).filter((id): id is string => id !== undefined))];
  await lock(
    tx,
    enrollmentIds.map((id) => `enrollment:${id}`),
  );
  const loaded = enrollmentIds.length
    ? await tx.query<EnrollmentLoad>(
        `select k.id,
           case when e.enrollment_id is null then null else jsonb_build_object(
             'enrollmentId', e.enrollment_id, 'studentUserId', e.student_user_id, 'sectionId', e.section_id,
             'academicYearId', e.academic_year_id, 'status', e.status, 'currentStep', e.current_step, 'failedStep', e.failed_step,
             'failureReason', e.failure_reason, 'seatHeld', e.seat_held, 'active', e.active, 'compensated', e.compensated,
             'warnings', e.warnings, 'deadlineExpired', e.deadline_expired) end enrollment,
           (select coalesce(jsonb_agg(jsonb_build_array(t.event_id, t.event_type)), '[]') from saga_timeline t where t.enrollment_id = k.id) applied,
           (select coalesce(jsonb_agg(i.event), '[]') from saga_inbox i where i.enrollment_id = k.id) parked
         from unnest($1::text[]) k (id) left join enrollments e on e.enrollment_id = k.id`,
        [enrollmentIds],
      )
    : { rows: [] };
  const state: AcademicState = {
    enrollments: new Map(),
    created: new Map(),
    touched: new Map(),
    sections: new Map(),
    sectionsRead: new Set(),
    changedSections: new Set(),
    years: new Map(),
    courses: new Map(),
    applied: new Map(),
    timeline: [],
    inbox: new CausalInbox(),
  };
  const sectionIds = new Set(events.flatMap(sectionsNamed));
  for (const r of loaded.rows) {
    if (r.enrollment) {
      state.enrollments.set(r.id, r.enrollment);
      sectionIds.add(r.enrollment.sectionId);
    }
    state.applied.set(r.id, new Map(r.applied));
    state.inbox.load(r.parked.map((event) => ({ enrollmentId: r.id, event })));
    for (const p of r.parked) for (const s of sectionsNamed(p)) sectionIds.add(s);
  }
  await lock(
    tx,
    [...sectionIds].map((id) => `section:${id}`),
  );
  const sections = sectionIds.size
    ? await tx.query<SectionRow>(
        `select id, academic_year_id "academicYearId", name, grade_level "gradeLevel", capacity, homeroom, seats_taken "seatsTaken"
         from sections where id = any($1::text[])`,
        [[...sectionIds]],
      )
    : { rows: [] };
  for (const s of sections.rows) state.sections.set(s.id, s);
  state.sectionsRead = sectionIds;
  return state;
}

/** Everything the chunk changed: one statement per table (and per kind of change). */
export async function flushAcademic(tx: PoolClient, s: AcademicState): Promise<void> {
  const years = [...s.years.values()].map((y) => ({ ...y, periods: JSON.stringify(y.gradingPeriods) }));
  if (years.length)
    await tx.query(
      `insert into academic_years (id, name, start_date, end_date, grading_periods)
       select * from unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::jsonb[])
       on conflict (id) do update set name = excluded.name, start_date = excluded.start_date, end_date = excluded.end_date,
         grading_periods = excluded.grading_periods`,
      columns(years, ['academicYearId', 'name', 'startDate', 'endDate', 'periods']),
    );
  const sections = [...s.changedSections].map((id) => s.sections.get(id)!);
  if (sections.length)
    await tx.query(
      `insert into sections (id, academic_year_id, name, grade_level, capacity, homeroom, seats_taken)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::int[])
       on conflict (id) do update set academic_year_id = excluded.academic_year_id, name = excluded.name, grade_level = excluded.grade_level,
         capacity = excluded.capacity, homeroom = excluded.homeroom, seats_taken = excluded.seats_taken`,
      columns(sections, ['id', 'academicYearId', 'name', 'gradeLevel', 'capacity', 'homeroom', 'seatsTaken']),
    );
  const courses = [...s.courses.values()];
  if (courses.length)
    await tx.query(
      `insert into section_courses (section_id, course_id, course_name, weekly_hours)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::int[])
       on conflict (section_id, course_id) do update set course_name = excluded.course_name, weekly_hours = excluded.weekly_hours`,
      columns(courses, ['sectionId', 'courseId', 'courseName', 'weeklyHours']),
    );
  await flushEnrollments(tx, s);
  if (s.timeline.length)
    await tx.query(
      `insert into saga_timeline (enrollment_id, event_id, event_type, step, outcome, detail, at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
       on conflict do nothing`,
      columns(s.timeline, ['enrollmentId', 'eventId', 'eventType', 'step', 'outcome', 'detail', 'at']),
    );
  const { parked, released } = s.inbox.changes();
  if (released.length)
    await tx.query(
      'delete from saga_inbox i using unnest($1::text[], $2::text[]) r (enrollment_id, event_id) where i.enrollment_id = r.enrollment_id and i.event_id = r.event_id',
      columns(released, ['enrollmentId', 'eventId']),
    );
  if (parked.length)
    await tx.query(
      `insert into saga_inbox (enrollment_id, event_id, event) select * from unnest($1::text[], $2::text[], $3::jsonb[]) on conflict do nothing`,
      [parked.map((p) => p.enrollmentId), parked.map((p) => p.event.eventId), parked.map((p) => JSON.stringify(p.event))],
    );
}

async function flushEnrollments(tx: PoolClient, s: AcademicState): Promise<void> {
  const rows = [...s.touched].map(([id, at]) => {
    const e = s.enrollments.get(id)!;
    return { ...e, compensated: JSON.stringify(e.compensated), warnings: JSON.stringify(e.warnings), at };
  });
  const state = [
    'status',
    'currentStep',
    'failedStep',
    'failureReason',
    'seatHeld',
    'active',
    'compensated',
    'warnings',
    'deadlineExpired',
  ] as const;
  const created = rows
    .filter((r) => s.created.has(r.enrollmentId))
    .map((r) => {
      const c = s.created.get(r.enrollmentId)!;
      return { ...r, ...c.enrollment, correlationId: c.correlationId, createdAt: c.at };
    });
  if (created.length)
    await tx.query(
      `insert into enrollments (enrollment_id, student_user_id, section_id, academic_year_id, enrollment_date, enrollment_type, previous_institution,
         correlation_id, status, current_step, failed_step, failure_reason, seat_held, active, compensated, warnings, deadline_expired, created_at, updated_at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
         $11::text[], $12::text[], $13::bool[], $14::bool[], $15::jsonb[], $16::jsonb[], $17::bool[], $18::timestamptz[], $19::timestamptz[])`,
      columns(created, [
        'enrollmentId',
        'studentUserId',
        'sectionId',
        'academicYearId',
        'enrollmentDate',
        'enrollmentType',
        'previousInstitution',
        'correlationId',
        ...state,
        'createdAt',
        'at',
      ]),
    );
  const changed = rows.filter((r) => !s.created.has(r.enrollmentId));
  if (changed.length)
    await tx.query(
      `update enrollments e set section_id = c.section_id, status = c.status, current_step = c.current_step, failed_step = c.failed_step,
         failure_reason = c.failure_reason, seat_held = c.seat_held, active = c.active, compensated = c.compensated, warnings = c.warnings,
         deadline_expired = c.deadline_expired, updated_at = c.at
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::bool[], $9::jsonb[], $10::jsonb[],
         $11::bool[], $12::timestamptz[])
         c (enrollment_id, section_id, status, current_step, failed_step, failure_reason, seat_held, active, compensated, warnings, deadline_expired, at)
       where e.enrollment_id = c.enrollment_id`,
      columns(changed, ['enrollmentId', 'sectionId', ...state, 'at']),
    );
}
