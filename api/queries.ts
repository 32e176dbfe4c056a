import type { UserType } from '../schemas/generated/events';
import { calculateAverage } from '../processors/grades/queries';
import { composeStudent360 } from '../processors/users/student360';
import type { Identity } from './auth/jwt';
import type { Answer } from './commands/execute';
import type { ApiDeps } from './deps';
import { badRequest, notFound } from './http/problem';
import { opsHandlers } from './ops/handlers';
import type { Dependency } from './spec/routes';

export interface QueryContext {
  deps: ApiDeps;
  /** The caller (authorized for the operation already). */
  who: Identity;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
  /** Checks the operation's rule against a subject known only after loading (the saga's student, …). */
  authorizeResource: (subject: string | undefined) => Promise<void>;
}

type Handler = (c: QueryContext) => Promise<Answer>;
export type QueryHandlers = Record<string, { dependency: Dependency; run: Handler }>;

const ok = (body: unknown): Answer => ({ status: 200, body });
const found = (what: string, v: unknown): Answer => {
  if (v === undefined || v === null) throw notFound(`${what} not found`);
  return ok(v);
};

/** Opaque keyset cursors: base64url JSON of the last item's sort key. */
export const encodeCursor = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
export function decodeCursor<T>(c: unknown, valid: (v: unknown) => v is T): T | undefined {
  if (c === undefined || c === '') return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(typeof c === 'string' ? c : '', 'base64url').toString('utf8'));
    if (valid(v)) return v;
  } catch {
    // fall through: a cursor that is not ours is the client's mistake
  }
  throw badRequest('invalid cursor', [{ field: 'query.cursor', message: 'is not a cursor this API returned' }]);
}
const isString = (v: unknown): v is string => typeof v === 'string' && v.length < 200;
const isSagaKey = (v: unknown): v is { updatedAt: string; enrollmentId: string } =>
  !!v &&
  typeof v === 'object' &&
  isString((v as Record<string, unknown>).updatedAt) &&
  isString((v as Record<string, unknown>).enrollmentId);

