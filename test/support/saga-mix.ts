import type { Db } from 'mongodb';
import type pg from 'pg';
import { createKafka, withKafkaAdmin } from '../../lib/clients/kafka';
import type { Config } from '../../lib/config';
import { systemClock } from '../../lib/clock';
import { readToEnd } from '../../lib/read-to-end';
import { seededRandom } from '../../lib/rng';
import { academicQueries } from '../../processors/academic/queries';
import { usersQueries } from '../../processors/users/queries';
import { composeStudent360 } from '../../processors/users/student360';
import type { EventCodec } from '../../schemas/codec';
import { buildEvent } from '../../schemas/envelope';
import {
  EVENT_DEFINITIONS,
  type DayOfWeek,
  type EventPayloads,
  type EventType,
  type SagaStep,
  type SchoolEvent,
} from '../../schemas/generated/events';
import { groupLag } from '../../scripts/lag';
import { eventually } from './index';
import { isolatedGroups, type EnrollmentRow } from './pipeline';
import { endOffsets, type PartitionOffsets } from './kafka';

/**
 * A seeded school and a mix of enrollment requests that fail for real reasons (DOMAIN.md, the enrollment saga),
 * the outcome each request must have by the saga's rules alone, and the checks of a finished run against them:
 * outcome, failing step and reason, compensations (newest first), every step's outcome event, seats, and the
 * read models (grades base records, attendance registers, the student 360).
 */

/** Saga steps in order (DOMAIN.md); COMPLETE_ENROLLMENT is the end, not a step. */
const STEPS = [
  'CREATE_ENROLLMENT',
  'VALIDATE_USER',
  'ASSIGN_TO_SECTION',
  'INITIALIZE_GRADES',
  'INITIALIZE_ATTENDANCE',
  'SEND_WELCOME_NOTIFICATION',
] as const satisfies readonly SagaStep[];
type Step = (typeof STEPS)[number];

/** Each step's success, failure and compensation as events of the owning topic (docs/events.md). */
const SUCCEEDED: Record<Step, EventType> = {
  CREATE_ENROLLMENT: 'student.enrolled',
  VALIDATE_USER: 'enrollment.user.validated',
  ASSIGN_TO_SECTION: 'enrollment.section.assigned',
  INITIALIZE_GRADES: 'enrollment.grades.initialized',
  INITIALIZE_ATTENDANCE: 'enrollment.attendance.initialized',
  SEND_WELCOME_NOTIFICATION: 'enrollment.welcome.sent',
};
type FailingStep = 'VALIDATE_USER' | 'ASSIGN_TO_SECTION' | 'INITIALIZE_GRADES' | 'INITIALIZE_ATTENDANCE';
const FAILED: Record<FailingStep, EventType> = {
  VALIDATE_USER: 'enrollment.user.validation.failed',
  ASSIGN_TO_SECTION: 'enrollment.section.assignment.failed',
  INITIALIZE_GRADES: 'enrollment.grades.initialization.failed',
  INITIALIZE_ATTENDANCE: 'enrollment.attendance.initialization.failed',
};
/** The compensation of each step that has one (a failure of step n compensates steps n-1 … 1). */
const COMPENSATED: Record<Exclude<FailingStep, 'INITIALIZE_ATTENDANCE'> | 'CREATE_ENROLLMENT', EventType> = {
  CREATE_ENROLLMENT: 'enrollment.compensated',
  VALIDATE_USER: 'enrollment.user.validation.compensated',
  ASSIGN_TO_SECTION: 'enrollment.section.assignment.compensated',
  INITIALIZE_GRADES: 'enrollment.grades.compensated',
};

/** Why a saga fails: the step (DOMAIN.md's table), the reason code of the failure event, and its message. */
export const REASONS = {
  USER_NOT_FOUND: { step: 'VALIDATE_USER', message: /does not exist/ },
  USER_DEACTIVATED: { step: 'VALIDATE_USER', message: /deactivated/ },
  NOT_A_STUDENT: { step: 'VALIDATE_USER', message: /not a student/ },
  SECTION_NOT_FOUND: { step: 'ASSIGN_TO_SECTION', message: /does not exist/ },
  ACADEMIC_YEAR_MISMATCH: { step: 'ASSIGN_TO_SECTION', message: /academic year/ },
  SECTION_FULL: { step: 'ASSIGN_TO_SECTION', message: /is full/ },
  NO_COURSES: { step: 'INITIALIZE_GRADES', message: /no courses/ },
  NO_SCHEDULE: { step: 'INITIALIZE_ATTENDANCE', message: /no schedule/ },
} as const satisfies Record<string, { step: FailingStep; message: RegExp }>;
export type Reason = keyof typeof REASONS;

