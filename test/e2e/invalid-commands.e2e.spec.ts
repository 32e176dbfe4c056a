import { expect } from 'chai';
import type { KafkaMessage } from 'kafkajs';
import type { Role } from '../../api/auth/jwt';
import { createKafka } from '../../lib/clients/kafka';
import { DLQ, headerString } from '../../processors/runtime/dead-letters';
import type { RuleCode } from '../../processors/shared/invariants';
import type { EventPayloads, EventType } from '../../schemas/generated/events';
import { EVENT_DEFINITIONS } from '../../schemas/generated/events';
import { DOMAIN_TOPICS, dlqTopic, topicCatalog } from '../../topics/catalog';
import { eventually, testConfig } from '../support';
import { ApiHarness, type HttpResult } from '../support/api';
import { readAll, topicEndOffsets } from '../support/kafka';
import { TestPipeline } from '../support/pipeline';

/**
 * Issue 18: invalid commands, table-driven, against the real API and pipeline of an isolated run.
 * Part 1: each row breaks one rule (a code of processors/shared/invariants.ts where there is one, else a contract
 * rule); the API answers it with problem+json naming the rule and field, and nothing reaches a topic.
 * Part 2: the rules the processors enforce, broken by events published straight to Kafka (no API): each event lands
 * in its topic's dead-letter topic with the rule in `dlq.rule`, or, waiting for a fact of another aggregate (an
 * enrollment, a course, a school day, a parent known as a PARENT, a teacher known as a TEACHER), is parked by grades,
 * attendance, users or assignments; the read models it would have touched are unchanged.
 */

type Domain = 'users' | 'academic' | 'assignments' | 'grades' | 'attendance' | 'notifications';
interface FieldRule {
  field: string;
  rule?: RuleCode;
}
interface Row {
  /** The rule the command breaks. */
  name: string;
  domain: Domain;
  as: Role;
  method: 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body: unknown;
  status: 400 | 403 | 404 | 409;
  /** Exactly these errors (field and rule code), where the API names them. */
  errors?: FieldRule[];
}

// The smallest school that exercises every row: one year, two one-seat sections (MATH in both, ART in SEC-A too), a
// teacher of MATH in SEC-A (lessons Monday to Friday) and one of SEC-B's schedule (Tuesdays), student S in SEC-A and S2 in SEC-B (both through the saga, so
// both sections are full), a parent of S, a deactivated parent and teacher, and one enrollment that failed (its
// student does not exist).
const Y = '2025';
const PER = '2025-T1';
const A = 'SEC-A';
const B = 'SEC-B';
const C = 'MATH';
const S = 'STU-A';
const S2 = 'STU-B';
const P = 'PAR-A';
const T = 'TCH-A';
const T2 = 'TCH-B';
// Users deactivated by the seeding: nobody gives them roles, links them, assigns them or notifies them.
const P_GONE = 'PAR-GONE';
const T_GONE = 'TCH-GONE';
// A course of SEC-A nobody teaches (T teaches MATH there), and a course no section has.
const ART = 'ART';
const NO_COURSE = 'HISTORY';
const ENR_A = 'ENR-A';
const ENR_B = 'ENR-B';
const ENR_FAILED = 'ENR-GHOST';
const GRD = 'GRD-1';
const ATT = 'ATT-1';
const ATT_DATE = '2025-03-10';
const ABS = 'ABS-1';
const ABS_DATE = '2025-03-11';
// A student created with the ADMIN role straight on Kafka (part 2): the users processor refuses it.
const STU_ADMIN = 'STU-K-ADMIN';
// Never created: a user nobody named, and a parent and student only named by a link published straight to Kafka in
// the seeding (the users projection keeps a document for each, which is not a user). Nobody gives them roles.
const NOBODY = 'USR-NOBODY';
const PAR_NAMED = 'PAR-NAMED';
const STU_NAMED = 'STU-NAMED';

const user = {
  userType: 'STUDENT',
  firstName: 'Ana',
  lastName: 'Ruiz',
  email: 'ana@school.example',
  phone: null,
  birthDate: null,
  roles: ['STUDENT'],
};
const year = {
  academicYearId: '2026',
  name: 'School year 2026',
  startDate: '2026-03-02',
  endDate: '2026-12-18',
  gradingPeriods: [{ periodId: '2026-T1', name: 'Term 1', startDate: '2026-03-02', endDate: '2026-06-26' }],
};
const section = { sectionId: 'SEC-X', academicYearId: Y, name: 'X', gradeLevel: 5, capacity: 20, homeroom: null };
const course = { courseId: 'ART', courseName: 'Art', weeklyHours: 2 };
const enroll = {
  studentUserId: S2,
  sectionId: A,
  academicYearId: Y,
  enrollmentDate: '2025-03-03',
  enrollmentType: 'REGULAR',
  previousInstitution: null,
};
const transfer = {
  studentUserId: S,
  fromSectionId: A,
  toSectionId: B,
  academicYearId: Y,
  transferDate: '2025-05-12',
  previousInstitution: null,
  reason: 'family request',
};
const assign = { teacherUserId: T, sectionId: B, courseId: C, weeklyHours: 4, startDate: '2025-03-03' };
const removal = { teacherUserId: T, sectionId: A, courseId: C, reason: null };
const WEEKDAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'];
const schedule = { sectionId: A, courseId: C, teacherUserId: T, dayOfWeek: 'WEDNESDAY', startMinute: 600, endMinute: 660, room: null };
const SCHOOL_DAY = '07:00-18:00';
const grade = {
  studentUserId: S,
  sectionId: A,
  courseId: C,
  periodId: PER,
  evaluationType: 'QUIZ',
  score: 12,
  maxScore: 20,
  comment: null,
};
const correction = { studentUserId: S, sectionId: A, courseId: C, periodId: PER, newScore: 14, reason: 'recount' };
const competency = { studentUserId: S, sectionId: A, courseId: C, periodId: PER, competencyId: 'C1', level: 'ACHIEVED', comment: null };
const mark = { studentUserId: S, sectionId: A, date: '2025-04-01', status: 'PRESENT' };
const absence = { studentUserId: S, sectionId: A, date: '2025-04-02', reason: null };
const tardy = { studentUserId: S, sectionId: A, date: '2025-04-03', minutesLate: 7 };
const present = { sectionId: A, date: '2025-04-04', studentUserIds: [S] };
const justify = { studentUserId: S, date: ABS_DATE, justification: 'doctor' };
const notify = {
  recipientUserId: P,
  channel: 'LOG',
  templateId: 'welcome',
  subject: null,
  body: 'Hello',
  variables: {},
  priority: 'NORMAL',
  address: null,
};
const bulk = {
  channel: 'LOG',
  templateId: 'welcome',
  subject: null,
  body: 'Hello',
  variables: {},
  priority: 'LOW',
  recipientUserIds: [S, P],
};

const without = (o: Record<string, unknown>, k: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([x]) => x !== k));
const immediate = without(notify, 'priority');
const on = (field: string, rule?: RuleCode): FieldRule[] => [rule ? { field, rule } : { field }];