/** Every query endpoint, by operationId: one read of a projection through the dependency's guard. */
export function queryHandlers(): QueryHandlers {
  const q = (dependency: Dependency, run: Handler) => ({ dependency, run });
  return {
    getUser: q('users', async ({ deps, params }) => found('user', await deps.q.users.user(params.userId!))),
    getStudent360: q('users', async ({ deps, params }) => {
      const id = params.userId!;
      const doc = await deps.q.users.student360(id);
      if (!doc) throw notFound('student 360 not found');
      const [enrollments, averages, summary] = await Promise.all([
        deps.guard.run('academic', () => deps.q.academic.enrollmentsOfStudent(id)),
        deps.guard.run('grades', () => deps.q.grades.averagesOf(id)),
        deps.guard.run('attendance', () => deps.q.attendance.studentSummary(id)),
      ]);
      return ok(composeStudent360(doc, enrollments, averages, summary));
    }),
    listUsersByType: q('users', async ({ deps, params, query }) => {
      const limit = Number(query.limit);
      const items = await deps.q.users.byType(params.userType as UserType, decodeCursor(query.cursor, isString), limit);
      return ok({ items, nextCursor: items.length === limit ? encodeCursor(items[items.length - 1]!.userId) : null });
    }),
    bulkValidateUsers: q('users', async ({ deps, body }) => ok({ results: await deps.q.users.bulkValidate(body.userIds as string[]) })),
    getSection: q('academic', async ({ deps, params }) => found('section', await deps.q.academic.section(params.sectionId!))),
    getCourse: q('academic', async ({ deps, params }) => found('course', await deps.q.academic.course(params.courseId!))),
    listStudentEnrollments: q('academic', async ({ deps, params }) =>
      ok({ items: await deps.q.academic.enrollmentsOfStudent(params.studentId!) }),
    ),
    getEnrollmentSaga: q('academic', async ({ deps, params, authorizeResource }) => {
      const saga = await deps.q.academic.saga(params.enrollmentId!);
      if (!saga)
        throw notFound(
          `enrollment ${params.enrollmentId} not found (yet: a new enrollment appears once the academic processor applied it)`,
        );
      await authorizeResource(String(saga.enrollment.student_user_id));
      const e = saga.enrollment;
      return ok({
        enrollmentId: e.enrollment_id,
        studentUserId: e.student_user_id,
        sectionId: e.section_id,
        status: e.status,
        currentStep: e.current_step,
        failedStep: e.failed_step,
        failureReason: e.failure_reason,
        updatedAt: e.updated_at,
        timeline: saga.timeline,
      });
    }),
    listEnrollments: q('academic', async ({ deps, query }) => {
      const limit = Number(query.limit);
      const items = await deps.q.academic.sagas({
        status: query.status as string | undefined,
        step: query.step as string | undefined,
        studentUserId: query.studentUserId as string | undefined,
        stuckBefore:
          query.stuckForSeconds === undefined ? undefined : new Date(deps.clock.now().getTime() - Number(query.stuckForSeconds) * 1000),
        after: decodeCursor(query.cursor, isSagaKey),
        limit,
      });
      const last = items[items.length - 1];
      return ok({
        items,
        nextCursor:
          items.length === limit && last
            ? encodeCursor({ updatedAt: new Date(last.updatedAt as string).toISOString(), enrollmentId: last.enrollmentId })
            : null,
      });
    }),
    listTeacherCourses: q('assignments', async ({ deps, params }) =>
      ok({ items: await deps.q.assignments.teacherCourses(params.teacherId!) }),
    ),
    listSectionTeachers: q('assignments', async ({ deps, params }) =>
      ok({ items: await deps.q.assignments.sectionTeachers(params.sectionId!) }),
    ),
    validateAvailability: q('assignments', async ({ deps, body }) => {
      const b = body as { teacherUserId: string; dayOfWeek: never; startMinute: number; endMinute: number };
      if (b.endMinute <= b.startMinute)
        throw badRequest('invalid slot', [{ field: 'body.endMinute', message: 'must be after startMinute' }]);
      const conflicts = await deps.q.assignments.overlapping(b.teacherUserId, b.dayOfWeek, b.startMinute, b.endMinute);
      return ok({ available: conflicts.length === 0, conflicts });
    }),
    calculateAverage: q('grades', async ({ deps, body }) => {
      const grades = body.grades as Array<{ evaluationType: never; score: number; maxScore: number }>;
      const bad = grades.findIndex((g) => g.score > g.maxScore);
      if (bad >= 0) throw badRequest('invalid grade', [{ field: `body.grades.${bad}.score`, message: 'must not exceed maxScore' }]);
      return Promise.resolve(ok({ average: calculateAverage(grades as never, deps.config.rules) ?? null, gradeCount: grades.length }));
    }),
    getStudentPeriodGrades: q('grades', async ({ deps, params }) =>
      ok(await deps.q.grades.studentPeriod(params.studentId!, params.periodId!)),
    ),
    getAttendanceSummary: q('attendance', async ({ deps, params }) =>
      found('attendance summary', await deps.q.attendance.studentSummary(params.studentId!)),
    ),
    getTemplate: q('notifications', ({ deps, params }) =>
      Promise.resolve(found(`template ${params.templateId}`, deps.q.notifications.template(params.templateId!))),
    ),
    getNotification: q('notifications', async ({ deps, params, authorizeResource }) => {
      const n = await deps.q.notifications.notification(params.notificationId!);
      if (!n) throw notFound(`notification ${params.notificationId} not found`);
      await authorizeResource(n.recipientUserId);
      return ok(n);
    }),
    getEventStatus: q('events', async ({ deps, who, params, authorizeResource }) => {
      const c = await deps.commands.get(params.eventId!);
      // An admin may look up any event by id (a derived one, …): from the processors' applied markers.
      if (!c && who.roles.includes('admin')) {
        const applied = await deps.status.lookup(params.eventId!);
        if (!applied) throw notFound(`event ${params.eventId} was not published by this API and no processor applied it`);
        return ok(applied);
      }
      if (!c) throw notFound(`event ${params.eventId} was not published by this API`);
      await authorizeResource(c.issuedBy);
      return ok(await deps.status.status(c.eventId, c.eventType));
    }),
    ...opsHandlers(),
  };
}
