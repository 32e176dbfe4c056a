import type { EventType } from '../../schemas/generated/events';
import { DOMAIN_TOPICS } from '../../topics/catalog';
import { DEAD_LETTER_ID_PATTERN } from '../ops/derive';
import { ID_SCHEMA, type JsonSchema } from './avro-json';

/** Which store a route reads, so it gets that dependency's timeout and breaker (DOMAIN.md figures). */
export type Dependency = 'users' | 'academic' | 'assignments' | 'grades' | 'attendance' | 'notifications' | 'events' | 'ops';

/**
 * One command endpoint per command event type: the body is the event payload (its contract
 * from schemas/), minus the fields the API fills in itself.
 */
export interface CommandRoute {
  operationId: string;
  method: 'post' | 'patch';
  path: string;
  eventType: EventType;
  summary: string;
  /** Payload field taken from the path parameter of the same name. */
  pathId?: string;
  /** Payload field filled with the caller's user id (who recorded/marked/updated it). */
  actorField?: string;
  /** Payload id field generated (UUID) when the body leaves it out. */
  generatedId?: string;
}

export interface QueryRoute {
  operationId: string;
  method: 'get' | 'post';
  path: string;
  summary: string;
  dependency: Dependency;
  params?: Record<string, JsonSchema>;
  query?: Record<string, JsonSchema>;
  body?: JsonSchema;
  response: JsonSchema;
  /** A page of items with a cursor to the next one. */
  paginated?: boolean;
}

const id = ID_SCHEMA;
const str = { type: 'string', maxLength: 200 };
const list = (items: JsonSchema): JsonSchema => ({ type: 'array', items });

/**
 * A response resource: exactly these properties (`optional` may be absent), nothing else, so no storage
 * field (`_id`, a guard mark, a column name) can reach a client unnoticed (responses are validated).
 */
const resource = (properties: Record<string, JsonSchema>, optional: string[] = []): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  properties,
});
const text = { type: 'string' };
const nullable = (t: string): JsonSchema => ({ type: [t, 'null'] });
const int = { type: 'integer' };
const num = { type: 'number' };
const bool = { type: 'boolean' };
const time = { type: 'string' }; // timestamps as ISO strings
const texts = list(text);
const profileFields = {
  userType: { type: 'string', enum: ['STUDENT', 'TEACHER', 'PARENT', 'ADMIN'] },
  firstName: text,
  lastName: text,
  email: text,
  phone: nullable('string'),
  birthDate: nullable('string'),
  roles: texts,
  status: { type: 'string', enum: ['ACTIVE', 'DEACTIVATED'] },
};
const user = resource({ userId: id, ...profileFields, deactivationReason: text, parents: texts, children: texts }, [
  'deactivationReason',
  'parents',
  'children',
]);
const attendanceCounts = { present: int, absent: int, late: int, excused: int, unjustifiedAbsences: int, tardies: int };
const student360 = resource(
  {
    userId: id,
    profile: resource(profileFields),
    parents: texts,
    enrollment: resource({ enrollmentId: id, sectionId: id, academicYearId: id, status: text }),
    averages: { type: 'object', additionalProperties: { type: 'object', additionalProperties: num } },
    attendance: { type: 'object', additionalProperties: int },
    attendanceBySection: { type: 'object', additionalProperties: { type: 'object', additionalProperties: int } },
  },
  ['parents', 'enrollment', 'averages', 'attendance', 'attendanceBySection'],
);
const notification = resource(
  {
    notificationId: id,
    recipientUserId: id,
    channel: text,
    templateId: nullable('string'),
    subject: text,
    bulkId: nullable('string'),
    status: text,
    history: list(resource({ status: text, at: time, attempt: int, error: text }, ['attempt', 'error'])),
  },
  ['templateId', 'bulkId'],
);
const sagaState = {
  enrollmentId: id,
  status: text,
  currentStep: text,
  updatedAt: time,
};

