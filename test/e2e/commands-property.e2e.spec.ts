import crypto from 'node:crypto';
import { expect } from 'chai';
import type { Role } from '../../api/auth/jwt';
import { createKafka } from '../../lib/clients/kafka';
import { createLogger } from '../../lib/logger';
import { verify } from '../../processors/replay/verify';
import type { RuleCode } from '../../processors/shared/invariants';
import type { AttendanceStatus, EvaluationType, GradeRecordedPayload, ParentRelationship, UserType } from '../../schemas/generated/events';
import { DOMAIN_TOPICS, topicCatalog } from '../../topics/catalog';
import { eventually, testConfig } from '../support';
import { ApiHarness, type HttpResult } from '../support/api';
import { readAll, topicEndOffsets } from '../support/kafka';
import { TestPipeline } from '../support/pipeline';

/**
 * Issue 18, property-style: a seeded random sequence of valid and invalid commands over the real API of an isolated
 * run, against a small school whose students were enrolled through the saga. Then: each valid command got 202 and each
 * invalid one its 4xx (nothing of it published); the projections hold exactly what a small model, written from the
 * rules (docs/invariants.md, DOMAIN.md), computes from the valid commands alone; a rebuild from the topics equals live.
 * PROPERTY_SEED=<n> repeats a run; every failure message names the seed.
 */

const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : crypto.randomInt(1, 2 ** 31 - 1);
const tag = (what: string): string => `[PROPERTY_SEED=${SEED}] ${what}`;

/** mulberry32: a small deterministic generator. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => {
    if (!xs.length) throw new Error('pick from nothing');
    return xs[int(xs.length)]!;
  };
  return { next, int, pick, chance: (p: number): boolean => next() < p };
}

// The school: one year with two grading periods; SEC-A (MATH, LANG) taught by T, SEC-B (MATH) taught by T2; S1 and S2
// enrolled in SEC-A, S3 in SEC-B (through the saga), S4 a student enrolled nowhere; P1 the parent of S1.
const Y = '2025';
const PERIODS = ['2025-T1', '2025-T2'] as const;
const A = 'SEC-A';
const B = 'SEC-B';
const COURSES: Record<string, string[]> = { [A]: ['MATH', 'LANG'], [B]: ['MATH'] };
const ENROLLED: Record<string, string[]> = { [A]: ['S1', 'S2'], [B]: ['S3'] };
const SECTION_OF: Record<string, string> = { S1: A, S2: A, S3: B };
const STUDENTS = ['S1', 'S2', 'S3'] as const;
const UNENROLLED = 'S4';
const T = 'TCH-A';
const T2 = 'TCH-B';
const P1 = 'PAR-1';
const ADMIN = 'ADM-1';
const NEW_TEACHERS = ['TCH-N0', 'TCH-N1', 'TCH-N2', 'TCH-N3'];
const DATES = ['2025-03-10', '2025-03-11', '2025-03-12', '2025-03-13', '2025-03-14', '2025-03-17', '2025-03-18', '2025-04-01'];
const STATUSES: AttendanceStatus[] = ['PRESENT', 'ABSENT', 'LATE', 'EXCUSED'];
const TYPES: EvaluationType[] = ['EXAM', 'QUIZ', 'HOMEWORK', 'PROJECT', 'PARTICIPATION'];
const RELATIONSHIPS: ParentRelationship[] = ['MOTHER', 'FATHER', 'GUARDIAN', 'OTHER'];

type Actor = 'admin' | 'teacher' | 'teacher2' | 'student' | 'parent';
const SUBJECT: Record<Actor, { sub: string; role: Role }> = {
  admin: { sub: ADMIN, role: 'admin' },
  teacher: { sub: T, role: 'teacher' },
  teacher2: { sub: T2, role: 'teacher' },
  student: { sub: 'S1', role: 'student' },
  parent: { sub: P1, role: 'parent' },
};
/** Who may write grades and attendance in a section (admin anywhere, a teacher in the section assigned to them). */
const writerOf = (section: string, g: ReturnType<typeof generator>): Actor =>
  g.chance(0.5) ? 'admin' : section === A ? 'teacher' : 'teacher2';

interface FieldRule {
  field: string;
  rule?: RuleCode;
}
interface Cmd {
  /** Kind of command, and for an invalid one the rule it breaks. */
  kind: string;
  as: Actor;
  method: 'POST' | 'PATCH';
  path: string;
  body: unknown;
  /** Valid: 202 with `events` events; invalid: the status and, where the API names them, exactly these errors. */
  expect: { status: 202; events: number; apply: (m: Model) => void } | { status: 400 | 403 | 409; errors?: FieldRule[] };
  /** Wait until the read models applied it (a section later commands build on). */
  wait?: boolean;
}

/** A recorded grade as the model keeps it: the event's payload. */
type GradeM = GradeRecordedPayload;
interface MarkM {
  firstId: string | undefined;
  studentUserId: string;
  sectionId: string;
  date: string;
  status: AttendanceStatus;
  markedBy: string;
}
interface AbsenceM {
  absenceId: string;
  studentUserId: string;
  sectionId: string;
  date: string;
  reason: string | null;
  recordedBy: string;
  justified: boolean;
  justification: string | null;
}
interface TardyM {
  tardinessId: string;
  studentUserId: string;
  sectionId: string;
  date: string;
  minutesLate: number;
}
interface UserM {
  userType: UserType;
  firstName: string;
  lastName: string;
  email: string;
  phone: string | null;
  birthDate: string | null;
  roles: string[];
  status: 'ACTIVE';
  parents: Set<string>;
  children: Set<string>;
}
interface SectionM {
  sectionId: string;
  academicYearId: string;
  name: string;
  gradeLevel: number;
  capacity: number;
  courses: Map<string, { courseId: string; courseName: string; weeklyHours: number }>;
}
interface Model {
  grades: Map<string, GradeM>;
  marks: Map<string, MarkM>;
  absences: Map<string, AbsenceM>;
  tardies: Map<string, TardyM>;
  users: Map<string, UserM>;
  sections: Map<string, SectionM>;
  /** New teachers' assignments, by teacher. */
  assignments: Map<string, Array<{ assignmentId: string; sectionId: string; courseId: string; weeklyHours: number }>>;
}
const dayKey = (student: string, section: string, date: string): string => `${student}|${section}|${date}`;

type ProfileBody = {
  userId: string;
  userType: UserType;
  firstName: string;
  lastName: string;
  email: string;
  phone: string | null;
  birthDate: string | null;
  roles: UserType[];
};
const profile = (userId: string, userType: UserType): ProfileBody => ({
  userId,
  userType,
  firstName: `First-${userId}`,
  lastName: `Last-${userId}`,
  email: `${userId.toLowerCase()}@school.example`,
  phone: null,
  birthDate: '2014-05-06',
  roles: [userType],
});
const userM = (p: ProfileBody): UserM => ({
  userType: p.userType,
  firstName: p.firstName,
  lastName: p.lastName,
  email: p.email,
  phone: p.phone,
  birthDate: p.birthDate,
  roles: p.roles,
  status: 'ACTIVE',
  parents: new Set(),
  children: new Set(),
});
const without = (o: Record<string, unknown>, k: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([x]) => x !== k));
const on = (field: string, rule?: RuleCode): FieldRule[] => [rule ? { field, rule } : { field }];