type Resolved = { outcome: 'COMPLETED' } | { outcome: 'FAILED'; reason: Reason };
export type Expected = Resolved | { outcome: 'SEAT_RACE' };

interface UserFacts {
  userType: 'STUDENT' | 'TEACHER' | 'PARENT';
  active: boolean;
  roles: Array<'STUDENT' | 'TEACHER' | 'PARENT'>;
}
interface SectionFacts {
  academicYearId: string;
  capacity: number;
  courses: string[];
  scheduled: boolean;
}
export interface Request {
  enrollmentId: string;
  studentUserId: string;
  sectionId: string;
  academicYearId: string;
}

/** How many requests of each kind (each valid student requests once). */
export interface MixSize {
  okSections: number;
  okCapacity: number;
  okRequests: number;
  fullSections: number;
  fullCapacity: number;
  /** Requests from valid students per full section (more than its capacity). */
  fullRequests: number;
  noCourses: number;
  noSchedule: number;
  otherYear: number;
  unknownSection: number;
  wrongYear: number;
  unknownUsers: number;
  deactivated: number;
  teachers: number;
  parents: number;
  roleRevoked: number;
}

const DAYS: DayOfWeek[] = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'];
const COURSES = ['MATH', 'LANG', 'SCI'];
const PERIODS_PER_YEAR = 2;

export class SagaMix {
  readonly year: string;
  readonly otherYear: string;
  readonly users = new Map<string, UserFacts>();
  readonly sections = new Map<string, SectionFacts>();
  readonly setup: SchoolEvent[] = [];
  /** In submission order (shuffled). */
  readonly requests: Request[] = [];
  /** What each request is (for the report): unknown user, full section, … */
  readonly kinds = new Map<string, string>();
  readonly fullSections: string[] = [];
  private readonly rand: () => number;