export const COMMANDS: CommandRoute[] = [
  {
    operationId: 'createUser',
    method: 'post',
    path: '/api/v1/users',
    eventType: 'user.created',
    summary: 'Create a user',
    generatedId: 'userId',
  },
  {
    operationId: 'updateUser',
    method: 'patch',
    path: '/api/v1/users/{userId}',
    eventType: 'user.updated',
    summary: 'Update a user profile',
    pathId: 'userId',
  },
  {
    operationId: 'deactivateUser',
    method: 'post',
    path: '/api/v1/users/{userId}/deactivate',
    eventType: 'user.deactivated',
    summary: 'Deactivate a user',
    pathId: 'userId',
  },
  {
    operationId: 'changeUserRole',
    method: 'post',
    path: '/api/v1/users/{userId}/roles',
    eventType: 'user.role.changed',
    summary: "Change a user's roles",
    pathId: 'userId',
  },
  {
    operationId: 'linkParent',
    method: 'post',
    path: '/api/v1/users/{studentUserId}/parents',
    eventType: 'student.parent.linked',
    summary: 'Link a parent to a student',
    pathId: 'studentUserId',
  },
  {
    operationId: 'startAcademicYear',
    method: 'post',
    path: '/api/v1/academic/years',
    eventType: 'academic.year.started',
    summary: 'Start an academic year',
  },
  {
    operationId: 'createSection',
    method: 'post',
    path: '/api/v1/academic/sections',
    eventType: 'section.created',
    summary: 'Create a section',
    generatedId: 'sectionId',
  },
  {
    operationId: 'assignCourse',
    method: 'post',
    path: '/api/v1/academic/sections/{sectionId}/courses',
    eventType: 'course.assigned',
    summary: 'Add a course to a section',
    pathId: 'sectionId',
  },
  {
    operationId: 'enrollStudent',
    method: 'post',
    path: '/api/v1/academic/enrollments',
    eventType: 'student.enrolled',
    summary: 'Enroll a student (starts the enrollment saga)',
    generatedId: 'enrollmentId',
  },
  {
    operationId: 'transferStudent',
    method: 'post',
    path: '/api/v1/academic/enrollments/{enrollmentId}/transfer',
    eventType: 'student.transferred',
    summary: 'Transfer an enrolled student to another section',
    pathId: 'enrollmentId',
  },
  {
    operationId: 'assignTeacher',
    method: 'post',
    path: '/api/v1/assignments',
    eventType: 'teacher.assigned.to.course',
    summary: 'Assign a teacher to a course of a section',
    generatedId: 'assignmentId',
  },
  {
    operationId: 'removeTeacherAssignment',
    method: 'post',
    path: '/api/v1/assignments/{assignmentId}/remove',
    eventType: 'teacher.assignment.removed',
    summary: 'Remove a teacher assignment',
    pathId: 'assignmentId',
  },
  {
    operationId: 'createSchedule',
    method: 'post',
    path: '/api/v1/assignments/schedules',
    eventType: 'schedule.created',
    summary: 'Create a schedule slot',
    generatedId: 'scheduleId',
  },
  {
    operationId: 'recordGrade',
    method: 'post',
    path: '/api/v1/grades',
    eventType: 'grade.recorded',
    summary: 'Record a grade',
    generatedId: 'gradeId',
    actorField: 'recordedBy',
  },
  {
    operationId: 'updateGrade',
    method: 'post',
    path: '/api/v1/grades/{gradeId}/corrections',
    eventType: 'grade.updated',
    summary: 'Correct a grade',
    pathId: 'gradeId',
    actorField: 'updatedBy',
  },
  {
    operationId: 'evaluateCompetency',
    method: 'post',
    path: '/api/v1/grades/competencies',
    eventType: 'competency.evaluated',
    summary: 'Evaluate a competency',
    generatedId: 'evaluationId',
    actorField: 'evaluatedBy',
  },
  {
    operationId: 'markAttendance',
    method: 'post',
    path: '/api/v1/attendance/marks',
    eventType: 'attendance.marked',
    summary: 'Mark attendance of one student',
    generatedId: 'attendanceId',
    actorField: 'markedBy',
  },
  {
    operationId: 'recordAbsence',
    method: 'post',
    path: '/api/v1/attendance/absences',
    eventType: 'absence.recorded',
    summary: 'Record an absence',
    generatedId: 'absenceId',
    actorField: 'recordedBy',
  },
  {
    operationId: 'justifyAbsence',
    method: 'post',
    path: '/api/v1/attendance/absences/{absenceId}/justify',
    eventType: 'absence.justified',
    summary: 'Justify an absence',
    pathId: 'absenceId',
    actorField: 'justifiedBy',
  },
  {
    operationId: 'recordTardiness',
    method: 'post',
    path: '/api/v1/attendance/tardiness',
    eventType: 'tardiness.recorded',
    summary: 'Record a tardiness',
    generatedId: 'tardinessId',
    actorField: 'recordedBy',
  },
  {
    operationId: 'requestNotification',
    method: 'post',
    path: '/api/v1/notifications',
    eventType: 'notification.requested',
    summary: 'Request a notification',
    generatedId: 'notificationId',
  },
];