/** The weighted period average on 0–100, from the rule (DOMAIN/config: each grade's percentage weighted by its type). */
function modelAverage(grades: GradeM[], weights: Record<EvaluationType, number>): number | undefined {
  let num = 0;
  let den = 0;
  for (const g of grades) {
    const w = weights[g.evaluationType];
    if (w <= 0) continue;
    num += w * ((g.score / g.maxScore) * 100);
    den += w;
  }
  return den > 0 ? num / den : undefined;
}

describe(`Commands property: random valid and invalid commands, model and rebuild (e2e, issue 18) PROPERTY_SEED=${SEED}`, function () {
  this.timeout(600_000);
  const p = new TestPipeline(testConfig());
  const api = new ApiHarness(p, { rateLimitPerMinute: 1_000_000 });
  const logger = createLogger(p.config, 'property-test');
  const tokens = {} as Record<Actor, string>;
  const g = generator(SEED);
  const model: Model = {
    grades: new Map(),
    marks: new Map(),
    absences: new Map(),
    tardies: new Map(),
    users: new Map(),
    sections: new Map(),
    assignments: new Map(),
  };
  const sent: Array<{ n: number; cmd: Cmd; r: HttpResult }> = [];
  const accepted: string[] = [];
  let offsetsBefore: Record<string, Record<number, string>> = {};

  const offsets = async (): Promise<Record<string, Record<number, string>>> => {
    const kafka = createKafka(p.config);
    return Object.fromEntries(
      await Promise.all(topicCatalog(p.config).map(async (t) => [t.name, await topicEndOffsets(kafka, p.topic(t.name))] as const)),
    );
  };
  const total = (o: Record<number, string>): number => Object.values(o).reduce((n, x) => n + Number(x), 0);

  const seedCommand = async (url: string, body: unknown): Promise<void> => {
    const r = await api.call('POST', url, { token: tokens.admin, body, headers: { prefer: 'wait=15' } });
    expect(r.status, tag(`seed ${url} ${JSON.stringify(r.body)}`)).to.equal(202);
    expect((r.body.status as { complete: boolean }).complete, tag(`seed ${url} applied`)).to.equal(true);
  };

  before(async () => {
    await p.start();
    await api.start();
    for (const [actor, { sub, role }] of Object.entries(SUBJECT)) tokens[actor as Actor] = await api.token(sub, role);

    const people: Array<[string, UserType]> = [
      ['S1', 'STUDENT'],
      ['S2', 'STUDENT'],
      ['S3', 'STUDENT'],
      [UNENROLLED, 'STUDENT'],
      [P1, 'PARENT'],
      [T, 'TEACHER'],
      [T2, 'TEACHER'],
      // The teachers validAssignment assigns (a teacher must exist to be assigned).
      ...NEW_TEACHERS.map((t): [string, UserType] => [t, 'TEACHER']),
    ];
    await Promise.all([
      ...people.map(([id, type]) => seedCommand('/api/v1/users', profile(id, type))),
      seedCommand('/api/v1/academic/years', {
        academicYearId: Y,
        name: 'School year 2025',
        startDate: '2025-03-03',
        endDate: '2025-12-19',
        gradingPeriods: [
          { periodId: PERIODS[0], name: 'Term 1', startDate: '2025-03-03', endDate: '2025-06-27' },
          { periodId: PERIODS[1], name: 'Term 2', startDate: '2025-07-14', endDate: '2025-12-19' },
        ],
      }),
      ...[A, B].map((id) =>
        seedCommand('/api/v1/academic/sections', {
          sectionId: id,
          academicYearId: Y,
          name: id,
          gradeLevel: 5,
          capacity: 5,
          homeroom: null,
        }),
      ),
    ]);
    for (const [id, type] of people) model.users.set(id, userM(profile(id, type)));
    await Promise.all([
      seedCommand(`/api/v1/users/S1/parents`, { parentUserId: P1, relationship: 'MOTHER' }),
      ...Object.entries(COURSES).flatMap(([section, courses]) =>
        courses.map((c) => seedCommand(`/api/v1/academic/sections/${section}/courses`, { courseId: c, courseName: c, weeklyHours: 4 })),
      ),
    ]);
    // Assignments and schedules once the courses they name belong to their sections; T teaches both of SEC-A's
    // courses (a teacher records grades only for a course assigned to them), T2 SEC-B's.
    await Promise.all([
      ...[
        [T, A, 'MATH'],
        [T, A, 'LANG'],
        [T2, B, 'MATH'],
      ].map(([teacher, section, course]) =>
        seedCommand('/api/v1/assignments', {
          assignmentId: course === 'MATH' ? `ASG-${section!}` : `ASG-${section!}-${course!}`,
          teacherUserId: teacher,
          sectionId: section,
          courseId: course,
          weeklyHours: 4,
          startDate: '2025-03-03',
        }),
      ),
      // Lessons Monday to Friday in both sections: DATES are weekdays (a mark on a day without one is refused).
      ...(['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'] as const)
        .flatMap((day) => [
          [T, A, day],
          [T2, B, day],
        ])
        .map(([teacher, section, day]) =>
          seedCommand('/api/v1/assignments/schedules', {
            sectionId: section,
            courseId: 'MATH',
            teacherUserId: teacher,
            dayOfWeek: day,
            startMinute: 480,
            endMinute: 570,
            room: null,
          }),
        ),
    ]);
    model.users.get('S1')!.parents.add(P1);
    model.users.get(P1)!.children.add('S1');
    // The students through the real saga.
    const enrollments = STUDENTS.map((s) => ({ id: `ENR-${s}`, s, section: SECTION_OF[s]! }));
    for (const e of enrollments) {
      const r = await api.call('POST', '/api/v1/academic/enrollments', {
        token: tokens.admin,
        body: {
          enrollmentId: e.id,
          studentUserId: e.s,
          sectionId: e.section,
          academicYearId: Y,
          enrollmentDate: '2025-03-03',
          enrollmentType: 'REGULAR',
          previousInstitution: null,
        },
      });
      expect(r.status, tag(JSON.stringify(r.body))).to.equal(202);
    }
    const ends = await Promise.all(
      enrollments.map((e) =>
        eventually(
          async () => {
            const row = await p.enrollment(e.id);
            return row && ['COMPLETED', 'FAILED'].includes(row.status) ? row.status : undefined;
          },
          `the saga of ${e.id} to end`,
          60_000,
        ),
      ),
    );
    expect(ends, tag('every seeded enrollment completed')).to.deep.equal(enrollments.map(() => 'COMPLETED'));
    await p.settled();
    offsetsBefore = await offsets();
  });
  after(async () => {
    await api.stop();
    await p.stop();
  });

  // ---- generators: each returns a command and, for a valid one, its effect on the model --------------------------

  let n = 0;
  const id = (prefix: string): string => `${prefix}-${++n}`;
  const students = (): string[] => [...STUDENTS];
  const enrolledStudent = () => {
    const s = g.pick(students());
    return { s, section: SECTION_OF[s]! };
  };
  const gradeBody = () => {
    const { s, section } = enrolledStudent();
    const maxScore = g.pick([10, 20, 100]);
    return {
      gradeId: id('GRD'),
      studentUserId: s,
      sectionId: section,
      courseId: g.pick(COURSES[section]!),
      periodId: g.pick(PERIODS),
      evaluationType: g.pick(TYPES),
      score: Math.round(g.next() * maxScore * 2) / 2,
      maxScore,
      comment: g.chance(0.3) ? 'well done' : null,
    };
  };

  const validGrade = (): Cmd => {
    const b = gradeBody();
    const as = writerOf(b.sectionId, g);
    return {
      kind: 'grade.record',
      as,
      method: 'POST',
      path: '/api/v1/grades',
      body: b,
      expect: { status: 202, events: 1, apply: (m) => m.grades.set(b.gradeId, { ...b, recordedBy: SUBJECT[as].sub }) },
    };
  };
  const validCorrection = (): Cmd | undefined => {
    const grades = [...model.grades.values()];
    if (!grades.length) return undefined;
    const old = g.pick(grades);
    const newScore = Math.round(g.next() * old.maxScore * 2) / 2;
    const as = writerOf(old.sectionId, g);
    return {
      kind: 'grade.correct',
      as,
      method: 'POST',
      path: `/api/v1/grades/${old.gradeId}/corrections`,
      body: {
        studentUserId: old.studentUserId,
        sectionId: old.sectionId,
        courseId: old.courseId,
        periodId: old.periodId,
        newScore,
        reason: 'recount',
      },
      expect: { status: 202, events: 1, apply: (m) => void (m.grades.get(old.gradeId)!.score = newScore) },
    };
  };
  const markApply =
    (s: string, section: string, date: string, status: AttendanceStatus, by: string, attendanceId: string | undefined) =>
    (m: Model): void => {
      const k = dayKey(s, section, date);
      const before = m.marks.get(k);
      // One mark per student, section and date: a later one corrects the status and who marked it; the first id stays.
      m.marks.set(k, { firstId: before ? before.firstId : attendanceId, studentUserId: s, sectionId: section, date, status, markedBy: by });
    };
  const validMark = (): Cmd => {
    const { s, section } = enrolledStudent();
    const as = writerOf(section, g);
    const b = { attendanceId: id('ATT'), studentUserId: s, sectionId: section, date: g.pick(DATES), status: g.pick(STATUSES) };
    return {
      kind: 'attendance.mark',
      as,
      method: 'POST',
      path: '/api/v1/attendance/marks',
      body: b,
      expect: { status: 202, events: 1, apply: markApply(s, section, b.date, b.status, SUBJECT[as].sub, b.attendanceId) },
    };
  };
  const validMarkPresent = (): Cmd => {
    const section = g.pick([A, B]);
    const list = ENROLLED[section]!.filter(() => g.chance(0.7));
    const ids = list.length ? list : [ENROLLED[section]![0]!];
    const as = writerOf(section, g);
    const date = g.pick(DATES);
    return {
      kind: 'attendance.mark-present',
      as,
      method: 'POST',
      path: '/api/v1/attendance/mark-present',
      body: { sectionId: section, date, studentUserIds: ids },
      expect: {
        status: 202,
        events: ids.length,
        apply: (m) => ids.forEach((s) => markApply(s, section, date, 'PRESENT', SUBJECT[as].sub, undefined)(m)),
      },
    };
  };
  const validAbsence = (): Cmd => {
    const { s, section } = enrolledStudent();
    const as = writerOf(section, g);
    const b = { absenceId: id('ABS'), studentUserId: s, sectionId: section, date: g.pick(DATES), reason: g.chance(0.5) ? 'flu' : null };
    return {
      kind: 'attendance.absence',
      as,
      method: 'POST',
      path: '/api/v1/attendance/absences',
      body: b,
      expect: {
        status: 202,
        events: 1,
        apply: (m) => m.absences.set(b.absenceId, { ...b, recordedBy: SUBJECT[as].sub, justified: false, justification: null }),
      },
    };
  };
  const validJustify = (): Cmd | undefined => {
    const absences = [...model.absences.values()];
    if (!absences.length) return undefined;
    const a = g.pick(absences);
    // The parent may justify only their own child's (P1's is S1).
    const as: Actor = a.studentUserId === 'S1' && g.chance(0.5) ? 'parent' : 'admin';
    const justification = g.pick(['doctor', 'family', 'transport']);
    return {
      kind: 'attendance.justify',
      as,
      method: 'POST',
      path: `/api/v1/attendance/absences/${a.absenceId}/justify`,
      body: { studentUserId: a.studentUserId, date: a.date, justification },
      expect: {
        status: 202,
        events: 1,
        apply: (m) => Object.assign(m.absences.get(a.absenceId)!, { justified: true, justification }),
      },
    };
  };
  const validTardy = (): Cmd => {
    const { s, section } = enrolledStudent();
    const b = { tardinessId: id('TRD'), studentUserId: s, sectionId: section, date: g.pick(DATES), minutesLate: 1 + g.int(40) };
    return {
      kind: 'attendance.tardiness',
      as: writerOf(section, g),
      method: 'POST',
      path: '/api/v1/attendance/tardiness',
      body: b,
      expect: { status: 202, events: 1, apply: (m) => m.tardies.set(b.tardinessId, b) },
    };
  };
  const validCreateUser = (): Cmd => {
    const type = g.pick<UserType>(['STUDENT', 'PARENT', 'TEACHER']);
    const body = {
      ...profile(id('USR'), type),
      phone: g.chance(0.5) ? '+34 600 000 000' : null,
      birthDate: g.chance(0.5) ? '2013-01-31' : null,
    };
    return {
      kind: 'user.create',
      as: 'admin',
      method: 'POST',
      path: '/api/v1/users',
      body,
      // Parent links name the users created here: they must be in the users projection first.
      wait: true,
      expect: { status: 202, events: 1, apply: (m) => m.users.set(body.userId, userM(body)) },
    };
  };
  const validUpdateUser = (): Cmd => {
    const userId = g.pick([...model.users.keys()]);
    const body: Record<string, string> = {};
    if (g.chance(0.5)) body.firstName = g.pick(['Ana', 'Luis', 'Marta', 'Jon']);
    if (g.chance(0.5)) body.lastName = g.pick(['Ruiz', 'Sanz', 'Vidal']);
    if (g.chance(0.3)) body.email = `${userId.toLowerCase()}.${n}@mail.example`;
    if (g.chance(0.3) || !Object.keys(body).length) body.phone = `+34 611 ${100 + g.int(900)} 000`;
    return {
      kind: 'user.update',
      as: 'admin',
      method: 'PATCH',
      path: `/api/v1/users/${userId}`,
      body,
      expect: { status: 202, events: 1, apply: (m) => Object.assign(m.users.get(userId)!, body) },
    };
  };
  const validLink = (): Cmd | undefined => {
    const users = [...model.users.entries()];
    const kids = users.filter(([, u]) => u.userType === 'STUDENT').map(([k]) => k);
    // P1 keeps S1 as the only child: the parent-permission rows rely on it.
    const parents = users.filter(([k, u]) => u.userType === 'PARENT' && k !== P1).map(([k]) => k);
    if (!parents.length) return undefined;
    const [s, par] = [g.pick(kids), g.pick(parents)];
    return {
      kind: 'user.link-parent',
      as: 'admin',
      method: 'POST',
      path: `/api/v1/users/${s}/parents`,
      body: { parentUserId: par, relationship: g.pick(RELATIONSHIPS) },
      expect: {
        status: 202,
        events: 1,
        apply: (m) => {
          m.users.get(s)!.parents.add(par);
          m.users.get(par)!.children.add(s);
        },
      },
    };
  };
  const validSection = (): Cmd => {
    const b = {
      sectionId: id('SEC-N'),
      academicYearId: Y,
      name: `N${n}`,
      gradeLevel: 1 + g.int(11),
      capacity: 1 + g.int(30),
      homeroom: null,
    };
    return {
      kind: 'academic.section',
      as: 'admin',
      method: 'POST',
      path: '/api/v1/academic/sections',
      body: b,
      wait: true,
      expect: {
        status: 202,
        events: 1,
        apply: (m) => m.sections.set(b.sectionId, { ...b, courses: new Map() }),
      },
    };
  };
  const validCourse = (): Cmd | undefined => {
    const open = [...model.sections.values()].filter((s) => s.courses.size < 3);
    if (!open.length) return undefined;
    const s = g.pick(open);
    const courseId = ['ART', 'MUSIC', 'PE'].find((c) => !s.courses.has(c))!;
    const b = { courseId, courseName: `${courseId} course`, weeklyHours: 1 + g.int(5) };
    return {
      kind: 'academic.course',
      as: 'admin',
      method: 'POST',
      path: `/api/v1/academic/sections/${s.sectionId}/courses`,
      body: b,
      expect: { status: 202, events: 1, apply: (m) => void m.sections.get(s.sectionId)!.courses.set(courseId, b) },
    };
  };
  const validAssignment = (): Cmd => {
    const teacher = g.pick(NEW_TEACHERS);
    const b = {
      assignmentId: id('ASG'),
      teacherUserId: teacher,
      sectionId: g.pick([A, B]),
      courseId: 'MATH',
      weeklyHours: 1 + g.int(3),
      startDate: '2025-03-03',
    };
    return {
      kind: 'assignments.assign',
      as: 'admin',
      method: 'POST',
      path: '/api/v1/assignments',
      body: b,
      expect: {
        status: 202,
        events: 1,
        apply: (m) =>
          m.assignments.set(teacher, [
            ...(m.assignments.get(teacher) ?? []),
            { assignmentId: b.assignmentId, sectionId: b.sectionId, courseId: b.courseId, weeklyHours: b.weeklyHours },
          ]),
      },
    };
  };

  /** Invalid commands: each breaks one rule the API checks; built from a valid body so only that rule is broken. */
  const bad = (
    kind: string,
    as: Actor,
    method: Cmd['method'],
    path: string,
    body: unknown,
    status: 400 | 403 | 409,
    errors?: FieldRule[],
  ): Cmd => ({
    kind,
    as,
    method,
    path,
    body,
    expect: errors ? { status, errors } : { status },
  });
  const invalid: Array<() => Cmd | undefined> = [
    // grades
    () => {
      const b = gradeBody();
      return bad(
        'grade/GRADE_SCORE_RANGE above max',
        writerOf(b.sectionId, g),
        'POST',
        '/api/v1/grades',
        { ...b, score: b.maxScore + 1 + g.int(10) },
        400,
        on('body.score', 'GRADE_SCORE_RANGE'),
      );
    },
    () =>
      bad(
        'grade/GRADE_SCORE_RANGE below 0',
        'admin',
        'POST',
        '/api/v1/grades',
        { ...gradeBody(), score: -1 - g.int(5) },
        400,
        on('body.score', 'GRADE_SCORE_RANGE'),
      ),
    () =>
      bad(
        'grade/GRADE_MAX_SCORE 0',
        'admin',
        'POST',
        '/api/v1/grades',
        { ...gradeBody(), score: 0, maxScore: 0 },
        400,
        on('body.maxScore', 'GRADE_MAX_SCORE'),
      ),
    () =>
      bad(
        'grade/GRADE_MAX_SCORE above bound',
        'admin',
        'POST',
        '/api/v1/grades',
        { ...gradeBody(), score: 1, maxScore: p.config.rules.maxScore * 5 },
        400,
        on('body.maxScore', 'GRADE_MAX_SCORE'),
      ),
    () => bad('grade/schema: score as a string', 'admin', 'POST', '/api/v1/grades', { ...gradeBody(), score: '12' }, 400, on('body.score')),
    () =>
      bad(
        'grade/schema: evaluationType enum',
        'admin',
        'POST',
        '/api/v1/grades',
        { ...gradeBody(), evaluationType: 'ORAL' },
        400,
        on('body.evaluationType'),
      ),
    () => {
      const c = validCorrection();
      if (!c) return undefined;
      return bad(
        'grade.correct/GRADE_SCORE_RANGE below 0',
        c.as,
        'POST',
        c.path,
        { ...(c.body as object), newScore: -0.5 - g.int(3) },
        400,
        on('body.newScore', 'GRADE_SCORE_RANGE'),
      );
    },
    () => {
      const c = validCorrection();
      if (!c) return undefined;
      return bad(
        'grade.correct/schema: reason required',
        c.as,
        'POST',
        c.path,
        without(c.body as Record<string, unknown>, 'reason'),
        400,
        on('body.reason'),
      );
    },
    () => {
      // A student of the other section, in a section the (admin) writer may write in.
      const b = gradeBody();
      const other = b.sectionId === A ? 'S3' : g.pick(['S1', 'S2']);
      return bad(
        'grade/GRADE_STUDENT_NOT_ENROLLED other section',
        'admin',
        'POST',
        '/api/v1/grades',
        { ...b, studentUserId: other },
        409,
        on('body.studentUserId', 'GRADE_STUDENT_NOT_ENROLLED'),
      );
    },
    () =>
      bad(
        'grade/GRADE_STUDENT_NOT_ENROLLED nowhere',
        writerOf(A, g),
        'POST',
        '/api/v1/grades',
        { ...gradeBody(), studentUserId: UNENROLLED, sectionId: A, courseId: 'MATH' },
        409,
        on('body.studentUserId', 'GRADE_STUDENT_NOT_ENROLLED'),
      ),
    () =>
      bad(
        'grade/role: teacher outside their section',
        'teacher',
        'POST',
        '/api/v1/grades',
        { ...gradeBody(), studentUserId: 'S3', sectionId: B, courseId: 'MATH' },
        403,
      ),
    () =>
      bad(
        'grade/GRADE_PERIOD_NOT_IN_YEAR',
        'admin',
        'POST',
        '/api/v1/grades',
        { ...gradeBody(), periodId: '2024-T1' },
        409,
        on('body.periodId', 'GRADE_PERIOD_NOT_IN_YEAR'),
      ),
    () =>
      bad(
        'grade/GRADE_COURSE_NOT_IN_SECTION',
        'admin',
        'POST',
        '/api/v1/grades',
        { ...gradeBody(), courseId: 'CHEM' },
        409,
        on('body.courseId', 'GRADE_COURSE_NOT_IN_SECTION'),
      ),
    () => bad('grade/role: student', 'student', 'POST', '/api/v1/grades', gradeBody(), 403),
    () => bad('grade/role: parent', 'parent', 'POST', '/api/v1/grades', gradeBody(), 403),
    // attendance
    () =>
      bad(
        'mark/schema: status enum',
        'admin',
        'POST',
        '/api/v1/attendance/marks',
        { ...(validMark().body as object), status: 'SICK' },
        400,
        on('body.status'),
      ),
    () =>
      bad(
        'mark/schema: date 2025-02-30',
        'admin',
        'POST',
        '/api/v1/attendance/marks',
        { ...(validMark().body as object), date: '2025-02-30' },
        400,
        on('body.date'),
      ),
    () => {
      const t = validTardy();
      return bad(
        'tardiness/TARDINESS_MINUTES',
        t.as,
        'POST',
        t.path,
        { ...(t.body as object), minutesLate: -g.int(6) },
        400,
        on('body.minutesLate', 'TARDINESS_MINUTES'),
      );
    },
    () =>
      bad(
        'mark-present/schema: no students',
        'admin',
        'POST',
        '/api/v1/attendance/mark-present',
        { sectionId: A, date: g.pick(DATES), studentUserIds: [] },
        400,
        on('body.studentUserIds'),
      ),
    () =>
      bad(
        'mark-present/schema: a student twice',
        'admin',
        'POST',
        '/api/v1/attendance/mark-present',
        { sectionId: A, date: g.pick(DATES), studentUserIds: ['S1', 'S1'] },
        400,
        on('body.studentUserIds'),
      ),
    () =>
      bad(
        'absence/schema: unknown field',
        'admin',
        'POST',
        '/api/v1/attendance/absences',
        { ...(validAbsence().body as object), excuse: 'none' },
        400,
        on('body.excuse'),
      ),
    () => {
      const j = validJustify();
      if (!j) return undefined;
      return bad(
        'justify/schema: justification required',
        'admin',
        'POST',
        j.path,
        without(j.body as Record<string, unknown>, 'justification'),
        400,
        on('body.justification'),
      );
    },
    () => {
      const [path, base] = g.pick([
        ['/api/v1/attendance/marks', validMark().body],
        ['/api/v1/attendance/absences', validAbsence().body],
        ['/api/v1/attendance/tardiness', validTardy().body],
      ] as const);
      const b = base as { sectionId: string };
      const other = b.sectionId === A ? g.pick(['S3', UNENROLLED]) : g.pick(['S1', 'S2', UNENROLLED]);
      return bad(
        `${path}/ATTENDANCE_STUDENT_NOT_ENROLLED`,
        writerOf(b.sectionId, g),
        'POST',
        path,
        { ...b, studentUserId: other },
        409,
        on('body.studentUserId', 'ATTENDANCE_STUDENT_NOT_ENROLLED'),
      );
    },
    () => {
      const ids = ['S1', 'S2'].filter(() => g.chance(0.5));
      const at = g.int(ids.length + 1);
      ids.splice(at, 0, g.pick(['S3', UNENROLLED]));
      return bad(
        'mark-present/ATTENDANCE_STUDENT_NOT_ENROLLED',
        writerOf(A, g),
        'POST',
        '/api/v1/attendance/mark-present',
        { sectionId: A, date: g.pick(DATES), studentUserIds: ids },
        409,
        on(`body.studentUserIds[${at}]`, 'ATTENDANCE_STUDENT_NOT_ENROLLED'),
      );
    },
    () =>
      bad(
        'mark/role: teacher outside their section',
        'teacher2',
        'POST',
        '/api/v1/attendance/marks',
        { ...(validMark().body as object), studentUserId: 'S1', sectionId: A },
        403,
      ),
    () => {
      const m = validMark();
      return bad(
        'mark/ATTENDANCE_DATE_OUTSIDE_YEAR',
        m.as,
        'POST',
        m.path,
        { ...(m.body as object), date: g.pick(['2024-12-02', '2025-02-28', '2025-12-22']) }, // weekdays: one rule each
        409,
        on('body.date', 'ATTENDANCE_DATE_OUTSIDE_YEAR'),
      );
    },
    () => {
      const m = validMark();
      return bad(
        'mark/ATTENDANCE_NOT_A_SCHOOL_DAY',
        m.as,
        'POST',
        m.path,
        { ...(m.body as object), date: g.pick(['2025-03-15', '2025-03-16', '2025-04-05']) }, // weekends: no lessons
        409,
        on('body.date', 'ATTENDANCE_NOT_A_SCHOOL_DAY'),
      );
    },
    () => {
      // Every user of the model is active: the one rule a role change breaks is the type's.
      const [userId, u] = g.pick([...model.users.entries()]);
      const newRoles = u.userType === 'TEACHER' ? ['TEACHER', 'STUDENT'] : [u.userType, 'ADMIN'];
      return bad(
        'user.roles/USER_ROLES_NOT_OF_TYPE',
        'admin',
        'POST',
        `/api/v1/users/${userId}/roles`,
        { previousRoles: u.roles, newRoles },
        409,
        on('body.newRoles', 'USER_ROLES_NOT_OF_TYPE'),
      );
    },
    () =>
      bad(
        'notification/NOTIFICATION_NO_ADDRESS: a WEBHOOK without an address',
        'admin',
        'POST',
        '/api/v1/notifications',
        {
          recipientUserId: g.pick([...model.users.keys()]),
          channel: 'WEBHOOK',
          templateId: 'news',
          subject: null,
          body: 'x',
          variables: {},
          priority: 'NORMAL',
        },
        400,
        on('body.address', 'NOTIFICATION_NO_ADDRESS'),
      ),
    () => {
      const u = validCreateUser();
      const b = u.body as ProfileBody;
      const roles = b.userType === 'STUDENT' ? ['STUDENT', 'ADMIN'] : b.userType === 'PARENT' ? ['TEACHER'] : ['STUDENT'];
      return bad(
        'user.create/USER_ROLES_NOT_OF_TYPE',
        'admin',
        'POST',
        u.path,
        { ...b, roles },
        400,
        on('body.roles', 'USER_ROLES_NOT_OF_TYPE'),
      );
    },
    () => {
      const t = validTardy();
      return bad(
        'tardiness/ATTENDANCE_DATE_IN_FUTURE',
        t.as,
        'POST',
        t.path,
        { ...(t.body as object), date: '2099-03-10' },
        400,
        on('body.date', 'ATTENDANCE_DATE_IN_FUTURE'),
      );
    },
    () => bad('mark/role: student', 'student', 'POST', '/api/v1/attendance/marks', validMark().body, 403),
    () => {
      const j = validJustify();
      if (!j) return undefined;
      const b = j.body as { studentUserId: string };
      return b.studentUserId === 'S1'
        ? bad('justify/role: teacher', 'teacher', 'POST', j.path, b, 403)
        : bad('justify/role: parent of another student', 'parent', 'POST', j.path, b, 403);
    },
    // users
    () =>
      bad(
        'user/schema: email required',
        'admin',
        'POST',
        '/api/v1/users',
        without(profile(id('USR-X'), 'STUDENT'), 'email'),
        400,
        on('body.email'),
      ),
    () =>
      bad(
        'user/schema: userType enum',
        'admin',
        'POST',
        '/api/v1/users',
        { ...profile(id('USR-X'), 'STUDENT'), userType: 'JANITOR' },
        400,
        on('body.userType'),
      ),
    () =>
      bad(
        'user/schema: email format',
        'admin',
        'POST',
        '/api/v1/users',
        { ...profile(id('USR-X'), 'PARENT'), email: 'not-an-email' },
        400,
        on('body.email'),
      ),
    () =>
      bad(
        'user/schema: birthDate 2014-02-30',
        'admin',
        'POST',
        '/api/v1/users',
        { ...profile(id('USR-X'), 'STUDENT'), birthDate: '2014-02-30' },
        400,
        on('body.birthDate'),
      ),
    () => bad('user/role: teacher creates', 'teacher', 'POST', '/api/v1/users', profile(id('USR-X'), 'STUDENT'), 403),
    () => bad('user.update/role: student', 'student', 'PATCH', '/api/v1/users/S1', { firstName: 'Me' }, 403),
    () => bad('user.link/role: parent', 'parent', 'POST', '/api/v1/users/S2/parents', { parentUserId: P1, relationship: 'MOTHER' }, 403),
    () =>
      bad(
        'user.link/schema: relationship enum',
        'admin',
        'POST',
        '/api/v1/users/S2/parents',
        { parentUserId: P1, relationship: 'UNCLE' },
        400,
        on('body.relationship'),
      ),
    () =>
      bad(
        'user.link/PARENT_LINK_NOT_PARENT',
        'admin',
        'POST',
        '/api/v1/users/S2/parents',
        { parentUserId: g.pick([T, 'S1', 'PAR-NOBODY']), relationship: 'MOTHER' },
        409,
        on('body.parentUserId', 'PARENT_LINK_NOT_PARENT'),
      ),
    // academic and assignments
    () =>
      bad(
        'section/schema: capacity 0',
        'admin',
        'POST',
        '/api/v1/academic/sections',
        { ...(validSection().body as object), capacity: 0 },
        400,
        on('body.capacity'),
      ),
    () =>
      bad(
        'section/schema: gradeLevel a string',
        'admin',
        'POST',
        '/api/v1/academic/sections',
        { ...(validSection().body as object), gradeLevel: '5' },
        400,
        on('body.gradeLevel'),
      ),
    () => bad('section/role: student', 'student', 'POST', '/api/v1/academic/sections', validSection().body, 403),
    () =>
      bad(
        'assignment/schema: unknown field',
        'admin',
        'POST',
        '/api/v1/assignments',
        { ...(validAssignment().body as object), hourlyRate: 30 },
        400,
        on('body.hourlyRate'),
      ),
    () => bad('assignment/role: teacher', 'teacher', 'POST', '/api/v1/assignments', validAssignment().body, 403),
    () =>
      bad(
        'assignment/TEACHER_NOT_A_TEACHER',
        'admin',
        'POST',
        '/api/v1/assignments',
        { ...(validAssignment().body as object), teacherUserId: g.pick(['S1', P1, 'TCH-NOBODY']) },
        409,
        on('body.teacherUserId', 'TEACHER_NOT_A_TEACHER'),
      ),
    () =>
      bad(
        'assignment/ASSIGNMENT_COURSE_NOT_IN_SECTION',
        'admin',
        'POST',
        '/api/v1/assignments',
        { ...(validAssignment().body as object), courseId: 'CHEM' },
        409,
        on('body.courseId', 'ASSIGNMENT_COURSE_NOT_IN_SECTION'),
      ),
    () =>
      bad(
        'schedule/rule: empty slot',
        'admin',
        'POST',
        '/api/v1/assignments/schedules',
        { sectionId: A, courseId: 'MATH', teacherUserId: T, dayOfWeek: 'FRIDAY', startMinute: 600, endMinute: 600, room: null },
        400,
        on('body.endMinute', 'SCHEDULE_SLOT_INVALID'),
      ),
    () =>
      bad(
        'schedule/schema: dayOfWeek enum',
        'admin',
        'POST',
        '/api/v1/assignments/schedules',
        { sectionId: A, courseId: 'MATH', teacherUserId: T, dayOfWeek: 'FUNDAY', startMinute: 600, endMinute: 660, room: null },
        400,
        on('body.dayOfWeek'),
      ),
  ];
  const valid: Array<[number, () => Cmd | undefined]> = [
    [14, validGrade],
    [8, validCorrection],
    [12, validMark],
    [4, validMarkPresent],
    [7, validAbsence],
    [5, validJustify],
    [6, validTardy],
    [5, validCreateUser],
    [4, validUpdateUser],
    [3, validLink],
    [2, validSection],
    [2, validCourse],
    [2, validAssignment],
  ];
  const weighted = (xs: Array<[number, () => Cmd | undefined]>): (() => Cmd | undefined) => {
    let r = g.int(xs.reduce((s, [w]) => s + w, 0));
    for (const [w, f] of xs) if ((r -= w) < 0) return f;
    return xs[0]![1];
  };
  const describeCmd = (n: number, c: Cmd): string => `#${n} ${c.kind} as ${c.as}: ${c.method} ${c.path} ${JSON.stringify(c.body)}`;

  it('every valid command is answered 202 and every invalid one its 4xx with the rule broken; nothing refused is published', async () => {
    const count = 150 + g.int(101);
    const wrong: string[] = [];
    for (let i = 0; i < count; i++) {
      let cmd: Cmd | undefined;
      while (!cmd) cmd = g.chance(0.35) ? g.pick(invalid)() : weighted(valid)();
      const r = await api.call(cmd.method, cmd.path, {
        token: tokens[cmd.as],
        body: cmd.body,
        headers: cmd.wait ? { prefer: 'wait=15' } : {},
      });
      sent.push({ n: i, cmd, r });
      const e = cmd.expect;
      const seen = `${describeCmd(i, cmd)} → ${r.status} ${JSON.stringify(r.body)}`;
      if (r.status !== e.status) {
        wrong.push(`expected ${e.status}: ${seen}`);
        continue;
      }
      if (e.status === 202) {
        const ids = r.body.eventIds as string[];
        if (ids.length !== e.events) wrong.push(`expected ${e.events} events: ${seen}`);
        accepted.push(...ids);
        e.apply(model);
      } else if (e.errors) {
        const errors = ((r.body.errors ?? []) as Array<{ field: string; rule?: string }>).map((x) =>
          x.rule ? { field: x.field, rule: x.rule } : { field: x.field },
        );
        if (JSON.stringify(errors) !== JSON.stringify(e.errors)) wrong.push(`expected errors ${JSON.stringify(e.errors)}: ${seen}`);
      }
    }
    expect(wrong, tag('answers that break the rules')).to.deep.equal([]);
    const kinds = new Set(sent.map((s) => s.cmd.kind));
    expect(sent.filter((s) => s.cmd.expect.status === 202).length, tag('valid commands')).to.be.greaterThan(60);
    expect(sent.filter((s) => s.cmd.expect.status !== 202).length, tag('invalid commands')).to.be.greaterThan(30);
    expect(kinds.size, tag('kinds of command')).to.be.greaterThan(20);

    // Nothing refused was published: the records appended to the domain topics are exactly the accepted commands' events
    // (no causationId: the API's own) plus what the processors derived from them (each caused by one of those, transitively);
    // no dead letter and nothing parked.
    await p.settled();
    const after = await offsets();
    const grew = (name: string): number => total(after[name] ?? {}) - total(offsetsBefore[name] ?? {});
    for (const t of topicCatalog(p.config))
      if (!DOMAIN_TOPICS.includes(t.name as (typeof DOMAIN_TOPICS)[number])) expect(grew(t.name), tag(`${t.name} grew`)).to.equal(0);
    const domain = DOMAIN_TOPICS.map((t) => p.topic(t));
    const all = await readAll(
      createKafka(p.config),
      domain,
      DOMAIN_TOPICS.reduce((s, t) => s + total(after[t] ?? {}), 0),
      60_000,
    );
    const appended = all.filter((m) => {
      const t = DOMAIN_TOPICS.find((x) => p.topic(x) === m.topic)!;
      return Number(m.offset) >= Number(offsetsBefore[t]?.[m.partition] ?? 0);
    });
    const header = (m: (typeof all)[number], k: string): string | undefined => {
      const v = m.headers?.[k];
      return v === undefined ? undefined : String(v);
    };
    const own = appended.filter((m) => header(m, 'causationId') === undefined).map((m) => header(m, 'eventId') ?? '');
    expect([...own].sort(), tag('records the API published: exactly the accepted commands’ events')).to.deep.equal([...accepted].sort());
    const known = new Set(accepted);
    let derived = appended.filter((m) => header(m, 'causationId') !== undefined);
    for (let grown = true; grown;) {
      grown = false;
      derived = derived.filter((m) => {
        if (!known.has(header(m, 'causationId')!)) return true;
        known.add(header(m, 'eventId') ?? '');
        grown = true;
        return false;
      });
    }
    expect(
      derived.map((m) => `${header(m, 'eventType')} caused by ${header(m, 'causationId')}`),
      tag('derived records not caused by an accepted command'),
    ).to.deep.equal([]);
    expect(
      DOMAIN_TOPICS.reduce((s, t) => s + grew(t), 0),
      tag('domain topics grew by the accepted events and what they caused'),
    ).to.equal(appended.length);
  });

  it('the projections hold exactly the effects of the valid commands (the model)', async () => {
    await p.settled();
    const get = async (url: string): Promise<HttpResult> => api.call('GET', url, { token: tokens.admin });
    const q = async <R>(processor: string, sql: string): Promise<R[]> =>
      (await p.pool.query(sql.replace(/\$S/g, `"${p.schema(processor)}"`))).rows as R[];

    // Grades: each grade with its score after the corrections; per student, course and period the weighted average and count.
    const grades = await q(
      'grades',
      `select grade_id, student_user_id, section_id, course_id, period_id, evaluation_type,
        score, max_score, recorded_by, comment from $S.grades order by grade_id`,
    );
    const modelGrades = [...model.grades.values()]
      .sort((a, b) => (a.gradeId < b.gradeId ? -1 : a.gradeId > b.gradeId ? 1 : 0))
      .map((x) => ({
        grade_id: x.gradeId,
        student_user_id: x.studentUserId,
        section_id: x.sectionId,
        course_id: x.courseId,
        period_id: x.periodId,
        evaluation_type: x.evaluationType,
        score: x.score,
        max_score: x.maxScore,
        recorded_by: x.recordedBy,
        comment: x.comment,
      }));
    expect(grades, tag('grades rows')).to.deep.equal(modelGrades);
    const weights = p.config.rules.evaluationWeights;
    const diffs: string[] = [];
    for (const s of STUDENTS)
      for (const period of PERIODS) {
        const r = await get(`/api/v1/grades/student/${s}/period/${period}`);
        expect(r.status, tag(`grades of ${s} in ${period}`)).to.equal(200);
        const mine = [...model.grades.values()].filter((x) => x.studentUserId === s && x.periodId === period);
        const liveGrades = (r.body.grades as Array<Record<string, unknown>>)
          .map((x) => `${String(x.gradeId)} ${String(x.courseId)} ${String(x.evaluationType)} ${Number(x.score)}/${Number(x.maxScore)}`)
          .sort();
        const wantGrades = mine.map((x) => `${x.gradeId} ${x.courseId} ${x.evaluationType} ${x.score}/${x.maxScore}`).sort();
        expect(liveGrades, tag(`API grades of ${s} in ${period}`)).to.deep.equal(wantGrades);
        const averages = r.body.averages as Array<{ courseId: string; average: number; gradeCount: number }>;
        const courses = [...new Set(mine.map((x) => x.courseId))].sort();
        expect(
          averages.map((a) => a.courseId),
          tag(`courses averaged for ${s} in ${period}`),
        ).to.deep.equal(courses);
        for (const c of courses) {
          const ofCourse = mine.filter((x) => x.courseId === c);
          const want = modelAverage(ofCourse, weights)!;
          const live = averages.find((a) => a.courseId === c)!;
          // The rule rounds to hundredths: at most half a hundredth apart, plus float noise.
          if (Math.abs(live.average - want) > 0.005 + 1e-9 || live.gradeCount !== ofCourse.length)
            diffs.push(
              `${s}/${c}/${period}: live average ${live.average} of ${live.gradeCount}, model ${want} of ${ofCourse.length} (${JSON.stringify(ofCourse)})`,
            );
        }
      }
    expect(diffs, tag('period averages')).to.deep.equal([]);

    // Attendance: one mark per student, section and day (last status, last marker, first id); absences with their
    // justification; tardies; per student and section the counts by status, unjustified absences and tardies.
    const marks = await q<Record<string, unknown>>(
      'attendance',
      `select attendance_id, student_user_id, section_id, to_char(date, 'YYYY-MM-DD') date, status, marked_by from $S.marks order by 2, 3, 4`,
    );
    const wantMarks = [...model.marks.values()]
      .sort((a, b) => (dayKey(a.studentUserId, a.sectionId, a.date) < dayKey(b.studentUserId, b.sectionId, b.date) ? -1 : 1))
      .map((x) => ({ student_user_id: x.studentUserId, section_id: x.sectionId, date: x.date, status: x.status, marked_by: x.markedBy }));
    expect(
      marks.map((x) => without(x, 'attendance_id')),
      tag('marks'),
    ).to.deep.equal(wantMarks);
    const firstIds = [...model.marks.values()].sort((a, b) =>
      dayKey(a.studentUserId, a.sectionId, a.date) < dayKey(b.studentUserId, b.sectionId, b.date) ? -1 : 1,
    );
    firstIds.forEach((x, i) => {
      if (x.firstId) expect(marks[i]?.attendance_id, tag(`the first id of ${x.studentUserId}'s mark of ${x.date}`)).to.equal(x.firstId);
    });
    const absences = await q(
      'attendance',
      `select absence_id, student_user_id, section_id, to_char(date, 'YYYY-MM-DD') date, reason, recorded_by, justified, justification from $S.absences order by absence_id`,
    );
    expect(absences, tag('absences')).to.deep.equal(
      [...model.absences.values()]
        .sort((a, b) => (a.absenceId < b.absenceId ? -1 : 1))
        .map((x) => ({
          absence_id: x.absenceId,
          student_user_id: x.studentUserId,
          section_id: x.sectionId,
          date: x.date,
          reason: x.reason,
          recorded_by: x.recordedBy,
          justified: x.justified,
          justification: x.justification,
        })),
    );
    const tardies = await q(
      'attendance',
      `select tardiness_id, student_user_id, section_id, to_char(date, 'YYYY-MM-DD') date, minutes_late from $S.tardies order by tardiness_id`,
    );
    expect(tardies, tag('tardies')).to.deep.equal(
      [...model.tardies.values()]
        .sort((a, b) => (a.tardinessId < b.tardinessId ? -1 : 1))
        .map((x) => ({
          tardiness_id: x.tardinessId,
          student_user_id: x.studentUserId,
          section_id: x.sectionId,
          date: x.date,
          minutes_late: x.minutesLate,
        })),
    );
    for (const s of STUDENTS) {
      const counts = new Map<string, Record<string, number>>();
      const of = (section: string): Record<string, number> => {
        const c = counts.get(section) ?? { present: 0, absent: 0, late: 0, excused: 0, unjustifiedAbsences: 0, tardies: 0 };
        counts.set(section, c);
        return c;
      };
      for (const m of model.marks.values()) if (m.studentUserId === s) of(m.sectionId)[m.status.toLowerCase()]! += 1;
      for (const a of model.absences.values()) if (a.studentUserId === s) of(a.sectionId).unjustifiedAbsences! += a.justified ? 0 : 1;
      for (const t of model.tardies.values()) if (t.studentUserId === s) of(t.sectionId).tardies! += 1;
      const r = await get(`/api/v1/attendance/student/${s}/summary`);
      if (!counts.size) {
        expect(r.status, tag(`no attendance summary of ${s}`)).to.equal(404);
        continue;
      }
      expect(r.status, tag(`attendance summary of ${s}`)).to.equal(200);
      const sections = (r.body.sections as Array<Record<string, unknown>>)
        .map((x) => without(x, 'updatedAt'))
        .sort((a, b) => (String(a.sectionId) < String(b.sectionId) ? -1 : 1));
      expect(sections, tag(`attendance counts of ${s} by section`)).to.deep.equal(
        [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([sectionId, c]) => ({ sectionId, ...c })),
      );
    }

    // Users: profile fields after the updates, and the parent links both ways.
    for (const [userId, u] of model.users) {
      const r = await get(`/api/v1/users/${userId}`);
      expect(r.status, tag(`user ${userId}`)).to.equal(200);
      const live = { parents: [], children: [], ...r.body };
      expect(live, tag(`user ${userId}`)).to.deep.equal({
        userId,
        userType: u.userType,
        firstName: u.firstName,
        lastName: u.lastName,
        email: u.email,
        phone: u.phone,
        birthDate: u.birthDate,
        roles: u.roles,
        status: u.status,
        parents: [...u.parents].sort(),
        children: [...u.children].sort(),
      });
    }

    // Academic and assignments: the new sections with their courses, the new teachers' assignments.
    for (const s of model.sections.values()) {
      const r = await get(`/api/v1/academic/sections/${s.sectionId}`);
      expect(r.body, tag(`section ${s.sectionId}`)).to.deep.equal({
        sectionId: s.sectionId,
        academicYearId: s.academicYearId,
        name: s.name,
        gradeLevel: s.gradeLevel,
        capacity: s.capacity,
        seatsTaken: 0,
        courses: [...s.courses.values()].sort((a, b) => (a.courseId < b.courseId ? -1 : 1)),
      });
    }
    for (const [teacher, list] of model.assignments) {
      const r = await get(`/api/v1/assignments/teacher/${teacher}/courses`);
      const key = (x: { sectionId: unknown; assignmentId: unknown }) => `${String(x.sectionId)} ${String(x.assignmentId)}`;
      expect(
        (r.body.items as Array<{ sectionId: unknown; assignmentId: unknown }>).sort((a, b) => (key(a) < key(b) ? -1 : 1)),
        tag(`assignments of ${teacher}`),
      ).to.deep.equal([...list].sort((a, b) => (key(a) < key(b) ? -1 : 1)));
    }
  });

  it('a rebuild from the topics equals the live projections: grades, attendance, users (verify: equal)', async () => {
    await p.settled();
    for (const name of ['grades', 'attendance'] as const) {
      const v = await verify(p.config, logger, { name, live: p.schema(name), liveGroup: `${p.run}-${name}`, topicName: (t) => p.topic(t) });
      expect(v.differences, tag(`${name}: rebuilt vs live`)).to.deep.equal([]);
      expect(v.equal, tag(`${name} equal`)).to.equal(true);
    }
    const v = await verify(p.config, logger, {
      name: 'users',
      live: p.db.databaseName,
      liveGroup: `${p.run}-users`,
      topicName: (t) => p.topic(t),
    });
    expect(v.differences, tag('users: rebuilt vs live')).to.deep.equal([]);
    expect(v.equal, tag('users equal')).to.equal(true);
  });
});