  constructor(
    readonly tag: string,
    readonly size: MixSize,
    readonly seed: number,
  ) {
    this.rand = seededRandom(seed);
    this.year = `Y-${tag}`;
    this.otherYear = `Y2-${tag}`;
    this.build();
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  private shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  private add<T extends EventType>(type: T, payload: EventPayloads[T]): void {
    this.setup.push(
      buildEvent(type, payload, { sourceService: 'e2e', clock: systemClock, metadata: { triggeredBy: 'USR-ADMIN-001' } }) as SchoolEvent,
    );
  }

  private user(userId: string, userType: UserFacts['userType']): void {
    this.users.set(userId, { userType, active: true, roles: [userType] });
    this.add('user.created', {
      userId,
      userType,
      firstName: userId.slice(-6),
      lastName: 'Mix',
      email: `${userId.toLowerCase()}@school.test`,
      phone: null,
      birthDate: userType === 'STUDENT' ? '2014-05-03' : null,
      roles: [userType],
    });
  }

  private section(sectionId: string, facts: SectionFacts, teacher: string, index: number): void {
    this.sections.set(sectionId, facts);
    this.add('section.created', {
      sectionId,
      academicYearId: facts.academicYearId,
      name: sectionId.slice(-6),
      gradeLevel: 5 + (index % 3),
      capacity: facts.capacity,
      homeroom: null,
    });
    for (const c of facts.courses) this.add('course.assigned', { sectionId, courseId: `CRS-${c}`, courseName: c, weeklyHours: 5 });
    if (facts.scheduled)
      this.add('schedule.created', {
        scheduleId: `SCH-${sectionId}`,
        sectionId,
        courseId: `CRS-${facts.courses[0] ?? 'MATH'}`,
        teacherUserId: teacher,
        dayOfWeek: DAYS[index % DAYS.length]!,
        startMinute: 480 + Math.floor(index / DAYS.length) * 100,
        endMinute: 570 + Math.floor(index / DAYS.length) * 100,
        room: null,
      });
  }

  private build(): void {
    const t = this.tag;
    const z = this.size;
    for (const [y, name] of [
      [this.year, '2025'],
      [this.otherYear, '2024'],
    ] as const)
      this.add('academic.year.started', {
        academicYearId: y,
        name,
        startDate: '2025-03-03',
        endDate: '2025-12-19',
        gradingPeriods: [
          { periodId: `${y}-T1`, name: 'T1', startDate: '2025-03-03', endDate: '2025-07-11' },
          { periodId: `${y}-T2`, name: 'T2', startDate: '2025-07-28', endDate: '2025-12-19' },
        ].slice(0, PERIODS_PER_YEAR),
      });
    const teachers = Array.from({ length: z.teachers }, (_, i) => `USR-${t}-T${i}`);
    for (const u of teachers) this.user(u, 'TEACHER');
    const parents = Array.from({ length: z.parents }, (_, i) => `USR-${t}-P${i}`);
    for (const u of parents) this.user(u, 'PARENT');

    const okSections: string[] = [];
    let index = 0;
    const sec = (name: string, facts: SectionFacts): string => {
      const id = `SEC-${t}-${name}`;
      this.section(id, facts, teachers[index % teachers.length]!, index);
      index++;
      return id;
    };
    for (let s = 0; s < z.okSections; s++)
      okSections.push(
        sec(`OK${s}`, {
          academicYearId: this.year,
          capacity: z.okCapacity,
          courses: COURSES.slice(0, 1 + Math.floor(this.rand() * 3)),
          scheduled: true,
        }),
      );
    for (let s = 0; s < z.fullSections; s++)
      this.fullSections.push(
        sec(`FULL${s}`, { academicYearId: this.year, capacity: z.fullCapacity, courses: COURSES.slice(0, 2), scheduled: true }),
      );
    const noCourses = sec('NOCOURSE', { academicYearId: this.year, capacity: z.okCapacity, courses: [], scheduled: true });
    const noSchedule = sec('NOSCHED', {
      academicYearId: this.year,
      capacity: z.okCapacity,
      courses: COURSES.slice(0, 2),
      scheduled: false,
    });
    const otherYear = sec('OTHERYEAR', {
      academicYearId: this.otherYear,
      capacity: z.okCapacity,
      courses: COURSES.slice(0, 2),
      scheduled: true,
    });
    const ghost = `SEC-${t}-GHOST`; // never created

    // Valid students, each requesting once; the others request too, each once.
    const valid =
      z.okRequests + z.fullSections * z.fullRequests + z.noCourses + z.noSchedule + z.otherYear + z.unknownSection + z.wrongYear;
    const students = Array.from({ length: valid }, (_, i) => `USR-${t}-S${i}`);
    for (const u of students) this.user(u, 'STUDENT');
    for (let i = 0; i < z.parents; i++)
      this.add('student.parent.linked', { studentUserId: students[i]!, parentUserId: parents[i]!, relationship: 'MOTHER' });
    const deactivated = Array.from({ length: z.deactivated }, (_, i) => `USR-${t}-D${i}`);
    for (const u of deactivated) {
      this.user(u, 'STUDENT');
      this.users.get(u)!.active = false;
      this.add('user.deactivated', { userId: u, reason: 'moved away' });
    }
    const revoked = Array.from({ length: z.roleRevoked }, (_, i) => `USR-${t}-R${i}`);
    for (const u of revoked) {
      this.user(u, 'STUDENT');
      this.users.get(u)!.roles = [];
      this.add('user.role.changed', { userId: u, previousRoles: ['STUDENT'], newRoles: [] });
    }
    const unknown = Array.from({ length: z.unknownUsers }, (_, i) => `USR-${t}-GHOST${i}`);

    const requests: Request[] = [];
    const request = (kind: string, studentUserId: string, sectionId: string, academicYearId = this.year): void => {
      const enrollmentId = `ENR-${t}-${String(requests.length + 1).padStart(5, '0')}`;
      requests.push({ enrollmentId, studentUserId, sectionId, academicYearId });
      this.kinds.set(enrollmentId, kind);
    };
    const pool = this.shuffle([...students]);
    const take = (): string => pool.pop()!;
    for (let i = 0; i < z.okRequests; i++) request('ok', take(), okSections[i % okSections.length]!);
    for (const s of this.fullSections) for (let i = 0; i < z.fullRequests; i++) request('full section', take(), s);
    for (let i = 0; i < z.noCourses; i++) request('section without courses', take(), noCourses);
    for (let i = 0; i < z.noSchedule; i++) request('section without schedule', take(), noSchedule);
    for (let i = 0; i < z.otherYear; i++) request('section of another year', take(), otherYear);
    for (let i = 0; i < z.unknownSection; i++) request('unknown section', take(), ghost);
    for (let i = 0; i < z.wrongYear; i++) request('request for another year', take(), this.pick(okSections), this.otherYear);
    // Users that fail step 2, into any section (a broken or full one too: step 2 comes first).
    const anySection = [...this.sections.keys(), ghost];
    const invalid: Array<[string, string[]]> = [
      ['unknown user', unknown],
      ['deactivated student', deactivated],
      ['teacher', teachers],
      ['parent', parents],
      ['student role revoked', revoked],
    ];
    for (const [kind, users] of invalid) for (const u of users) request(kind, u, this.pick(anySection));
    this.requests.push(...this.shuffle(requests));
  }

  /** The request events, in submission order. */
  enrollmentEvents(): SchoolEvent[] {
    return this.requests.map(
      (r) =>
        buildEvent(
          'student.enrolled',
          { ...r, enrollmentDate: '2025-03-03', enrollmentType: 'REGULAR', previousInstitution: null },
          { sourceService: 'e2e', clock: systemClock, correlationId: r.enrollmentId, metadata: { triggeredBy: 'USR-ADMIN-001' } },
        ) as SchoolEvent,
    );
  }

  /**
   * The oracle, from the rules alone: steps run in order and the first that fails decides. Step 2: the student
   * exists, is active and has the student role. Step 3: the section exists, is of the request's year, and has a
   * seat; who gets the last seats depends on arrival order, so requests into a section with more valid requests
   * than seats are SEAT_RACE (exactly `capacity` of them complete). Step 4 needs courses, step 5 a schedule.
   */
  expected(): Map<string, Expected> {
    const out = new Map<string, Expected>();
    const seeking = new Map<string, Request[]>();
    for (const r of this.requests) {
      const u = this.users.get(r.studentUserId);
      const s = this.sections.get(r.sectionId);
      const fail = (reason: Reason): void => void out.set(r.enrollmentId, { outcome: 'FAILED', reason });
      if (!u) fail('USER_NOT_FOUND');
      else if (!u.active) fail('USER_DEACTIVATED');
      else if (u.userType !== 'STUDENT' || !u.roles.includes('STUDENT')) fail('NOT_A_STUDENT');
      else if (!s) fail('SECTION_NOT_FOUND');
      else if (s.academicYearId !== r.academicYearId) fail('ACADEMIC_YEAR_MISMATCH');
      else seeking.set(r.sectionId, [...(seeking.get(r.sectionId) ?? []), r]);
    }
    for (const [sectionId, rs] of seeking) {
      const s = this.sections.get(sectionId)!;
      const after: Expected =
        s.courses.length === 0
          ? { outcome: 'FAILED', reason: 'NO_COURSES' }
          : !s.scheduled
            ? { outcome: 'FAILED', reason: 'NO_SCHEDULE' }
            : { outcome: 'COMPLETED' };
      if (rs.length > s.capacity) {
        // A later failure frees the seat again: which requests see a full section would depend on timing.
        if (after.outcome !== 'COMPLETED') throw new Error(`scenario: section ${sectionId} overflows and fails later; not decidable`);
        for (const r of rs) out.set(r.enrollmentId, { outcome: 'SEAT_RACE' });
      } else for (const r of rs) out.set(r.enrollmentId, after);
    }
    return out;
  }

  /** Requests per expected outcome (a full section's race counted as its capacity completing and the rest full). */
  summary(): Record<string, number> {
    const counts: Record<string, number> = {};
    const bump = (k: string, n = 1): void => void (counts[k] = (counts[k] ?? 0) + n);
    for (const [id, e] of this.expected()) {
      if (e.outcome === 'SEAT_RACE') continue;
      bump(e.outcome === 'COMPLETED' ? 'COMPLETED' : `${REASONS[e.reason].step}/${e.reason} (${this.kinds.get(id)})`);
    }
    const full = this.fullSections.length;
    bump('COMPLETED', full * this.size.fullCapacity);
    bump('ASSIGN_TO_SECTION/SECTION_FULL', full * (this.size.fullRequests - this.size.fullCapacity));
    return counts;
  }
}

/** One enrollment's row of academic's enrollments (saga state), with whom and where. */
type Row = EnrollmentRow & { student_user_id: string; section_id: string };

/** What a finished run left: rows, timelines, events by saga, seats, base records, registers, 360s. */
export interface Observed {
  rows: Map<string, Row>;
  timeline: Map<string, Array<{ step: string; outcome: string; event_id: string; at: Date }>>;
  /** Every record of a saga (by correlationId) on the saga's topics, decoded, in (topic, partition, offset) order. */
  events: Map<string, SchoolEvent[]>;
  seats: Map<string, number>;
  baseRecords: Map<string, Array<{ section_id: string; course_id: string; period_id: string }>>;
  registers: Map<string, { student_user_id: string; section_id: string }>;
  student360: Map<string, { enrollment?: { enrollmentId: string; sectionId: string; status: string } } | undefined>;
}

export interface ObserveFrom {
  config: Config;
  pool: pg.Pool;
  db: Db;
  schema: (processor: string) => string;
  topic: (name: string) => string;
  codec: EventCodec;
}

const SAGA_TOPICS = ['user-events', 'academic-events', 'grades-events', 'attendance-events', 'notification-events'];

/** Enrollments of the mix that ended (COMPLETED, FAILED or COMPENSATION_FAILED), and the others by status. */
export async function ended(from: ObserveFrom, ids: string[]): Promise<{ ended: number; open: Record<string, number> }> {
  const r = await from.pool.query<{ status: string; current_step: string; n: number }>(
    `select status, current_step, count(*)::int n from "${from.schema('academic')}".enrollments where enrollment_id = any($1) group by 1, 2`,
    [ids],
  );
  let n = 0;
  let seen = 0;
  const open: Record<string, number> = {};
  for (const x of r.rows) {
    seen += x.n;
    if (['COMPLETED', 'FAILED', 'COMPENSATION_FAILED'].includes(x.status)) n += x.n;
    else open[`${x.status}@${x.current_step}`] = x.n;
  }
  if (seen < ids.length) open['not created'] = ids.length - seen;
  return { ended: n, open };
}

export async function observe(from: ObserveFrom, mix: SagaMix): Promise<Observed> {
  const ids = mix.requests.map((r) => r.enrollmentId);
  const q = <T extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<T[]> =>
    from.pool.query<T>(text, values).then((r) => r.rows);
  const rows = await q<Row>(`select * from "${from.schema('academic')}".enrollments where enrollment_id = any($1)`, [ids]);
  const timeline = new Map<string, Array<{ step: string; outcome: string; event_id: string; at: Date }>>();
  for (const t of await q<{ enrollment_id: string; step: string; outcome: string; event_id: string; at: Date }>(
    `select enrollment_id, step, outcome, event_id, at from "${from.schema('academic')}".saga_timeline where enrollment_id = any($1) order by at, step`,
    [ids],
  ))
    timeline.set(t.enrollment_id, [...(timeline.get(t.enrollment_id) ?? []), t]);
  const seats = new Map(
    (
      await q<{ id: string; seats_taken: number }>(`select id, seats_taken from "${from.schema('academic')}".sections where id like $1`, [
        `SEC-${mix.tag}-%`,
      ])
    ).map((s) => [s.id, s.seats_taken]),
  );
  const baseRecords = new Map<string, Array<{ section_id: string; course_id: string; period_id: string }>>();
  for (const b of await q<{ enrollment_id: string; section_id: string; course_id: string; period_id: string }>(
    `select enrollment_id, section_id, course_id, period_id from "${from.schema('grades')}".base_records where enrollment_id like $1 order by 1, 3, 4`,
    [`ENR-${mix.tag}-%`],
  ))
    baseRecords.set(b.enrollment_id, [...(baseRecords.get(b.enrollment_id) ?? []), b]);
  const registers = new Map(
    (
      await q<{ enrollment_id: string; student_user_id: string; section_id: string }>(
        `select enrollment_id, student_user_id, section_id from "${from.schema('attendance')}".registers where enrollment_id like $1`,
        [`ENR-${mix.tag}-%`],
      )
    ).map((r) => [r.enrollment_id, r]),
  );
  const users = usersQueries(from.db);
  const academic = academicQueries(from.pool, from.schema('academic'));
  const student360 = new Map<string, { enrollment?: { enrollmentId: string; sectionId: string; status: string } } | undefined>();
  const requesters = [...new Set(mix.requests.map((r) => r.studentUserId))];
  // The 360 as the API composes it: the users document and academic's enrollments.
  const s360 = async (u: string) => {
    const doc = await users.student360(u);
    return doc && composeStudent360(doc, await academic.enrollmentsOfStudent(u), [], undefined);
  };
  for (let i = 0; i < requesters.length; i += 32)
    await Promise.all(requesters.slice(i, i + 32).map(async (u) => student360.set(u, await s360(u))));
  const events = new Map<string, SchoolEvent[]>();
  const wanted = new Set(ids);
  const records = (await readToEnd(createKafka(from.config), SAGA_TOPICS.map(from.topic), 180_000)).filter((r) =>
    wanted.has(String(r.headers.correlationId)),
  );
  const decoded = await Promise.all(records.map(async (r) => (await from.codec.decode(r.value!)).event));
  for (const e of decoded) events.set(e.correlationId, [...(events.get(e.correlationId) ?? []), e]);
  return { rows: new Map(rows.map((r) => [r.enrollment_id, r])), timeline, events, seats, baseRecords, registers, student360 };
}

/** The reason code of a failed saga's failure event (or its recorded reason when there is none). */
function reasonOf(events: SchoolEvent[] | undefined, row: Row): string {
  const failures = new Set<EventType>(Object.values(FAILED));
  const f = events?.find((e) => failures.has(e.eventType));
  return (f?.payload as { reason?: string } | undefined)?.reason ?? `"${row.failure_reason}"`;
}

const isSagaEvent = (t: EventType): boolean => t === 'student.enrolled' || EVENT_DEFINITIONS[t].kind !== 'catalog';
const show = (e: SchoolEvent): string => `${e.eventType}#${e.eventId.slice(0, 8)}<-${(e.causationId ?? '-').slice(0, 8)}`;
const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const sortedSame = (a: readonly string[], b: readonly string[]): boolean => same([...a].sort(), [...b].sort());

export interface Verdict {
  problems: string[];
  /** Outcomes seen, by reason (the report). */
  outcomes: Record<string, number>;
  /** Saga event records that repeat an eventId already on a topic (redelivery; tolerated, counted). */
  duplicateRecords: number;
}

/** Every check of a finished run against the rules; an empty `problems` is a pass. */
export function verify(mix: SagaMix, seen: Observed): Verdict {
  const problems: string[] = [];
  const outcomes: Record<string, number> = {};
  let duplicateRecords = 0;
  const expected = mix.expected();
  const completedIn = new Map<string, number>();
  const raced = new Map<string, { completed: number; full: number }>();

  for (const r of mix.requests) {
    const id = r.enrollmentId;
    const problem = (what: string): void => {
      const events = (seen.events.get(id) ?? []).filter((e) => isSagaEvent(e.eventType)).map(show);
      problems.push(`${id} (${mix.kinds.get(id)}, ${r.studentUserId} → ${r.sectionId}): ${what}; saga events: ${events.join(', ')}`);
    };
    const row = seen.rows.get(id);
    if (!row) {
      problem('no enrollment row');
      continue;
    }
    const planned = expected.get(id)!;
    let want: Resolved;
    if (planned.outcome === 'SEAT_RACE') {
      // Whoever got a seat completes; everyone else fails for "section full", nothing in between.
      const race = raced.get(r.sectionId) ?? { completed: 0, full: 0 };
      raced.set(r.sectionId, race);
      if (row.status === 'COMPLETED') race.completed++;
      else race.full++;
      want = row.status === 'COMPLETED' ? { outcome: 'COMPLETED' } : { outcome: 'FAILED', reason: 'SECTION_FULL' };
    } else want = planned;
    const outcome = row.status === 'COMPLETED' ? 'COMPLETED' : `${row.status} at ${row.failed_step}: ${reasonOf(seen.events.get(id), row)}`;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;

    // The steps that ran and succeeded, the failing one, and the compensations newest first.
    const failing: FailingStep | undefined = want.outcome === 'FAILED' ? REASONS[want.reason].step : undefined;
    const done = failing ? STEPS.slice(0, STEPS.indexOf(failing)) : [...STEPS];
    const compensations = failing ? [...done].reverse() : [];
    if (row.status === 'COMPLETED') completedIn.set(row.section_id, (completedIn.get(row.section_id) ?? 0) + 1);

    // The enrollment (saga state and audit record).
    if (want.outcome === 'COMPLETED') {
      if (row.status !== 'COMPLETED' || row.failed_step !== null || !row.active || !row.seat_held || row.warnings.length)
        problem(
          `expected COMPLETED (active, seat held, no warnings), row is ${row.status} failed_step=${row.failed_step} reason=${row.failure_reason} active=${row.active} seat_held=${row.seat_held} warnings=${JSON.stringify(row.warnings)}`,
        );
    } else {
      const rule = REASONS[want.reason];
      if (
        row.status !== 'FAILED' ||
        row.failed_step !== rule.step ||
        !rule.message.test(row.failure_reason ?? '') ||
        !same(row.compensated, compensations) ||
        row.active ||
        row.seat_held
      )
        problem(
          `expected FAILED at ${rule.step} (${want.reason}) compensating [${compensations.join(', ')}], inactive, no seat; row is ${row.status} at ${row.failed_step} "${row.failure_reason}" compensated=[${row.compensated.join(', ')}] active=${row.active} seat_held=${row.seat_held}`,
        );
    }

    // The saga's events on the topics: exactly the expected types, each one event (a redelivered record has the same id).
    const all = seen.events.get(id) ?? [];
    const ids = new Set<string>();
    for (const e of all) {
      if (ids.has(e.eventId)) duplicateRecords++;
      ids.add(e.eventId);
    }
    const byType = new Map<EventType, SchoolEvent[]>();
    const unique = [...new Map(all.map((e) => [e.eventId, e])).values()];
    for (const e of unique.filter((x) => isSagaEvent(x.eventType))) byType.set(e.eventType, [...(byType.get(e.eventType) ?? []), e]);
    const wantTypes: EventType[] = [
      ...done.map((s) => SUCCEEDED[s]),
      ...(failing ? [FAILED[failing], ...compensations.map((s) => COMPENSATED[s as keyof typeof COMPENSATED])] : []),
      failing ? 'enrollment.failed' : 'enrollment.completed',
    ];
    const gotTypes = [...byType].flatMap(([t, es]) => es.map(() => t));
    if (!sortedSame(gotTypes, wantTypes)) problem(`expected saga events [${wantTypes.join(', ')}]`);
    const one = <T extends EventType>(t: T): SchoolEvent<T> | undefined => byType.get(t)?.[0] as SchoolEvent<T> | undefined;
    if (failing) {
      if (unique.some((e) => EVENT_DEFINITIONS[e.eventType].topic === 'notification-events'))
        problem('a failed enrollment has notification events (a welcome before step 5 succeeded)');
      const failure = byType.get(FAILED[failing])?.[0];
      const code = (failure?.payload as { reason?: string } | undefined)?.reason;
      if (failure && want.outcome === 'FAILED' && code !== want.reason)
        problem(`the ${FAILED[failing]} event gives reason ${code}, expected ${want.reason}`);
      // Newest first, by choreography: each compensation is caused by the event before it, starting at the failure.
      const chain = [failure, ...compensations.map((s) => byType.get(COMPENSATED[s as keyof typeof COMPENSATED])?.[0])];
      const end = one('enrollment.failed');
      for (let i = 1; i < chain.length; i++) {
        const [prev, next] = [chain[i - 1], chain[i]];
        if (prev && next && next.causationId !== prev.eventId)
          problem(
            `compensation ${next.eventType} was caused by ${next.causationId}, not by the ${prev.eventType} before it (newest first)`,
          );
        if (prev && next && next.timestamp < prev.timestamp) problem(`compensation ${next.eventType} is older than ${prev.eventType}`);
      }
      if (end) {
        if (end.causationId !== chain[chain.length - 1]?.eventId) problem('enrollment.failed was not caused by the last compensation');
        if (end.payload.failedStep !== failing || !same(end.payload.compensated, compensations) || end.payload.outcome !== 'FAILED')
          problem(
            `enrollment.failed says ${end.payload.outcome} at ${end.payload.failedStep} compensated [${end.payload.compensated.join(', ')}]`,
          );
      }
    } else {
      const end = one('enrollment.completed');
      if (end && (end.payload.sectionId !== r.sectionId || end.payload.warnings.length))
        problem(`enrollment.completed for ${end.payload.sectionId} with warnings ${JSON.stringify(end.payload.warnings)}`);
    }

    // The saga timeline: one entry per step outcome and compensation, compensations newest first in time.
    const timeline = seen.timeline.get(id) ?? [];
    const wantTimeline = [
      ...done.map((s) => `${s}:SUCCEEDED`),
      ...(failing ? [`${failing}:FAILED`, ...compensations.map((s) => `${s}:COMPENSATED`), 'COMPLETE_ENROLLMENT:FAILED'] : []),
      ...(failing ? [] : ['COMPLETE_ENROLLMENT:SUCCEEDED']),
    ];
    if (
      !sortedSame(
        timeline.map((x) => `${x.step}:${x.outcome}`),
        wantTimeline,
      )
    )
      problem(`timeline [${timeline.map((x) => `${x.step}:${x.outcome}`).join(', ')}], expected [${wantTimeline.join(', ')}]`);
    const compAt = compensations.map((s) => timeline.find((x) => x.step === s && x.outcome === 'COMPENSATED')?.at.getTime() ?? NaN);
    for (let i = 1; i < compAt.length; i++)
      if (compAt[i]! < compAt[i - 1]!) problem(`timeline: ${compensations[i]} compensated before ${compensations[i - 1]}`);

    // Read models: base records and a register exactly for completed enrollments; the 360 shows only those as current.
    const records = seen.baseRecords.get(id) ?? [];
    const register = seen.registers.get(id);
    if (want.outcome === 'COMPLETED') {
      const s = mix.sections.get(r.sectionId)!;
      const wantRecords = s.courses.flatMap((c) => [1, 2].slice(0, PERIODS_PER_YEAR).map((t) => `CRS-${c}/${mix.year}-T${t}`));
      if (
        !sortedSame(
          records.map((b) => `${b.course_id}/${b.period_id}`),
          wantRecords,
        ) ||
        records.some((b) => b.section_id !== r.sectionId)
      )
        problem(`base records ${JSON.stringify(records)}, expected ${wantRecords.join(' ')} in ${r.sectionId}`);
      if (register?.section_id !== r.sectionId || register.student_user_id !== r.studentUserId)
        problem(`attendance register ${JSON.stringify(register)}`);
    } else {
      if (records.length) problem(`${records.length} base records left for a failed enrollment`);
      if (register) problem(`attendance register for a failed enrollment: ${JSON.stringify(register)}`);
    }
    const user = mix.users.get(r.studentUserId);
    const s360 = seen.student360.get(r.studentUserId);
    if (!user || user.userType !== 'STUDENT') {
      if (s360) problem(`a student 360 exists for ${r.studentUserId}, who is not a student: ${JSON.stringify(s360)}`);
    } else if (!s360) problem(`no student 360 for ${r.studentUserId}`);
    else if (want.outcome === 'COMPLETED') {
      const e = s360.enrollment;
      if (e?.enrollmentId !== id || e.status !== 'COMPLETED' || e.sectionId !== r.sectionId)
        problem(`student 360's enrollment is ${JSON.stringify(e)}, expected ${id} COMPLETED in ${r.sectionId}`);
    } else if (s360.enrollment?.enrollmentId === id && s360.enrollment.status !== 'FAILED')
      problem(`student 360 shows a failed enrollment as ${s360.enrollment.status}: ${JSON.stringify(s360.enrollment)}`);
  }

  // Full sections: exactly `capacity` winners. Every section: the seats taken are its completed enrollments.
  for (const sectionId of mix.fullSections) {
    const race = raced.get(sectionId) ?? { completed: 0, full: 0 };
    if (race.completed !== mix.size.fullCapacity)
      problems.push(
        `${sectionId}: ${race.completed} of ${mix.size.fullCapacity + race.full} requests completed, capacity is ${mix.size.fullCapacity}`,
      );
  }
  for (const sectionId of mix.sections.keys()) {
    const taken = seen.seats.get(sectionId);
    const completed = completedIn.get(sectionId) ?? 0;
    if (taken !== completed) problems.push(`${sectionId}: ${taken} seats taken, ${completed} enrollments completed there`);
  }
  for (const sectionId of seen.seats.keys())
    if (!mix.sections.has(sectionId)) problems.push(`${sectionId}: a section academic knows that was never created`);
  return { problems, outcomes, duplicateRecords };
}

/**
 * Waits until the named processors of an isolated run (in this process or in workers) have consumed every topic
 * they read, twice in a row with the same end offsets: nothing is in flight.
 */
export async function settledGroups(config: Config, run: string, names: readonly string[], timeoutMs: number): Promise<void> {
  const groups = isolatedGroups(config, run, names);
  let previous: PartitionOffsets | undefined;
  await withKafkaAdmin(createKafka(config), (admin) =>
    eventually(
      async () => {
        const ends = await endOffsets(admin, [...new Set(groups.flatMap((g) => g.topics))]);
        const lag = await groupLag(admin, groups);
        const caughtUp = Object.values(lag).every((l) => l === 0);
        const stable = caughtUp && previous !== undefined && [...ends].every(([k, end]) => previous!.get(k) === end);
        previous = caughtUp ? ends : undefined;
        return stable ? true : undefined;
      },
      `processors ${names.join(', ')} to catch up`,
      timeoutMs,
      300,
    ),
  );
}