const ROWS: Row[] = [
  // users
  {
    name: 'required field: user email',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/users',
    body: without(user, 'email'),
    status: 400,
    errors: on('body.email'),
  },
  {
    name: 'enum value: userType',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/users',
    body: { ...user, userType: 'JANITOR' },
    status: 400,
    errors: on('body.userType'),
  },
  {
    name: 'email format',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/users',
    body: { ...user, email: 'not-an-email' },
    status: 400,
    errors: on('body.email'),
  },
  {
    name: 'date format: birthDate 2014-02-30',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/users',
    body: { ...user, birthDate: '2014-02-30' },
    status: 400,
    errors: on('body.birthDate'),
  },
  {
    name: 'unknown field: password',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/users',
    body: { ...user, password: 'x' },
    status: 400,
    errors: on('body.password'),
  },
  {
    name: 'id pattern: path userId with a space',
    domain: 'users',
    as: 'admin',
    method: 'PATCH',
    path: '/api/v1/users/a%20b',
    body: { firstName: 'X' },
    status: 400,
    errors: on('path.userId'),
  },
  {
    name: 'required field: deactivation reason',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${S}/deactivate`,
    body: {},
    status: 400,
    errors: on('body.reason'),
  },
  {
    name: 'type: newRoles is not an array',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${S}/roles`,
    body: { previousRoles: ['STUDENT'], newRoles: 'ADMIN' },
    status: 400,
    errors: on('body.newRoles'),
  },
  {
    name: 'USER_ROLES_NOT_OF_TYPE: a STUDENT created an ADMIN too',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/users',
    body: { ...user, roles: ['STUDENT', 'ADMIN'] },
    status: 400,
    errors: on('body.roles', 'USER_ROLES_NOT_OF_TYPE'),
  },
  {
    name: 'USER_ROLES_NOT_OF_TYPE: a TEACHER created a PARENT',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/users',
    body: { ...user, userType: 'TEACHER', roles: ['TEACHER', 'PARENT'] },
    status: 400,
    errors: on('body.roles', 'USER_ROLES_NOT_OF_TYPE'),
  },
  {
    name: 'USER_ROLES_NOT_OF_TYPE: a student given the ADMIN role',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${S}/roles`,
    body: { previousRoles: ['STUDENT'], newRoles: ['STUDENT', 'ADMIN'] },
    status: 409,
    errors: on('body.newRoles', 'USER_ROLES_NOT_OF_TYPE'),
  },
  {
    name: 'USER_ROLES_NOT_OF_TYPE: a parent made a TEACHER',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${P}/roles`,
    body: { previousRoles: ['PARENT'], newRoles: ['TEACHER'] },
    status: 409,
    errors: on('body.newRoles', 'USER_ROLES_NOT_OF_TYPE'),
  },
  {
    name: 'enum value: parent relationship',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${S}/parents`,
    body: { parentUserId: P, relationship: 'UNCLE' },
    status: 400,
    errors: on('body.relationship'),
  },
  {
    name: 'PARENT_LINK_NOT_PARENT: the parent is a teacher',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${S2}/parents`,
    body: { parentUserId: T, relationship: 'FATHER' },
    status: 409,
    errors: on('body.parentUserId', 'PARENT_LINK_NOT_PARENT'),
  },
  {
    name: 'PARENT_LINK_NOT_PARENT: a parent nobody created',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${S2}/parents`,
    body: { parentUserId: 'PAR-NOBODY', relationship: 'MOTHER' },
    status: 409,
    errors: on('body.parentUserId', 'PARENT_LINK_NOT_PARENT'),
  },
  {
    name: 'PARENT_LINK_NOT_STUDENT: the child is a teacher',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${T}/parents`,
    body: { parentUserId: P, relationship: 'MOTHER' },
    status: 409,
    errors: on('path.studentUserId', 'PARENT_LINK_NOT_STUDENT'),
  },
  {
    name: 'PARENT_LINK_NOT_STUDENT: a student nobody created',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/users/STU-NOBODY/parents',
    body: { parentUserId: P, relationship: 'GUARDIAN' },
    status: 409,
    errors: on('path.studentUserId', 'PARENT_LINK_NOT_STUDENT'),
  },
  {
    name: 'USER_DEACTIVATED: linking a deactivated parent',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${S2}/parents`,
    body: { parentUserId: P_GONE, relationship: 'FATHER' },
    status: 409,
    errors: on('body.parentUserId', 'USER_DEACTIVATED'),
  },
  {
    name: 'USER_DEACTIVATED: new roles for a deactivated user',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${T_GONE}/roles`,
    body: { previousRoles: ['TEACHER'], newRoles: ['TEACHER', 'ADMIN'] },
    status: 409,
    errors: on('path.userId', 'USER_DEACTIVATED'),
  },
  {
    name: 'USER_DEACTIVATED: a deactivated parent made a TEACHER (the status is decided before the roles)',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${P_GONE}/roles`,
    body: { previousRoles: ['PARENT'], newRoles: ['TEACHER'] },
    status: 409,
    errors: on('path.userId', 'USER_DEACTIVATED'),
  },
  {
    name: 'USER_UNKNOWN: new roles for a user nobody created',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${NOBODY}/roles`,
    body: { previousRoles: [], newRoles: ['STUDENT'] },
    status: 409,
    errors: on('path.userId', 'USER_UNKNOWN'),
  },
  {
    name: 'USER_UNKNOWN: new roles for a user only named by a deactivation, never created',
    domain: 'users',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/users/${PAR_NAMED}/roles`,
    body: { previousRoles: [], newRoles: ['PARENT'] },
    status: 409,
    errors: on('path.userId', 'USER_UNKNOWN'),
  },
  {
    name: 'not permitted for role TEACHER: create a user',
    domain: 'users',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/users',
    body: user,
    status: 403,
  },
  {
    name: 'not permitted for role STUDENT: update even their own profile',
    domain: 'users',
    as: 'student',
    method: 'PATCH',
    path: `/api/v1/users/${S}`,
    body: { firstName: 'Me' },
    status: 403,
  },
  {
    name: 'not permitted for role PARENT: link themself to a student',
    domain: 'users',
    as: 'parent',
    method: 'POST',
    path: `/api/v1/users/${S2}/parents`,
    body: { parentUserId: P, relationship: 'MOTHER' },
    status: 403,
  },
  { name: 'no such command: PUT a user', domain: 'users', as: 'admin', method: 'PUT', path: `/api/v1/users/${S}`, body: user, status: 404 },
  // academic
  {
    name: 'endDate before startDate (academic year)',
    domain: 'academic',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/academic/years',
    body: { ...year, endDate: '2026-01-15' },
    status: 400,
    errors: on('body.endDate'),
  },
  {
    name: 'date format: year startDate 03/02/2026',
    domain: 'academic',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/academic/years',
    body: { ...year, startDate: '03/02/2026' },
    status: 400,
    errors: [{ field: 'body.startDate' }, { field: 'body.startDate' }],
  },
  {
    name: 'required field: gradingPeriods',
    domain: 'academic',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/academic/years',
    body: without(year, 'gradingPeriods'),
    status: 400,
    errors: on('body.gradingPeriods'),
  },
  {
    name: 'capacity > 0: capacity 0',
    domain: 'academic',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/academic/sections',
    body: { ...section, capacity: 0 },
    status: 400,
    errors: on('body.capacity'),
  },
  {
    name: 'capacity > 0: capacity -5',
    domain: 'academic',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/academic/sections',
    body: { ...section, capacity: -5 },
    status: 400,
    errors: on('body.capacity'),
  },
  {
    name: 'type: gradeLevel as a string',
    domain: 'academic',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/academic/sections',
    body: { ...section, gradeLevel: '5' },
    status: 400,
    errors: on('body.gradeLevel'),
  },
  {
    name: 'type: weeklyHours not an integer',
    domain: 'academic',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/academic/sections/${A}/courses`,
    body: { ...course, weeklyHours: 1.5 },
    status: 400,
    errors: on('body.weeklyHours'),
  },
  {
    name: 'enum value: enrollmentType',
    domain: 'academic',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/academic/enrollments',
    body: { ...enroll, enrollmentType: 'VIP' },
    status: 400,
    errors: on('body.enrollmentType'),
  },
  {
    name: 'required field: enrolled studentUserId',
    domain: 'academic',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/academic/enrollments',
    body: without(enroll, 'studentUserId'),
    status: 400,
    errors: on('body.studentUserId'),
  },
  {
    name: 'date format: transferDate 2025-13-01',
    domain: 'academic',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/academic/enrollments/${ENR_A}/transfer`,
    body: { ...transfer, transferDate: '2025-13-01' },
    status: 400,
    errors: on('body.transferDate'),
  },
  {
    name: 'not permitted for role TEACHER: enroll a student',
    domain: 'academic',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/academic/enrollments',
    body: enroll,
    status: 403,
  },
  {
    name: 'not permitted for role STUDENT: create a section',
    domain: 'academic',
    as: 'student',
    method: 'POST',
    path: '/api/v1/academic/sections',
    body: section,
    status: 403,
  },
  {
    name: 'not permitted for role PARENT: start a year',
    domain: 'academic',
    as: 'parent',
    method: 'POST',
    path: '/api/v1/academic/years',
    body: year,
    status: 403,
  },
  {
    name: 'not permitted for role TEACHER: transfer a student',
    domain: 'academic',
    as: 'teacher',
    method: 'POST',
    path: `/api/v1/academic/enrollments/${ENR_A}/transfer`,
    body: transfer,
    status: 403,
  },
  {
    name: 'no such command: DELETE an enrollment',
    domain: 'academic',
    as: 'admin',
    method: 'DELETE',
    path: `/api/v1/academic/enrollments/${ENR_A}`,
    body: {},
    status: 404,
  },
  // assignments
  {
    name: 'schedule slot empty: endMinute = startMinute',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments/schedules',
    body: { ...schedule, endMinute: 600 },
    status: 400,
    errors: on('body.endMinute', 'SCHEDULE_SLOT_INVALID'),
  },
  {
    name: `schedule slot before the school day (${SCHOOL_DAY}): 06:30-07:30`,
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments/schedules',
    body: { ...schedule, startMinute: 390, endMinute: 450 },
    status: 400,
    errors: on('body.startMinute', 'SCHEDULE_SLOT_INVALID'),
  },
  {
    name: 'schedule slot outside the day: endMinute 1500',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments/schedules',
    body: { ...schedule, endMinute: 1500 },
    status: 400,
    errors: on('body.endMinute', 'SCHEDULE_SLOT_INVALID'),
  },
  {
    name: 'schedule slot outside the day: startMinute -30',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments/schedules',
    body: { ...schedule, startMinute: -30 },
    status: 400,
    errors: on('body.startMinute', 'SCHEDULE_SLOT_INVALID'),
  },
  {
    name: 'enum value: dayOfWeek',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments/schedules',
    body: { ...schedule, dayOfWeek: 'FUNDAY' },
    status: 400,
    errors: on('body.dayOfWeek'),
  },
  {
    name: 'date format: assignment startDate 2025-02-30',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments',
    body: { ...assign, startDate: '2025-02-30' },
    status: 400,
    errors: on('body.startDate'),
  },
  {
    name: 'unknown field: hourlyRate',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments',
    body: { ...assign, hourlyRate: 30 },
    status: 400,
    errors: on('body.hourlyRate'),
  },
  {
    name: 'required field: removed teacherUserId',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments/ASG-A/remove',
    body: without(removal, 'teacherUserId'),
    status: 400,
    errors: on('body.teacherUserId'),
  },
  {
    name: 'TEACHER_NOT_A_TEACHER: assigning a parent',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments',
    body: { ...assign, teacherUserId: P },
    status: 409,
    errors: on('body.teacherUserId', 'TEACHER_NOT_A_TEACHER'),
  },
  {
    name: 'TEACHER_NOT_A_TEACHER: a schedule for a teacher nobody created',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments/schedules',
    body: { ...schedule, teacherUserId: 'TCH-NOBODY' },
    status: 409,
    errors: on('body.teacherUserId', 'TEACHER_NOT_A_TEACHER'),
  },
  {
    name: 'USER_DEACTIVATED: assigning a deactivated teacher',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments',
    body: { ...assign, teacherUserId: T_GONE },
    status: 409,
    errors: on('body.teacherUserId', 'USER_DEACTIVATED'),
  },
  {
    name: 'ASSIGNMENT_COURSE_NOT_IN_SECTION: an assignment to a course the section does not have',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments',
    body: { ...assign, courseId: NO_COURSE },
    status: 409,
    errors: on('body.courseId', 'ASSIGNMENT_COURSE_NOT_IN_SECTION'),
  },
  {
    name: 'ASSIGNMENT_COURSE_NOT_IN_SECTION: a schedule in a section that does not exist',
    domain: 'assignments',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/assignments/schedules',
    body: { ...schedule, sectionId: 'SEC-NOPE' },
    status: 409,
    errors: on('body.courseId', 'ASSIGNMENT_COURSE_NOT_IN_SECTION'),
  },
  {
    name: 'not permitted for role TEACHER: assign themself',
    domain: 'assignments',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/assignments',
    body: assign,
    status: 403,
  },
  {
    name: 'not permitted for role PARENT: create a schedule',
    domain: 'assignments',
    as: 'parent',
    method: 'POST',
    path: '/api/v1/assignments/schedules',
    body: schedule,
    status: 403,
  },
  {
    name: 'not permitted for role STUDENT: remove an assignment',
    domain: 'assignments',
    as: 'student',
    method: 'POST',
    path: '/api/v1/assignments/ASG-A/remove',
    body: removal,
    status: 403,
  },
  // grades
  {
    name: 'GRADE_SCORE_RANGE: score 25 of 20',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, score: 25 },
    status: 400,
    errors: on('body.score', 'GRADE_SCORE_RANGE'),
  },
  {
    name: 'GRADE_SCORE_RANGE: score -1',
    domain: 'grades',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, score: -1 },
    status: 400,
    errors: on('body.score', 'GRADE_SCORE_RANGE'),
  },
  {
    name: 'GRADE_MAX_SCORE: maxScore 0',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, score: 0, maxScore: 0 },
    status: 400,
    errors: on('body.maxScore', 'GRADE_MAX_SCORE'),
  },
  {
    name: 'GRADE_MAX_SCORE: maxScore 5000 (above RULE_MAX_SCORE)',
    domain: 'grades',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, maxScore: 5000 },
    status: 400,
    errors: on('body.maxScore', 'GRADE_MAX_SCORE'),
  },
  {
    name: 'GRADE_MAX_SCORE: maxScore -20',
    domain: 'grades',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, score: -10, maxScore: -20 },
    status: 400,
    errors: on('body.maxScore', 'GRADE_MAX_SCORE'),
  },
  {
    name: 'type: score as a string',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, score: '15' },
    status: 400,
    errors: on('body.score'),
  },
  {
    name: 'enum value: evaluationType',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, evaluationType: 'ORAL' },
    status: 400,
    errors: on('body.evaluationType'),
  },
  {
    name: 'required field: correction reason',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: `/api/v1/grades/${GRD}/corrections`,
    body: without(correction, 'reason'),
    status: 400,
    errors: on('body.reason'),
  },
  {
    name: 'GRADE_SCORE_RANGE: correction newScore -3',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: `/api/v1/grades/${GRD}/corrections`,
    body: { ...correction, newScore: -3 },
    status: 400,
    errors: on('body.newScore', 'GRADE_SCORE_RANGE'),
  },
  {
    name: 'enum value: competency level',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades/competencies',
    body: { ...competency, level: 'GENIUS' },
    status: 400,
    errors: on('body.level'),
  },
  {
    name: 'GRADE_STUDENT_NOT_ENROLLED: a student of another section',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, studentUserId: S2 },
    status: 409,
    errors: on('body.studentUserId', 'GRADE_STUDENT_NOT_ENROLLED'),
  },
  {
    name: 'GRADE_STUDENT_NOT_ENROLLED: a student nobody enrolled',
    domain: 'grades',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, studentUserId: 'STU-NOBODY' },
    status: 409,
    errors: on('body.studentUserId', 'GRADE_STUDENT_NOT_ENROLLED'),
  },
  {
    name: 'GRADE_STUDENT_NOT_ENROLLED: a failed enrollment does not count',
    domain: 'grades',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, studentUserId: 'STU-GHOST' },
    status: 409,
    errors: on('body.studentUserId', 'GRADE_STUDENT_NOT_ENROLLED'),
  },
  {
    name: 'GRADE_STUDENT_NOT_ENROLLED: a competency of a student of another section',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades/competencies',
    body: { ...competency, studentUserId: S2 },
    status: 409,
    errors: on('body.studentUserId', 'GRADE_STUDENT_NOT_ENROLLED'),
  },
  {
    name: 'GRADE_COURSE_NOT_IN_SECTION: a course the section does not have',
    domain: 'grades',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, courseId: NO_COURSE },
    status: 409,
    errors: on('body.courseId', 'GRADE_COURSE_NOT_IN_SECTION'),
  },
  {
    name: 'GRADE_COURSE_NOT_IN_SECTION: a competency in a course the section does not have',
    domain: 'grades',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/grades/competencies',
    body: { ...competency, courseId: NO_COURSE },
    status: 409,
    errors: on('body.courseId', 'GRADE_COURSE_NOT_IN_SECTION'),
  },
  {
    name: 'GRADE_PERIOD_NOT_IN_YEAR: a period of another year',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, periodId: '2026-T1' },
    status: 409,
    errors: on('body.periodId', 'GRADE_PERIOD_NOT_IN_YEAR'),
  },
  {
    name: 'GRADE_PERIOD_NOT_IN_YEAR: a competency in a period nobody started',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades/competencies',
    body: { ...competency, periodId: 'P-NOPE' },
    status: 409,
    errors: on('body.periodId', 'GRADE_PERIOD_NOT_IN_YEAR'),
  },
  {
    name: 'GRADE_RECORDER_NOT_TEACHING: a teacher of the section grading a course of it they do not teach',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, courseId: ART },
    status: 409,
    errors: on('body.courseId', 'GRADE_RECORDER_NOT_TEACHING'),
  },
  {
    name: 'GRADE_RECORDER_NOT_TEACHING: a competency in a course the teacher does not teach',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades/competencies',
    body: { ...competency, courseId: ART },
    status: 409,
    errors: on('body.courseId', 'GRADE_RECORDER_NOT_TEACHING'),
  },
  {
    name: 'not permitted for role TEACHER: a grade in a section not theirs',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, studentUserId: S2, sectionId: B },
    status: 403,
  },
  {
    name: 'not permitted for role TEACHER: a correction in a section not theirs',
    domain: 'grades',
    as: 'teacher',
    method: 'POST',
    path: `/api/v1/grades/${GRD}/corrections`,
    body: { ...correction, sectionId: B },
    status: 403,
  },
  {
    name: 'not permitted for role STUDENT: grade themself',
    domain: 'grades',
    as: 'student',
    method: 'POST',
    path: '/api/v1/grades',
    body: grade,
    status: 403,
  },
  {
    name: 'not permitted for role PARENT: evaluate a competency',
    domain: 'grades',
    as: 'parent',
    method: 'POST',
    path: '/api/v1/grades/competencies',
    body: competency,
    status: 403,
  },
  {
    name: 'unknown field from a STUDENT: the body is validated before the permission',
    domain: 'grades',
    as: 'student',
    method: 'POST',
    path: '/api/v1/grades',
    body: { ...grade, approved: true },
    status: 400,
    errors: on('body.approved'),
  },
  // attendance
  {
    name: 'enum value: attendance status',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/marks',
    body: { ...mark, status: 'SICK' },
    status: 400,
    errors: on('body.status'),
  },
  {
    name: 'date format: mark date 2025-02-30',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/marks',
    body: { ...mark, date: '2025-02-30' },
    status: 400,
    errors: on('body.date'),
  },
  {
    name: 'TARDINESS_MINUTES: minutesLate 0',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/tardiness',
    body: { ...tardy, minutesLate: 0 },
    status: 400,
    errors: on('body.minutesLate', 'TARDINESS_MINUTES'),
  },
  {
    name: 'TARDINESS_MINUTES: minutesLate -5',
    domain: 'attendance',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/attendance/tardiness',
    body: { ...tardy, minutesLate: -5 },
    status: 400,
    errors: on('body.minutesLate', 'TARDINESS_MINUTES'),
  },
  {
    name: 'at least one student: mark-present with none',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/mark-present',
    body: { ...present, studentUserIds: [] },
    status: 400,
    errors: on('body.studentUserIds'),
  },
  {
    name: 'unique items: mark-present naming a student twice',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/mark-present',
    body: { ...present, studentUserIds: [S, S] },
    status: 400,
    errors: on('body.studentUserIds'),
  },
  {
    name: 'required field: justification',
    domain: 'attendance',
    as: 'parent',
    method: 'POST',
    path: `/api/v1/attendance/absences/${ABS}/justify`,
    body: without(justify, 'justification'),
    status: 400,
    errors: on('body.justification'),
  },
  {
    name: 'unknown field: excuse',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/absences',
    body: { ...absence, excuse: 'none' },
    status: 400,
    errors: on('body.excuse'),
  },
  {
    name: 'ATTENDANCE_STUDENT_NOT_ENROLLED: mark',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/marks',
    body: { ...mark, studentUserId: S2 },
    status: 409,
    errors: on('body.studentUserId', 'ATTENDANCE_STUDENT_NOT_ENROLLED'),
  },
  {
    name: 'ATTENDANCE_STUDENT_NOT_ENROLLED: absence',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/absences',
    body: { ...absence, studentUserId: S2 },
    status: 409,
    errors: on('body.studentUserId', 'ATTENDANCE_STUDENT_NOT_ENROLLED'),
  },
  {
    name: 'ATTENDANCE_STUDENT_NOT_ENROLLED: tardiness',
    domain: 'attendance',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/attendance/tardiness',
    body: { ...tardy, studentUserId: S2 },
    status: 409,
    errors: on('body.studentUserId', 'ATTENDANCE_STUDENT_NOT_ENROLLED'),
  },
  {
    name: 'ATTENDANCE_STUDENT_NOT_ENROLLED: mark-present names the one not enrolled',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/mark-present',
    body: { ...present, studentUserIds: [S, S2] },
    status: 409,
    errors: on('body.studentUserIds[1]', 'ATTENDANCE_STUDENT_NOT_ENROLLED'),
  },
  {
    name: 'ATTENDANCE_DATE_IN_FUTURE: a mark dated 2099',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/marks',
    body: { ...mark, date: '2099-03-10' },
    status: 400,
    errors: on('body.date', 'ATTENDANCE_DATE_IN_FUTURE'),
  },
  {
    name: 'ATTENDANCE_DATE_IN_FUTURE: mark-present tomorrow names the date once',
    domain: 'attendance',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/attendance/mark-present',
    body: { ...present, date: new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10) },
    status: 400,
    errors: on('body.date', 'ATTENDANCE_DATE_IN_FUTURE'),
  },
  {
    name: 'ATTENDANCE_DATE_IN_FUTURE: a tardiness dated 2099',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/tardiness',
    body: { ...tardy, date: '2099-01-05' },
    status: 400,
    errors: on('body.date', 'ATTENDANCE_DATE_IN_FUTURE'),
  },
  {
    name: 'ATTENDANCE_DATE_OUTSIDE_YEAR: an absence before the year starts',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/absences',
    body: { ...absence, date: '2025-02-28' }, // a Friday: a school day, had the year begun
    status: 409,
    errors: on('body.date', 'ATTENDANCE_DATE_OUTSIDE_YEAR'),
  },
  {
    name: 'ATTENDANCE_DATE_OUTSIDE_YEAR: a mark after the year ends',
    domain: 'attendance',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/attendance/marks',
    body: { ...mark, date: '2025-12-22' }, // a Monday
    status: 409,
    errors: on('body.date', 'ATTENDANCE_DATE_OUTSIDE_YEAR'),
  },
  {
    name: 'ATTENDANCE_DATE_OUTSIDE_YEAR: mark-present in another year',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/mark-present',
    body: { ...present, date: '2024-11-04' },
    status: 409,
    errors: on('body.date', 'ATTENDANCE_DATE_OUTSIDE_YEAR'),
  },
  {
    name: 'ATTENDANCE_NOT_A_SCHOOL_DAY: a mark on a Saturday',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/marks',
    body: { ...mark, date: '2025-04-05' },
    status: 409,
    errors: on('body.date', 'ATTENDANCE_NOT_A_SCHOOL_DAY'),
  },
  {
    name: 'ATTENDANCE_NOT_A_SCHOOL_DAY: mark-present on a Sunday names the date once',
    domain: 'attendance',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/attendance/mark-present',
    body: { ...present, date: '2025-04-06' },
    status: 409,
    errors: on('body.date', 'ATTENDANCE_NOT_A_SCHOOL_DAY'),
  },
  {
    name: 'ATTENDANCE_NOT_A_SCHOOL_DAY: a tardiness on a Saturday',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/tardiness',
    body: { ...tardy, date: '2025-04-12' },
    status: 409,
    errors: on('body.date', 'ATTENDANCE_NOT_A_SCHOOL_DAY'),
  },
  {
    name: 'ATTENDANCE_NOT_A_SCHOOL_DAY: an absence on a Monday in a section with lessons on Tuesdays only',
    domain: 'attendance',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/attendance/absences',
    body: { ...absence, studentUserId: S2, sectionId: B, date: '2025-04-07' },
    status: 409,
    errors: on('body.date', 'ATTENDANCE_NOT_A_SCHOOL_DAY'),
  },
  {
    name: 'not permitted for role TEACHER: a mark in a section not theirs',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/attendance/marks',
    body: { ...mark, studentUserId: S2, sectionId: B },
    status: 403,
  },
  {
    name: 'not permitted for role STUDENT: mark themself present',
    domain: 'attendance',
    as: 'student',
    method: 'POST',
    path: '/api/v1/attendance/marks',
    body: mark,
    status: 403,
  },
  {
    name: 'not permitted for role PARENT: justify for a student not their child',
    domain: 'attendance',
    as: 'parent',
    method: 'POST',
    path: `/api/v1/attendance/absences/${ABS}/justify`,
    body: { ...justify, studentUserId: S2 },
    status: 403,
  },
  {
    name: 'not permitted for role TEACHER: justify an absence',
    domain: 'attendance',
    as: 'teacher',
    method: 'POST',
    path: `/api/v1/attendance/absences/${ABS}/justify`,
    body: justify,
    status: 403,
  },
  {
    name: 'no such command: POST to a mark',
    domain: 'attendance',
    as: 'admin',
    method: 'POST',
    path: `/api/v1/attendance/marks/${ATT}`,
    body: mark,
    status: 404,
  },
  // notifications
  {
    name: 'enum value: channel',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications',
    body: { ...notify, channel: 'SMS' },
    status: 400,
    errors: on('body.channel'),
  },
  {
    name: 'enum value: priority',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications',
    body: { ...notify, priority: 'URGENT' },
    status: 400,
    errors: on('body.priority'),
  },
  {
    name: 'required field: notification body',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications',
    body: without(notify, 'body'),
    status: 400,
    errors: on('body.body'),
  },
  {
    name: 'unknown field: send-immediate sets its own priority',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications/send-immediate',
    body: { ...immediate, priority: 'LOW' },
    status: 400,
    errors: on('body.priority'),
  },
  {
    name: 'NOTIFICATION_NO_ADDRESS: a WEBHOOK without an address',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications',
    body: { ...notify, channel: 'WEBHOOK' },
    status: 400,
    errors: on('body.address', 'NOTIFICATION_NO_ADDRESS'),
  },
  {
    name: 'NOTIFICATION_NO_ADDRESS: send-immediate by WEBHOOK without an address',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications/send-immediate',
    body: { ...immediate, channel: 'WEBHOOK' },
    status: 400,
    errors: on('body.address', 'NOTIFICATION_NO_ADDRESS'),
  },
  {
    name: 'NOTIFICATION_NO_ADDRESS: a bulk by WEBHOOK (a bulk carries no address)',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications/bulk',
    body: { ...bulk, channel: 'WEBHOOK' },
    status: 400,
    errors: on('body.channel', 'NOTIFICATION_NO_ADDRESS'),
  },
  {
    name: 'at least one recipient: bulk with none',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications/bulk',
    body: { ...bulk, recipientUserIds: [] },
    status: 400,
    errors: on('body.recipientUserIds'),
  },
  {
    name: 'NOTIFICATION_RECIPIENT_UNKNOWN: a recipient nobody created',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications',
    body: { ...notify, recipientUserId: 'USR-NOBODY' },
    status: 409,
    errors: on('body.recipientUserId', 'NOTIFICATION_RECIPIENT_UNKNOWN'),
  },
  {
    name: 'NOTIFICATION_RECIPIENT_UNKNOWN: bulk names the unknown recipient by position',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications/bulk',
    body: { ...bulk, recipientUserIds: [S, 'USR-NOBODY', P] },
    status: 409,
    errors: on('body.recipientUserIds[1]', 'NOTIFICATION_RECIPIENT_UNKNOWN'),
  },
  {
    name: 'USER_DEACTIVATED: send-immediate to a deactivated parent',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications/send-immediate',
    body: { ...immediate, recipientUserId: P_GONE },
    status: 409,
    errors: on('body.recipientUserId', 'USER_DEACTIVATED'),
  },
  {
    name: 'not permitted for role TEACHER: request a notification',
    domain: 'notifications',
    as: 'teacher',
    method: 'POST',
    path: '/api/v1/notifications',
    body: notify,
    status: 403,
  },
  {
    name: 'not permitted for role STUDENT: send immediately',
    domain: 'notifications',
    as: 'student',
    method: 'POST',
    path: '/api/v1/notifications/send-immediate',
    body: immediate,
    status: 403,
  },
  {
    name: 'not permitted for role PARENT: bulk notification',
    domain: 'notifications',
    as: 'parent',
    method: 'POST',
    path: '/api/v1/notifications/bulk',
    body: bulk,
    status: 403,
  },
  {
    name: 'no such command: cancel a notification',
    domain: 'notifications',
    as: 'admin',
    method: 'POST',
    path: '/api/v1/notifications/NTF-1/cancel',
    body: {},
    status: 404,
  },
];

const CODE: Record<Row['status'], string> = { 400: 'INVALID_REQUEST', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'RULE_VIOLATION' };

/** An invalid event published straight to Kafka, the processor that refuses it and the rule it breaks. */
interface KafkaRow<T extends EventType = EventType> {
  name: string;
  type: T;
  payload: EventPayloads[T];
  processor: 'grades' | 'attendance' | 'academic' | 'users' | 'assignments';
  rule: RuleCode;
  correlationId?: string;
}
const kafkaRow = <T extends EventType>(r: KafkaRow<T>): KafkaRow => r;

const recorded = { ...grade, evaluationType: 'QUIZ', recordedBy: T } as EventPayloads['grade.recorded'];
const updated = { ...correction, gradeId: GRD, updatedBy: T };
const KAFKA_ROWS: KafkaRow[] = [
  kafkaRow({
    name: `SCHEDULE_SLOT_INVALID: a slot ending after the school day (${SCHOOL_DAY}), of a teacher nobody created (refused, not parked)`,
    type: 'schedule.created',
    payload: { ...schedule, scheduleId: 'SCH-K-LATE', teacherUserId: NOBODY, dayOfWeek: 'WEDNESDAY', startMinute: 1050, endMinute: 1110 },
    processor: 'assignments',
    rule: 'SCHEDULE_SLOT_INVALID',
  }),
  kafkaRow({
    name: 'ATTENDANCE_DATE_IN_FUTURE: a mark dated years after it was published',
    type: 'attendance.marked',
    payload: { ...mark, attendanceId: 'ATT-K-FUTURE', date: '2099-04-01', markedBy: T } as EventPayloads['attendance.marked'],
    processor: 'attendance',
    rule: 'ATTENDANCE_DATE_IN_FUTURE',
  }),
  kafkaRow({
    name: 'GRADE_SCORE_RANGE: score 30 of 20',
    type: 'grade.recorded',
    payload: { ...recorded, gradeId: 'GRD-K1', score: 30 },
    processor: 'grades',
    rule: 'GRADE_SCORE_RANGE',
  }),
  kafkaRow({
    name: 'GRADE_SCORE_RANGE: score -2',
    type: 'grade.recorded',
    payload: { ...recorded, gradeId: 'GRD-K2', score: -2 },
    processor: 'grades',
    rule: 'GRADE_SCORE_RANGE',
  }),
  kafkaRow({
    name: 'GRADE_MAX_SCORE: maxScore 5000',
    type: 'grade.recorded',
    payload: { ...recorded, gradeId: 'GRD-K3', score: 10, maxScore: 5000 },
    processor: 'grades',
    rule: 'GRADE_MAX_SCORE',
  }),
  kafkaRow({
    name: 'GRADE_MAX_SCORE: maxScore 0',
    type: 'grade.recorded',
    payload: { ...recorded, gradeId: 'GRD-K4', score: 0, maxScore: 0 },
    processor: 'grades',
    rule: 'GRADE_MAX_SCORE',
  }),
  kafkaRow({
    name: 'GRADE_DUPLICATE: the recorded grade id again',
    type: 'grade.recorded',
    payload: { ...recorded, gradeId: GRD, score: 3 },
    processor: 'grades',
    rule: 'GRADE_DUPLICATE',
  }),
  kafkaRow({
    name: 'GRADE_CORRECTION_UNKNOWN: no such grade',
    type: 'grade.updated',
    payload: { ...updated, gradeId: 'GRD-NOPE' },
    processor: 'grades',
    rule: 'GRADE_CORRECTION_UNKNOWN',
  }),
  kafkaRow({
    name: 'GRADE_CORRECTION_UNKNOWN: the grade of another period',
    type: 'grade.updated',
    payload: { ...updated, periodId: 'P-OTHER' },
    processor: 'grades',
    rule: 'GRADE_CORRECTION_UNKNOWN',
  }),
  kafkaRow({
    name: 'GRADE_SCORE_RANGE: correction newScore 25 of 20',
    type: 'grade.updated',
    payload: { ...updated, newScore: 25 },
    processor: 'grades',
    rule: 'GRADE_SCORE_RANGE',
  }),
  kafkaRow({
    name: 'GRADE_SCORE_RANGE: correction newScore -1',
    type: 'grade.updated',
    payload: { ...updated, newScore: -1 },
    processor: 'grades',
    rule: 'GRADE_SCORE_RANGE',
  }),
  kafkaRow({
    name: 'ATTENDANCE_MARK_FIXED: a correction moving the mark to another date',
    type: 'attendance.marked',
    payload: { attendanceId: ATT, studentUserId: S, sectionId: A, date: '2025-03-12', status: 'ABSENT', markedBy: T },
    processor: 'attendance',
    rule: 'ATTENDANCE_MARK_FIXED',
  }),
  kafkaRow({
    name: 'ATTENDANCE_MARK_FIXED: a correction moving the mark to another student',
    type: 'attendance.marked',
    payload: { attendanceId: ATT, studentUserId: S2, sectionId: A, date: ATT_DATE, status: 'ABSENT', markedBy: T },
    processor: 'attendance',
    rule: 'ATTENDANCE_MARK_FIXED',
  }),
  kafkaRow({
    name: 'ATTENDANCE_MARK_FIXED: a correction moving the mark to another section',
    type: 'attendance.marked',
    payload: { attendanceId: ATT, studentUserId: S, sectionId: B, date: ATT_DATE, status: 'ABSENT', markedBy: T },
    processor: 'attendance',
    rule: 'ATTENDANCE_MARK_FIXED',
  }),
  kafkaRow({
    name: 'TARDINESS_MINUTES: minutesLate 0',
    type: 'tardiness.recorded',
    payload: { ...tardy, tardinessId: 'TRD-K1', minutesLate: 0, recordedBy: T },
    processor: 'attendance',
    rule: 'TARDINESS_MINUTES',
  }),
  kafkaRow({
    name: 'TARDINESS_MINUTES: minutesLate -4',
    type: 'tardiness.recorded',
    payload: { ...tardy, tardinessId: 'TRD-K2', minutesLate: -4, recordedBy: T },
    processor: 'attendance',
    rule: 'TARDINESS_MINUTES',
  }),
  kafkaRow({
    name: 'ABSENCE_JUSTIFY_UNKNOWN: no such absence',
    type: 'absence.justified',
    payload: { ...justify, absenceId: 'ABS-NOPE', justifiedBy: P },
    processor: 'attendance',
    rule: 'ABSENCE_JUSTIFY_UNKNOWN',
  }),
  kafkaRow({
    name: "ABSENCE_JUSTIFY_UNKNOWN: another student's absence",
    type: 'absence.justified',
    payload: { ...justify, absenceId: ABS, studentUserId: S2, justifiedBy: P },
    processor: 'attendance',
    rule: 'ABSENCE_JUSTIFY_UNKNOWN',
  }),
  kafkaRow({
    name: 'TRANSFER_NOT_COMPLETED: no such enrollment',
    type: 'student.transferred',
    payload: { ...transfer, enrollmentId: 'ENR-NOPE' },
    correlationId: 'ENR-NOPE',
    processor: 'academic',
    rule: 'TRANSFER_NOT_COMPLETED',
  }),
  kafkaRow({
    name: 'TRANSFER_NOT_COMPLETED: a FAILED enrollment',
    type: 'student.transferred',
    payload: { ...transfer, enrollmentId: ENR_FAILED, studentUserId: 'STU-GHOST' },
    correlationId: ENR_FAILED,
    processor: 'academic',
    rule: 'TRANSFER_NOT_COMPLETED',
  }),
  kafkaRow({
    name: 'TRANSFER_SECTION_UNKNOWN: to a section that does not exist',
    type: 'student.transferred',
    payload: { ...transfer, enrollmentId: ENR_A, toSectionId: 'SEC-NOPE' },
    correlationId: ENR_A,
    processor: 'academic',
    rule: 'TRANSFER_SECTION_UNKNOWN',
  }),
  kafkaRow({
    name: 'TRANSFER_SECTION_FULL: to a section with no free seat',
    type: 'student.transferred',
    payload: { ...transfer, enrollmentId: ENR_A, toSectionId: B },
    correlationId: ENR_A,
    processor: 'academic',
    rule: 'TRANSFER_SECTION_FULL',
  }),
  kafkaRow({
    name: 'USER_ROLES_NOT_OF_TYPE: a STUDENT created an ADMIN too',
    type: 'user.created',
    payload: { ...(user as EventPayloads['user.created']), userId: STU_ADMIN, roles: ['STUDENT', 'ADMIN'] },
    processor: 'users',
    rule: 'USER_ROLES_NOT_OF_TYPE',
  }),
  kafkaRow({
    name: 'USER_ROLES_NOT_OF_TYPE: a parent made a TEACHER',
    type: 'user.role.changed',
    payload: { userId: P, previousRoles: ['PARENT'], newRoles: ['TEACHER'] },
    processor: 'users',
    rule: 'USER_ROLES_NOT_OF_TYPE',
  }),
  kafkaRow({
    name: 'USER_DEACTIVATED: new roles for a deactivated teacher',
    type: 'user.role.changed',
    payload: { userId: T_GONE, previousRoles: ['TEACHER'], newRoles: ['TEACHER', 'ADMIN'] },
    processor: 'users',
    rule: 'USER_DEACTIVATED',
  }),
  kafkaRow({
    name: 'USER_DEACTIVATED: a deactivated parent made a TEACHER (the status is decided before the roles)',
    type: 'user.role.changed',
    payload: { userId: P_GONE, previousRoles: ['PARENT'], newRoles: ['TEACHER'] },
    processor: 'users',
    rule: 'USER_DEACTIVATED',
  }),
  kafkaRow({
    name: 'PARENT_LINK_NOT_STUDENT: a link of a student nobody created',
    type: 'student.parent.linked',
    payload: { studentUserId: STU_NAMED, parentUserId: P, relationship: 'MOTHER' },
    processor: 'users',
    rule: 'PARENT_LINK_NOT_STUDENT',
  }),
  kafkaRow({
    name: 'PARENT_LINK_NOT_STUDENT: the child is a teacher',
    type: 'student.parent.linked',
    payload: { studentUserId: T, parentUserId: P, relationship: 'FATHER' },
    processor: 'users',
    rule: 'PARENT_LINK_NOT_STUDENT',
  }),
  kafkaRow({
    name: 'USER_UNKNOWN: new roles for a user nobody created',
    type: 'user.role.changed',
    payload: { userId: NOBODY, previousRoles: [], newRoles: ['STUDENT'] },
    processor: 'users',
    rule: 'USER_UNKNOWN',
  }),
  kafkaRow({
    name: 'USER_UNKNOWN: new roles for a user only named by a deactivation, never created',
    type: 'user.role.changed',
    payload: { userId: PAR_NAMED, previousRoles: [], newRoles: ['PARENT'] },
    processor: 'users',
    rule: 'USER_UNKNOWN',
  }),
];

/**
 * Events waiting for a fact of another aggregate, published straight to Kafka: grades, attendance and assignments park
 * them with the rule of the first fact not known (a student not enrolled in the section, a course the section does not
 * teach, a period of another year, a day without lessons, a date outside the year, a teacher not known as a TEACHER:
 * docs/invariants.md) instead of applying or dead-lettering them; a correction, justification or removal of a parked
 * one parks behind it.
 */
interface ParkedRow<T extends EventType = EventType> {
  name: string;
  type: T;
  payload: EventPayloads[T];
  processor: 'grades' | 'attendance' | 'assignments';
  rule: RuleCode;
  /** Its student (assignments: teacher) and section as parked (a follow-on: those of the event it waits behind). */
  on: [string, string];
}
const parkedRow = <T extends EventType>(r: ParkedRow<T>): ParkedRow => r;
const PARKED_ROWS: ParkedRow[] = [
  parkedRow({
    name: 'a grade of a student of another section',
    type: 'grade.recorded',
    payload: { ...recorded, gradeId: 'GRD-P1', studentUserId: S2 },
    processor: 'grades',
    rule: 'GRADE_STUDENT_NOT_ENROLLED',
    on: [S2, A],
  }),
  parkedRow({
    name: 'a correction of that parked grade (behind it, not GRADE_CORRECTION_UNKNOWN)',
    type: 'grade.updated',
    payload: { ...updated, gradeId: 'GRD-P1', studentUserId: S2 },
    processor: 'grades',
    rule: 'GRADE_STUDENT_NOT_ENROLLED',
    on: [S2, A],
  }),
  parkedRow({
    name: 'a grade of a student nobody enrolled',
    type: 'grade.recorded',
    payload: { ...recorded, gradeId: 'GRD-P2', studentUserId: 'STU-NOBODY' },
    processor: 'grades',
    rule: 'GRADE_STUDENT_NOT_ENROLLED',
    on: ['STU-NOBODY', A],
  }),
  parkedRow({
    name: 'a competency of a student whose enrollment failed',
    type: 'competency.evaluated',
    payload: { ...competency, evaluationId: 'CMP-P1', studentUserId: 'STU-GHOST', evaluatedBy: T } as EventPayloads['competency.evaluated'],
    processor: 'grades',
    rule: 'GRADE_STUDENT_NOT_ENROLLED',
    on: ['STU-GHOST', A],
  }),
  parkedRow({
    name: 'a mark of a student in a section they are not enrolled in',
    type: 'attendance.marked',
    payload: { ...mark, attendanceId: 'ATT-P1', sectionId: B, markedBy: T } as EventPayloads['attendance.marked'],
    processor: 'attendance',
    rule: 'ATTENDANCE_STUDENT_NOT_ENROLLED',
    on: [S, B],
  }),
  parkedRow({
    name: 'an absence of a student of another section',
    type: 'absence.recorded',
    payload: { ...absence, absenceId: 'ABS-P1', studentUserId: S2, recordedBy: T },
    processor: 'attendance',
    rule: 'ATTENDANCE_STUDENT_NOT_ENROLLED',
    on: [S2, A],
  }),
  parkedRow({
    name: 'the justification of that parked absence (behind it, not ABSENCE_JUSTIFY_UNKNOWN)',
    type: 'absence.justified',
    payload: { ...justify, absenceId: 'ABS-P1', studentUserId: S2, justifiedBy: P },
    processor: 'attendance',
    rule: 'ATTENDANCE_STUDENT_NOT_ENROLLED',
    on: [S2, A],
  }),
  parkedRow({
    name: 'a grade of a course its section does not teach (its student is enrolled there)',
    type: 'grade.recorded',
    payload: { ...recorded, gradeId: 'GRD-P3', courseId: 'CRS-NOT-IN-A' },
    processor: 'grades',
    rule: 'GRADE_COURSE_NOT_IN_SECTION',
    on: [S, A],
  }),
  parkedRow({
    name: "a grade in a period that is not one of its section's year",
    type: 'grade.recorded',
    payload: { ...recorded, gradeId: 'GRD-P4', periodId: '1999-T1' },
    processor: 'grades',
    rule: 'GRADE_PERIOD_NOT_IN_YEAR',
    on: [S, A],
  }),
  parkedRow({
    name: 'a mark on a Saturday, when its section (lessons Monday to Friday) has none',
    type: 'attendance.marked',
    payload: { ...mark, attendanceId: 'ATT-P2', date: '2025-04-05', markedBy: T } as EventPayloads['attendance.marked'],
    processor: 'attendance',
    rule: 'ATTENDANCE_NOT_A_SCHOOL_DAY',
    on: [S, A],
  }),
  parkedRow({
    name: "a mark on a Monday of the year before its section's",
    type: 'attendance.marked',
    payload: { ...mark, attendanceId: 'ATT-P3', date: '2024-04-01', markedBy: T } as EventPayloads['attendance.marked'],
    processor: 'attendance',
    rule: 'ATTENDANCE_DATE_OUTSIDE_YEAR',
    on: [S, A],
  }),
  parkedRow({
    name: 'an assignment whose teacher is a student',
    type: 'teacher.assigned.to.course',
    payload: { ...assign, assignmentId: 'ASG-P1', teacherUserId: S, sectionId: A },
    processor: 'assignments',
    rule: 'TEACHER_NOT_A_TEACHER',
    on: [S, A],
  }),
  parkedRow({
    name: 'the removal of that parked assignment (behind it, not dead-lettered as unknown)',
    type: 'teacher.assignment.removed',
    payload: { ...removal, assignmentId: 'ASG-P1', teacherUserId: S },
    processor: 'assignments',
    rule: 'TEACHER_NOT_A_TEACHER',
    on: [S, A],
  }),
  parkedRow({
    name: 'a schedule of a teacher nobody created',
    type: 'schedule.created',
    // On a school day of A already: attendance learns school days from schedules itself, parked by assignments or not.
    payload: { ...schedule, scheduleId: 'SCH-P1', teacherUserId: NOBODY, dayOfWeek: 'WEDNESDAY', startMinute: 900, endMinute: 960 },
    processor: 'assignments',
    rule: 'TEACHER_NOT_A_TEACHER',
    on: [NOBODY, A],
  }),
  parkedRow({
    name: 'an assignment of a course its section does not teach (its teacher is a TEACHER)',
    type: 'teacher.assigned.to.course',
    payload: { ...assign, assignmentId: 'ASG-P2', sectionId: A, courseId: 'CRS-NOT-IN-A' },
    processor: 'assignments',
    rule: 'ASSIGNMENT_COURSE_NOT_IN_SECTION',
    on: [T, A],
  }),
  parkedRow({
    name: 'a schedule of a course its section does not teach',
    type: 'schedule.created',
    payload: { ...schedule, scheduleId: 'SCH-P2', courseId: 'CRS-NOT-IN-A', dayOfWeek: 'WEDNESDAY', startMinute: 960, endMinute: 1020 },
    processor: 'assignments',
    rule: 'ASSIGNMENT_COURSE_NOT_IN_SECTION',
    on: [T, A],
  }),
  parkedRow({
    name: 'a tardy of a student nobody enrolled',
    type: 'tardiness.recorded',
    payload: { ...tardy, tardinessId: 'TRD-P1', studentUserId: 'STU-NOBODY', recordedBy: T },
    processor: 'attendance',
    rule: 'ATTENDANCE_STUDENT_NOT_ENROLLED',
    on: ['STU-NOBODY', A],
  }),
];

/**
 * Parent links waiting for their parent to be known as a PARENT, published straight to Kafka: the users processor
 * parks them (collection parked_links, PARENT_LINK_NOT_PARENT); a user of another type never becomes one.
 */
const PARKED_LINK_ROWS: Array<{ name: string; payload: EventPayloads['student.parent.linked'] }> = [
  { name: 'the parent is a teacher', payload: { studentUserId: S, parentUserId: T, relationship: 'MOTHER' } },
  { name: 'a parent nobody created', payload: { studentUserId: S, parentUserId: NOBODY, relationship: 'GUARDIAN' } },
];

describe('Invalid commands and events (e2e, issue 18)', function () {
  this.timeout(300_000);
  // A school day narrower than the whole day (SCHEDULE_SLOT_INVALID); every schedule the seeding and the rows make lies in it.
  const p = new TestPipeline(testConfig({ RULE_SCHOOL_DAY: SCHOOL_DAY }));
  const api = new ApiHarness(p, { rateLimitPerMinute: 1_000_000 });
  const tokens: Record<Role, string> = { admin: '', teacher: '', student: '', parent: '' };

  /** End offsets of every partition of every topic of this run (domain, dead-letter and parked), by catalog name. */
  const offsets = async (): Promise<Record<string, Record<number, string>>> => {
    const kafka = createKafka(p.config);
    return Object.fromEntries(
      await Promise.all(topicCatalog(p.config).map(async (t) => [t.name, await topicEndOffsets(kafka, p.topic(t.name))] as const)),
    );
  };
  const total = (o: Record<number, string>): number => Object.values(o).reduce((n, x) => n + Number(x), 0);

  /** A seeding command, applied by every read model it affects before the answer. */
  const command = async (url: string, body: unknown, token = tokens.admin): Promise<HttpResult> => {
    const r = await api.call('POST', url, { token, body, headers: { prefer: 'wait=15' } });
    expect(r.status, `${url} ${JSON.stringify(r.body)}`).to.equal(202);
    expect((r.body.status as { complete: boolean }).complete, `${url} applied`).to.equal(true);
    return r;
  };
  const sagaEnds = (enrollmentId: string): Promise<string> =>
    eventually(
      async () => {
        const e = await p.enrollment(enrollmentId);
        return e && ['COMPLETED', 'FAILED'].includes(e.status) ? e.status : undefined;
      },
      `the saga of ${enrollmentId} to end`,
      60_000,
    );

  before(async () => {
    await p.start();
    await api.start();
    tokens.admin = await api.token('ADM-1', 'admin');
    tokens.teacher = await api.token(T, 'teacher');
    tokens.student = await api.token(S, 'student');
    tokens.parent = await api.token(P, 'parent');

    const person = (userId: string, userType: string) => ({
      ...user,
      userId,
      userType,
      email: `${userId.toLowerCase()}@school.example`,
      roles: [userType],
    });
    await Promise.all([
      ...[
        [S, 'STUDENT'],
        [S2, 'STUDENT'],
        [P, 'PARENT'],
        [T, 'TEACHER'],
        [T2, 'TEACHER'],
        [P_GONE, 'PARENT'],
        [T_GONE, 'TEACHER'],
      ].map(([id, type]) => command('/api/v1/users', person(id!, type!))),
      command('/api/v1/academic/years', {
        academicYearId: Y,
        name: 'School year 2025',
        startDate: '2025-03-03',
        endDate: '2025-12-19',
        gradingPeriods: [{ periodId: PER, name: 'Term 1', startDate: '2025-03-03', endDate: '2025-06-27' }],
      }),
      ...[A, B].map((id) => command('/api/v1/academic/sections', { ...section, sectionId: id, name: id, capacity: 1 })),
    ]);
    // Courses before the assignment and schedules that name them (a course belongs to the section it is taught in).
    await Promise.all([
      command(`/api/v1/users/${S}/parents`, { parentUserId: P, relationship: 'MOTHER' }),
      ...[P_GONE, T_GONE].map((id) => command(`/api/v1/users/${id}/deactivate`, { reason: 'left the school' })),
      ...[A, B].map((id) => command(`/api/v1/academic/sections/${id}/courses`, { courseId: C, courseName: 'Mathematics', weeklyHours: 4 })),
      command(`/api/v1/academic/sections/${A}/courses`, { ...course, courseId: ART }),
    ]);
    await Promise.all([
      command('/api/v1/assignments', { ...assign, assignmentId: 'ASG-A', sectionId: A }),
      // A schedule per section: saga step 5 opens the attendance register only in a section that has one. SEC-A has
      // lessons Monday to Friday (the rows' marks fall on weekdays), SEC-B on Tuesdays only (ATTENDANCE_NOT_A_SCHOOL_DAY).
      ...WEEKDAYS.map((dayOfWeek) =>
        command('/api/v1/assignments/schedules', { ...schedule, dayOfWeek, startMinute: 480, endMinute: 570 }),
      ),
      command('/api/v1/assignments/schedules', { ...schedule, sectionId: B, teacherUserId: T2, dayOfWeek: 'TUESDAY' }),
    ]);
    // S in SEC-A and S2 in SEC-B through the real saga (both one-seat sections full); a saga for a student who
    // does not exist fails at step 2.
    const enrollment = (enrollmentId: string, studentUserId: string, sectionId: string) =>
      api.call('POST', '/api/v1/academic/enrollments', {
        token: tokens.admin,
        body: { ...enroll, enrollmentId, studentUserId, sectionId },
      });
    for (const r of await Promise.all([enrollment(ENR_A, S, A), enrollment(ENR_B, S2, B), enrollment(ENR_FAILED, 'STU-GHOST', A)]))
      expect(r.status, JSON.stringify(r.body)).to.equal(202);
    expect(await Promise.all([sagaEnds(ENR_A), sagaEnds(ENR_B), sagaEnds(ENR_FAILED)])).to.deep.equal(['COMPLETED', 'COMPLETED', 'FAILED']);
    // A deactivation of a user nobody created, straight to Kafka (the API refuses it): the users projection keeps a
    // document of its status, which is not a user (the USER_UNKNOWN rows).
    await p.publish('user.deactivated', { userId: PAR_NAMED, reason: 'never enrolled' });
    // What the corrections of part 2 refer to: a grade, a mark and an absence of S in SEC-A.
    await Promise.all([
      command('/api/v1/grades', { ...grade, gradeId: GRD, evaluationType: 'EXAM', score: 15 }, tokens.teacher),
      command('/api/v1/attendance/marks', { ...mark, attendanceId: ATT, date: ATT_DATE }, tokens.teacher),
      command('/api/v1/attendance/absences', { ...absence, absenceId: ABS, date: ABS_DATE }, tokens.teacher),
    ]);
    await p.settled();
  });
  after(async () => {
    await api.stop();
    await p.stop();
  });

  describe('through the API: refused before anything is published', () => {
    let before: Record<string, Record<number, string>> = {};
    const answers: HttpResult[] = [];

    it(`the table covers ≥ 40 rows, all six domains and all four roles`, async () => {
      expect(ROWS.length).to.be.at.least(40);
      expect(new Set(ROWS.map((r) => r.domain))).to.have.lengthOf(6);
      expect([...new Set(ROWS.map((r) => r.as))].sort()).to.deep.equal(['admin', 'parent', 'student', 'teacher']);
      expect(new Set(ROWS.map((r) => r.name)).size, 'row names are unique').to.equal(ROWS.length);
      before = await offsets();
      // Seeding left no dead letter behind: whatever turns up later is ours.
      for (const t of DOMAIN_TOPICS) expect(total(before[dlqTopic(t)] ?? {}), dlqTopic(t)).to.equal(0);
    });

    for (const row of ROWS)
      it(`${row.status} ${row.as} ${row.method} ${row.path}: ${row.name}`, async () => {
        const r = await api.call(row.method, row.path, { token: tokens[row.as], body: row.body, headers: { prefer: 'wait=1' } });
        answers.push(r);
        const seen = JSON.stringify(r.body);
        expect(r.status, seen).to.equal(row.status);
        expect(r.headers.get('content-type'), seen).to.match(/^application\/problem\+json/);
        expect(r.body).to.include({ status: row.status, code: CODE[row.status] });
        expect(r.body.detail).to.be.a('string');
        const errors = ((r.body.errors ?? []) as Array<{ field: string; rule?: string }>).map((e) =>
          e.rule ? { field: e.field, rule: e.rule } : { field: e.field },
        );
        if (row.errors) expect(errors, seen).to.deep.equal(row.errors);
        else expect(errors, seen).to.deep.equal([]);
      });

    it('no answer carries a stack trace or an internal detail', () => {
      expect(answers).to.have.length(ROWS.length);
      for (const r of answers) {
        const text = JSON.stringify(r.body);
        expect(text).to.not.match(/\bat .*\.[jt]s:\d+/);
        expect(text).to.not.match(/"stack"|node_modules|Error:/);
      }
    });

    it('nothing was published: the end offsets of every topic of the run are unchanged', async () => {
      await p.settled();
      expect(await offsets()).to.deep.equal(before);
    });
  });

  describe('straight to Kafka: the processors dead-letter what breaks their rules, park what waits for a fact of another aggregate, and the read models stay', () => {
    const kafka = () => createKafka(p.config);
    const dlq: Map<string, Array<KafkaMessage & { topic: string }>> = new Map();
    const published: Array<{ row: KafkaRow; eventId: string }> = [];
    const parked: Array<{ row: ParkedRow; eventId: string }> = [];
    const parkedLinks: Array<{ row: (typeof PARKED_LINK_ROWS)[number]; eventId: string }> = [];
    let offsetsBefore: Record<string, Record<number, string>> = {};
    let modelsBefore: unknown;

    /** What the refused events would have touched: the API's read models and the projections' own rows. */
    const readModels = async (): Promise<unknown> => {
      const get = async (url: string) => {
        const r = await api.call('GET', url, { token: tokens.admin });
        return { url, status: r.status, body: r.body };
      };
      const rows = async (processor: string, table: string, order: string) =>
        (await p.pool.query(`select * from "${p.schema(processor)}".${table} order by ${order}`)).rows as unknown[];
      return {
        api: await Promise.all([
          get(`/api/v1/grades/student/${S}/period/${PER}`),
          get(`/api/v1/attendance/student/${S}/summary`),
          get(`/api/v1/attendance/student/${S2}/summary`),
          get(`/api/v1/academic/sections/${A}`),
          get(`/api/v1/academic/sections/${B}`),
          get(`/api/v1/academic/enrollments/student/${S}`),
          get(`/api/v1/academic/enrollments/student/${S2}`),
          get(`/api/v1/academic/enrollments/${ENR_FAILED}/saga`),
          get(`/api/v1/users/${S}/student360`),
          get(`/api/v1/users/${S2}/student360`),
          get(`/api/v1/users/${STU_ADMIN}`),
          get(`/api/v1/users/${P}`),
          get(`/api/v1/users/${T}`),
          get(`/api/v1/users/${P_GONE}`),
          get(`/api/v1/users/${T_GONE}`),
          get(`/api/v1/users/${NOBODY}`),
        ]),
        // The users projection's own documents of the refused role changes (the API answers none for a user never created).
        users: await Promise.all(
          [P_GONE, T_GONE, NOBODY, PAR_NAMED].map((id) => p.db.collection<{ _id: string }>('users').findOne({ _id: id })),
        ),
        grades: await rows('grades', 'grades', 'grade_id'),
        averages: await rows('grades', 'period_averages', '1, 2, 3'),
        sums: await rows('grades', 'grade_sums', '1, 2, 3, 4'),
        registers: await rows('attendance', 'registers', '1'),
        marks: await rows('attendance', 'marks', 'attendance_id'),
        absences: await rows('attendance', 'absences', 'absence_id'),
        tardies: await rows('attendance', 'tardies', 'tardiness_id'),
        summaries: await rows('attendance', 'summaries', 'student_user_id, section_id'),
        assignments: await rows('assignments', 'assignments', 'assignment_id'),
        schedules: await rows('assignments', 'schedules', 'schedule_id'),
        workloads: await rows('assignments', 'workloads', 'teacher_user_id'),
        sections: await rows('academic', 'sections', 'id'),
        enrollments: await rows('academic', 'enrollments', 'enrollment_id'),
        timeline: await rows('academic', 'saga_timeline', 'enrollment_id, event_id'),
        parked: await rows('academic', 'saga_inbox', '1, 2'),
      };
    };

    before(async () => {
      await p.settled();
      offsetsBefore = await offsets();
      modelsBefore = await readModels();
      for (const row of KAFKA_ROWS) {
        const e = await p.publish(row.type, row.payload, row.correlationId);
        published.push({ row, eventId: e.eventId });
      }
      for (const row of PARKED_ROWS) parked.push({ row, eventId: (await p.publish(row.type, row.payload)).eventId });
      for (const row of PARKED_LINK_ROWS)
        parkedLinks.push({ row, eventId: (await p.publish('student.parent.linked', row.payload)).eventId });
      const topics = [...new Set(KAFKA_ROWS.map((r) => p.topic(dlqTopic(EVENT_DEFINITIONS[r.type].topic))))];
      for (const m of await readAll(kafka(), topics, KAFKA_ROWS.length, 60_000)) {
        const id = headerString(m.headers, DLQ.eventId) ?? '';
        dlq.set(id, [...(dlq.get(id) ?? []), m]);
      }
      await p.settled();
    });

    for (const row of KAFKA_ROWS)
      it(`${row.type} → ${EVENT_DEFINITIONS[row.type].topic}.dlq, dlq.rule ${row.rule}: ${row.name}`, () => {
        const { eventId } = published.find((x) => x.row === row)!;
        const letters = dlq.get(eventId) ?? [];
        expect(letters, `dead letters of ${eventId}`).to.have.length(1);
        const m = letters[0]!;
        const h = (name: string) => headerString(m.headers, name);
        const source = p.topic(EVENT_DEFINITIONS[row.type].topic);
        expect(m.topic).to.equal(dlqTopic(source));
        expect({
          rule: h(DLQ.rule),
          code: h(DLQ.errorCode),
          eventType: h(DLQ.eventType),
          sourceTopic: h(DLQ.sourceTopic),
          group: h(DLQ.group),
        }).to.deep.equal({
          rule: row.rule,
          code: 'RULE_VIOLATION',
          eventType: row.type,
          sourceTopic: source,
          group: `${p.run}-${row.processor}`,
        });
      });

    it('the read models they would have touched are unchanged', async () => {
      expect(await readModels()).to.deep.equal(modelsBefore);
    });

    it('events waiting for a fact (an enrollment, a course, a period, a school day, a teacher) are parked with its rule, neither applied nor dead-lettered (each behind the one it follows)', async () => {
      const rows = async (processor: string) =>
        (
          await p.pool.query<{ student: string; section: string; event_id: string; event_type: string; rule: string }>(
            `select student_user_id student, section_id section, event_id, event_type, rule from "${p.schema(processor)}".parked_events`,
          )
        ).rows;
      const held = [...(await rows('grades')), ...(await rows('attendance')), ...(await rows('assignments'))];
      for (const { row, eventId } of parked) {
        expect(dlq.get(eventId) ?? [], `dead letters of ${row.name}`).to.deep.equal([]);
        expect(
          held.filter((r) => r.event_id === eventId),
          row.name,
        ).to.deep.equal([{ student: row.on[0], section: row.on[1], event_id: eventId, event_type: row.type, rule: row.rule }]);
      }
      expect(held).to.have.length(PARKED_ROWS.length);
    });

    it('parent links waiting for their parent to be known as a PARENT are parked by users with PARENT_LINK_NOT_PARENT, neither applied nor dead-lettered', async () => {
      const held = await p.db
        .collection<{ _id: string; parentUserId: string; studentUserId: string; rule: string }>('parked_links')
        .find({}, { projection: { parentUserId: 1, studentUserId: 1, rule: 1 } })
        .toArray();
      for (const { row, eventId } of parkedLinks) {
        expect(dlq.get(eventId) ?? [], `dead letters of ${row.name}`).to.deep.equal([]);
        expect(
          held.filter((l) => l._id === eventId),
          row.name,
        ).to.deep.equal([{ _id: eventId, parentUserId: row.payload.parentUserId, studentUserId: S, rule: 'PARENT_LINK_NOT_PARENT' }]);
      }
      expect(held).to.have.length(PARKED_LINK_ROWS.length);
      // The processors' metrics count them, fresh (ParkedEventsStale fires on the stale ones).
      const metrics = await (await fetch(`http://127.0.0.1:${p.host.port}/metrics`)).text();
      expect(metrics).to.include(
        `school_events_users_parked_events{rule="PARENT_LINK_NOT_PARENT",stale="false"} ${PARKED_LINK_ROWS.length}`,
      );
      expect(metrics).to.include('school_events_users_parked_events{rule="PARENT_LINK_NOT_PARENT",stale="true"} 0');
    });

    it('each refused event is dead-lettered exactly once and caused nothing: only its own record and its dead letter were added', async () => {
      const after = await offsets();
      const grew = (name: string) => total(after[name] ?? {}) - total(offsetsBefore[name] ?? {});
      for (const t of topicCatalog(p.config)) {
        const sent =
          [...KAFKA_ROWS, ...PARKED_ROWS].filter((r) => EVENT_DEFINITIONS[r.type].topic === t.name).length +
          (EVENT_DEFINITIONS['student.parent.linked'].topic === t.name ? PARKED_LINK_ROWS.length : 0);
        const letters = KAFKA_ROWS.filter((r) => dlqTopic(EVENT_DEFINITIONS[r.type].topic) === t.name).length;
        expect(grew(t.name), t.name).to.equal(DOMAIN_TOPICS.includes(t.name as (typeof DOMAIN_TOPICS)[number]) ? sent : letters);
      }
    });
  });
});