const page = (item: JsonSchema): JsonSchema => resource({ items: list(item), nextCursor: nullable('string') });
const items = (item: JsonSchema): JsonSchema => resource({ items: list(item) });
const cursorQuery = {
  cursor: { type: 'string', maxLength: 512, pattern: '^[A-Za-z0-9_-]*$' },
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
};

const maybe = (t: string): JsonSchema => nullable(t);
const dateTime = { type: 'string', format: 'date-time' };
const deadLetterId = { type: 'string', maxLength: 300, pattern: DEAD_LETTER_ID_PATTERN };
const deadLetterFields = {
  id: text,
  dlqTopic: text,
  partition: int,
  offset: text,
  sourceTopic: maybe('string'),
  eventType: maybe('string'),
  eventId: maybe('string'),
  errorClass: maybe('string'),
  rule: maybe('string'),
  errorMessage: maybe('string'),
  movedAt: maybe('string'),
  redriveCount: int,
};

/** The operator console's endpoints (admin only): processors, dead letters, replay builds. */
const OPS_QUERIES: QueryRoute[] = [
  {
    operationId: 'listProcessorStatus',
    method: 'get',
    path: '/api/v1/ops/processors',
    summary: "Each processor's consumer lag (per partition), heartbeats of its running instances, and a status",
    dependency: 'ops',
    response: resource({
      at: time,
      processors: list(
        resource({
          name: text,
          group: text,
          topics: texts,
          lag: int,
          partitions: list(resource({ topic: text, partition: int, committed: maybe('integer'), end: int, lag: int })),
          instances: list(
            resource({
              instance: text,
              ready: bool,
              circuit: { type: 'string', enum: ['closed', 'open', 'half-open'] },
              seenAt: time,
              stale: bool,
            }),
          ),
          status: { type: 'string', enum: ['ok', 'lagging', 'circuit-open', 'down'] },
        }),
      ),
    }),
  },
  {
    operationId: 'listDeadLetters',
    method: 'get',
    path: '/api/v1/ops/dead-letters',
    summary: 'Dead letters, newest first (total = matches before the limit)',
    dependency: 'ops',
    query: {
      topic: { type: 'string', enum: [...DOMAIN_TOPICS] },
      eventType: str,
      errorClass: str,
      rule: str,
      since: dateTime,
      until: dateTime,
      parked: { type: 'boolean', default: false },
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    },
    response: resource({ items: list(resource(deadLetterFields)), total: int }),
  },
  {
    operationId: 'getDeadLetter',
    method: 'get',
    path: '/api/v1/ops/dead-letters/{deadLetterId}',
    summary: 'One dead letter: its headers, key, the decoded event (or why it does not decode) and the first bytes of its value',
    dependency: 'ops',
    params: { deadLetterId: deadLetterId },
    response: resource({
      ...deadLetterFields,
      key: maybe('string'),
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      payload: maybe('object'),
      decodeError: maybe('string'),
      valueHex: maybe('string'),
    }),
  },
  {
    operationId: 'redriveDeadLetters',
    method: 'post',
    path: '/api/v1/ops/dead-letters/redrive',
    summary: 'Send dead letters back to their source topics at a bounded rate (all or nothing: an unknown id is a 404)',
    dependency: 'ops',
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['ids'],
      properties: {
        ids: { type: 'array', minItems: 1, maxItems: 200, uniqueItems: true, items: deadLetterId },
        ratePerSecond: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
      },
    },
    response: resource({ redriven: int, items: list(resource({ id: text, sourceTopic: text, eventId: maybe('string') })) }),
  },
  {
    operationId: 'getEnrollmentTrace',
    method: 'get',
    path: '/api/v1/ops/enrollments/{enrollmentId}/trace',
    summary:
      "One enrollment saga's trace from the tracing backend (Jaeger's query API): every span, in start order (404 when none was recorded)",
    dependency: 'ops',
    params: { enrollmentId: id },
    response: resource({
      traceId: text,
      durationMs: { type: 'number' },
      spans: list(
        resource({
          spanId: text,
          parentSpanId: maybe('string'),
          service: text,
          processor: maybe('string'),
          eventType: maybe('string'),
          name: text,
          startOffsetMs: { type: 'number' },
          durationMs: { type: 'number' },
        }),
      ),
    }),
  },
  {
    operationId: 'listReplayBuilds',
    method: 'get',
    path: '/api/v1/ops/replay-builds',
    summary: 'Projection rebuilds and snapshots with their progress, newest first',
    dependency: 'ops',
    response: items(
      resource({
        target: text,
        projection: text,
        kind: text,
        status: text,
        startedAt: time,
        finishedAt: maybe('string'),
        oldSchema: maybe('string'),
        done: maybe('integer'),
        total: maybe('integer'),
        progressAt: maybe('string'),
      }),
    ),
  },
];

