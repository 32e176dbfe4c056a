import type { PoolClient } from 'pg';
import type { EventPayloads, SchoolEvent } from '../../schemas/generated/events';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import { columns } from '../runtime/columns';
import { oneStatement, type Statement } from '../runtime/sql';
import { CausalInbox } from './inbox';
import type { Enrollment, Section } from './handlers';

export interface SectionRow extends Section {
  name: string;
  gradeLevel: number;
  homeroom: string | null;
}

/** A saga timeline entry the chunk writes. */
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
  /** Students erased in this chunk (user.personal-data.erased): their enrollments' previous institution is masked. */
  erasedStudents: Set<string>;
}

const enrollmentOf = (e: SchoolEvent): string | undefined => ('enrollmentId' in e.payload ? e.payload.enrollmentId : undefined);
/** The payload fields that name a section (of the chunk's events and of parked ones). */
const SECTION_FIELDS = ['sectionId', 'toSectionId', 'fromSectionId'] as const;
const sectionsNamed = (e: SchoolEvent): string[] => {
  const p: Record<string, unknown> = { ...e.payload };
  return SECTION_FIELDS.map((f) => p[f]).filter((s): s is string => typeof s === 'string');
};

interface Loaded {
  enrollments: Array<{ id: string; enrollment: Enrollment | null; applied: Array<[string, string]>; parked: SchoolEvent[] }>;
  sections: SectionRow[];
  sectionsRead: string[];
}

/**
 * The chunk's enrollments (with their applied saga events and parked events) and every section they or the
 * events name, each locked before it is read, in one round trip (academic_load, migration 005).
 */
export async function loadAcademic(tx: PoolClient, events: SchoolEvent[]): Promise<AcademicState> {
  const enrollmentIds = [...new Set(events.map(enrollmentOf).filter((id): id is string => id !== undefined))];
  const sectionIds = [...new Set(events.flatMap(sectionsNamed))];
  const r = await tx.query<{ loaded: Loaded }>('select academic_load($1, $2, $3) loaded', [enrollmentIds, sectionIds, SECTION_FIELDS]);
  const loaded = r.rows[0]!.loaded;
  const inbox = new CausalInbox();
  const enrollments = new Map<string, Enrollment>();
  const applied = new Map<string, Map<string, string>>();
  for (const e of loaded.enrollments) {
    if (e.enrollment) enrollments.set(e.id, e.enrollment);
    applied.set(e.id, new Map(e.applied));
    inbox.load(e.parked.map((event) => ({ enrollmentId: e.id, event })));
  }
  return {
    enrollments,
    created: new Map(),
    touched: new Map(),
    sections: new Map(loaded.sections.map((sec) => [sec.id, sec])),
    sectionsRead: new Set(loaded.sectionsRead),
    changedSections: new Set(),
    years: new Map(),
    courses: new Map(),
    applied,
    timeline: [],
    inbox,
    erasedStudents: new Set(),
  };
}

/** Everything the chunk changed, in one statement (a write per table and kind of change). */
export async function flushAcademic(tx: PoolClient, s: AcademicState): Promise<void> {
  const writes: Statement[] = [];
  const write = (text: string, values: unknown[]): void => {
    writes.push({ text, values });
  };
  const years = [...s.years.values()].map((y) => ({ ...y, periods: JSON.stringify(y.gradingPeriods) }));
  if (years.length)
    write(
      `insert into academic_years (id, name, start_date, end_date, grading_periods)
       select * from unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::jsonb[])
       on conflict (id) do update set name = excluded.name, start_date = excluded.start_date, end_date = excluded.end_date,
         grading_periods = excluded.grading_periods`,
      columns(years, ['academicYearId', 'name', 'startDate', 'endDate', 'periods']),
    );
  const sections = [...s.changedSections].map((id) => s.sections.get(id)!);
  if (sections.length)
    write(
      `insert into sections (id, academic_year_id, name, grade_level, capacity, homeroom, seats_taken)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::int[])
       on conflict (id) do update set academic_year_id = excluded.academic_year_id, name = excluded.name, grade_level = excluded.grade_level,
         capacity = excluded.capacity, homeroom = excluded.homeroom, seats_taken = excluded.seats_taken`,
      columns(sections, ['id', 'academicYearId', 'name', 'gradeLevel', 'capacity', 'homeroom', 'seatsTaken']),
    );
  const courses = [...s.courses.values()];
  if (courses.length)
    write(
      `insert into section_courses (section_id, course_id, course_name, weekly_hours)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::int[])
       on conflict (section_id, course_id) do update set course_name = excluded.course_name, weekly_hours = excluded.weekly_hours`,
      columns(courses, ['sectionId', 'courseId', 'courseName', 'weeklyHours']),
    );
  writes.push(...enrollmentWrites(s));
  if (s.timeline.length)
    write(
      `insert into saga_timeline (enrollment_id, event_id, event_type, step, outcome, detail, at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
       on conflict do nothing`,
      columns(s.timeline, ['enrollmentId', 'eventId', 'eventType', 'step', 'outcome', 'detail', 'at']),
    );
  const { parked, released } = s.inbox.changes();
  if (released.length)
    write(
      'delete from saga_inbox i using unnest($1::text[], $2::text[]) r (enrollment_id, event_id) where i.enrollment_id = r.enrollment_id and i.event_id = r.event_id',
      columns(released, ['enrollmentId', 'eventId']),
    );
  if (parked.length)
    write(
      `insert into saga_inbox (enrollment_id, event_id, event) select * from unnest($1::text[], $2::text[], $3::jsonb[]) on conflict do nothing`,
      [parked.map((p) => p.enrollmentId), parked.map((p) => p.event.eventId), parked.map((p) => JSON.stringify(p.event))],
    );
  const all = oneStatement(writes);
  if (all) await tx.query(all.text, all.values);
  // Its own statement, after the rest: a row updated by two parts of one statement keeps only one of the updates.
  if (s.erasedStudents.size)
    await tx.query(
      'update enrollments set previous_institution = $2 where student_user_id = any($1::text[]) and previous_institution is distinct from $2 and previous_institution is not null',
      [[...s.erasedStudents], ERASED_MARKER],
    );
}

function enrollmentWrites(s: AcademicState): Statement[] {
  const writes: Statement[] = [];
  const write = (text: string, values: unknown[]): void => {
    writes.push({ text, values });
  };
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
    write(
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
    write(
      `update enrollments e set section_id = c.section_id, status = c.status, current_step = c.current_step, failed_step = c.failed_step,
         failure_reason = c.failure_reason, seat_held = c.seat_held, active = c.active, compensated = c.compensated, warnings = c.warnings,
         deadline_expired = c.deadline_expired, updated_at = c.at
       from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::bool[], $9::jsonb[], $10::jsonb[],
         $11::bool[], $12::timestamptz[])
         c (enrollment_id, section_id, status, current_step, failed_step, failure_reason, seat_held, active, compensated, warnings, deadline_expired, at)
       where e.enrollment_id = c.enrollment_id`,
      columns(changed, ['enrollmentId', 'sectionId', ...state, 'at']),
    );
  return writes;
}