export const QUERIES: QueryRoute[] = [
  {
    operationId: 'getUser',
    method: 'get',
    path: '/api/v1/users/{userId}',
    summary: 'A user profile',
    dependency: 'users',
    params: { userId: id },
    response: user,
  },
  {
    operationId: 'getStudent360',
    method: 'get',
    path: '/api/v1/users/{userId}/student360',
    summary: "A student's 360 view",
    dependency: 'users',
    params: { userId: id },
    response: student360,
  },
  {
    operationId: 'listUsersByType',
    method: 'get',
    path: '/api/v1/users/type/{userType}',
    summary: 'Users of one type (cursor pagination)',
    dependency: 'users',
    params: { userType: { type: 'string', enum: ['STUDENT', 'TEACHER', 'PARENT', 'ADMIN'] } },
    query: cursorQuery,
    response: page(user),
    paginated: true,
  },
  {
    operationId: 'bulkValidateUsers',
    method: 'post',
    path: '/api/v1/users/bulk-validate',
    summary: 'Which of these user ids are active students',
    dependency: 'users',
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['userIds'],
      properties: { userIds: { type: 'array', minItems: 1, maxItems: 500, items: id } },
    },
    response: resource({ results: list(resource({ userId: id, exists: bool, active: bool, student: bool })) }),
  },
  {
    operationId: 'getSection',
    method: 'get',
    path: '/api/v1/academic/sections/{sectionId}',
    summary: 'A section with seats and courses',
    dependency: 'academic',
    params: { sectionId: id },
    response: resource({
      sectionId: id,
      academicYearId: text,
      name: text,
      gradeLevel: int,
      capacity: int,
      seatsTaken: int,
      courses: list(resource({ courseId: id, courseName: text, weeklyHours: int })),
    }),
  },
  {
    operationId: 'getCourse',
    method: 'get',
    path: '/api/v1/academic/courses/{courseId}',
    summary: 'A course and the sections teaching it',
    dependency: 'academic',
    params: { courseId: id },
    response: resource({
      courseId: id,
      courseName: text,
      sections: list(resource({ courseId: id, courseName: text, sectionId: id, weeklyHours: int })),
    }),
  },
  {
    operationId: 'listStudentEnrollments',
    method: 'get',
    path: '/api/v1/academic/enrollments/student/{studentId}',
    summary: "A student's enrollments, newest first",
    dependency: 'academic',
    params: { studentId: id },
    response: items(
      resource({
        ...sagaState,
        sectionId: id,
        academicYearId: text,
        failedStep: nullable('string'),
        failureReason: nullable('string'),
        active: bool,
        enrollmentDate: text,
      }),
    ),
  },
  {
    operationId: 'getEnrollmentSaga',
    method: 'get',
    path: '/api/v1/academic/enrollments/{enrollmentId}/saga',
    summary: 'The enrollment saga: state and timeline',
    dependency: 'academic',
    params: { enrollmentId: id },
    response: resource({
      ...sagaState,
      studentUserId: id,
      sectionId: id,
      failedStep: nullable('string'),
      failureReason: nullable('string'),
      timeline: list(resource({ step: text, outcome: text, eventType: text, eventId: text, detail: nullable('string'), at: time })),
    }),
  },
  {
    operationId: 'listEnrollments',
    method: 'get',
    path: '/api/v1/academic/enrollments',
    summary: 'Enrollment sagas by status and step (cursor pagination)',
    dependency: 'academic',
    query: {
      ...cursorQuery,
      status: str,
      step: str,
      studentUserId: id,
      /** Only sagas neither COMPLETED nor FAILED whose last change is older than this many seconds. */
      stuckForSeconds: { type: 'integer', minimum: 1, maximum: 31_536_000 },
    },
    response: page(resource({ ...sagaState, studentUserId: id, failedStep: nullable('string'), failureReason: nullable('string') })),
    paginated: true,
  },
  {
    operationId: 'listTeacherCourses',
    method: 'get',
    path: '/api/v1/assignments/teacher/{teacherId}/courses',
    summary: "A teacher's active assignments",
    dependency: 'assignments',
    params: { teacherId: id },
    response: items(resource({ assignmentId: text, sectionId: id, courseId: id, weeklyHours: int })),
  },
  {
    operationId: 'listSectionTeachers',
    method: 'get',
    path: '/api/v1/assignments/section/{sectionId}/teachers',
    summary: "A section's teachers",
    dependency: 'assignments',
    params: { sectionId: id },
    response: items(resource({ teacherUserId: id, courseId: id, weeklyHours: int })),
  },
  {
    operationId: 'validateAvailability',
    method: 'post',
    path: '/api/v1/assignments/validate-availability',
    summary: 'Whether a teacher is free in a slot (and what overlaps)',
    dependency: 'assignments',
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['teacherUserId', 'dayOfWeek', 'startMinute', 'endMinute'],
      properties: {
        teacherUserId: id,
        dayOfWeek: { type: 'string', enum: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] },
        startMinute: { type: 'integer', minimum: 0, maximum: 1439 },
        endMinute: { type: 'integer', minimum: 1, maximum: 1440 },
      },
    },
    response: resource({
      available: bool,
      conflicts: list(resource({ scheduleId: text, sectionId: id, startMinute: int, endMinute: int })),
    }),
  },
  {
    operationId: 'calculateAverage',
    method: 'post',
    path: '/api/v1/grades/calculate-average',
    summary: 'Weighted average of the given grades (the rule the processor applies)',
    dependency: 'grades',
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['grades'],
      properties: {
        grades: {
          type: 'array',
          maxItems: 500,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['evaluationType', 'score', 'maxScore'],
            properties: {
              evaluationType: { type: 'string', enum: ['EXAM', 'QUIZ', 'HOMEWORK', 'PROJECT', 'PARTICIPATION'] },
              score: { type: 'number', minimum: 0 },
              maxScore: { type: 'number', exclusiveMinimum: 0 },
            },
          },
        },
      },
    },
    response: resource({ average: nullable('number'), gradeCount: int }),
  },
  {
    operationId: 'getStudentPeriodGrades',
    method: 'get',
    path: '/api/v1/grades/student/{studentId}/period/{periodId}',
    summary: "A student's grades and averages in a period",
    dependency: 'grades',
    params: { studentId: id, periodId: id },
    response: resource({
      studentUserId: id,
      periodId: id,
      grades: list(resource({ gradeId: text, courseId: id, evaluationType: text, score: num, maxScore: num, recordedAt: time })),
      averages: list(resource({ courseId: id, average: num, gradeCount: int })),
    }),
  },
  {
    operationId: 'getAttendanceSummary',
    method: 'get',
    path: '/api/v1/attendance/student/{studentId}/summary',
    summary: "A student's attendance summary: totals over their sections, and each section's own counts",
    dependency: 'attendance',
    params: { studentId: id },
    response: resource({
      studentUserId: id,
      sectionId: text,
      ...attendanceCounts,
      updatedAt: time,
      sections: list(resource({ sectionId: id, ...attendanceCounts, updatedAt: time })),
    }),
  },
  {
    operationId: 'getTemplate',
    method: 'get',
    path: '/api/v1/notifications/templates/{templateId}',
    summary: 'A notification template',
    dependency: 'notifications',
    params: { templateId: id },
    response: resource({ templateId: text, subject: text, channels: texts }),
  },
  {
    operationId: 'getNotification',
    method: 'get',
    path: '/api/v1/notifications/{notificationId}',
    summary: 'A notification and its status history',
    dependency: 'notifications',
    params: { notificationId: id },
    response: notification,
  },
  {
    operationId: 'getEventStatus',
    method: 'get',
    path: '/api/v1/events/{eventId}',
    summary:
      'Whether each processor has applied an event the API published; for an admin, any event a processor applied (eventType null, complete = applied anywhere)',
    dependency: 'events',
    params: { eventId: { type: 'string', format: 'uuid' } },
    response: resource({
      eventId: text,
      eventType: nullable('string'),
      applied: { type: 'object', additionalProperties: bool },
      complete: bool,
    }),
  },
  ...OPS_QUERIES,
];

/** Commands of the source design with their own shapes; each publishes one or more catalog events. */
export const SPECIAL_COMMANDS = {
  markPresent: {
    operationId: 'markPresent',
    path: '/api/v1/attendance/mark-present',
    summary: 'Mark a list of students present in a section on a day (one attendance.marked each)',
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['sectionId', 'date', 'studentUserIds'],
      properties: {
        sectionId: id,
        date: { type: 'string', format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
        studentUserIds: { type: 'array', minItems: 1, maxItems: 200, uniqueItems: true, items: id },
      },
    },
  },
  sendImmediate: {
    operationId: 'sendImmediate',
    path: '/api/v1/notifications/send-immediate',
    summary: 'Request a notification with HIGH priority',
  },
  bulkNotification: {
    operationId: 'bulkNotification',
    path: '/api/v1/notifications/bulk',
    summary: 'Request one notification per recipient under one bulk id (bulk.notification.completed reports the end)',
  },
  eraseUser: {
    operationId: 'eraseUser',
    path: '/api/v1/users/{userId}/erasure',
    summary:
      "Erase a person's personal data (issue 21): deletes their data key for good, then publishes user.personal-data.erased. " +
      'Their personal fields read as [erased] everywhere from then on; grades, attendance and enrollments stay. ' +
      'Erasing again answers 202 again and publishes the event again (a retry after a failed publish); 404 for an unknown user.',
    body: {
      type: 'object',
      additionalProperties: false,
      properties: {
        reason: { type: ['string', 'null'], enum: ['SUBJECT_REQUEST', 'LEGAL_OBLIGATION', 'RETENTION_EXPIRED', 'OTHER', null] },
      },
    },
  },
} as const;
