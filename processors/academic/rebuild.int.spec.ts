import { expect } from 'chai';
import crypto from 'node:crypto';
import { createLogger } from '../../lib/logger';
import { EXAMPLE_PAYLOADS } from '../../schemas/examples';
import type { EventPayloads, EventType, SchoolEvent } from '../../schemas/generated/events';
import { eventually, testConfig } from '../../test/support';
import { PROCESSOR_NAMES, TestPipeline } from '../../test/support/pipeline';
import { verify } from '../replay/verify';
import { SagaDeadlines } from './deadlines';

/**
 * Two events racing for one saga (the welcome and the deadline): live, the first applied wins and the
 * other changes nothing. A rebuild reads the topics in its own interleaving; it must still end where live did.
 */
describe('academic rebuild (int): a race for one saga is won in the rebuild by the event that won live', function () {
  this.timeout(180_000);
  // Only academic runs, with a deadline that never fires by itself: the test plays the other processors
  // and runs the deadline check itself, so it decides which event comes first.
  const p = new TestPipeline(
    testConfig({ SAGA_DEADLINE_MS: '3600000' }),
    PROCESSOR_NAMES.filter((n) => n !== 'academic'),
  );
  const logger = createLogger(p.config, 'academic-rebuild-test');
  const year = `Y-${p.run}`;
  const section = `SEC-${p.run}`;

  // Playing another processor: an event caused by another (correlation defaults to the event itself).
  const send = <T extends EventType>(type: T, payload: EventPayloads[T], causationId?: string): Promise<SchoolEvent<T>> =>
    p.publish(type, payload, undefined, causationId);
  const enrollment = async (id: string) =>
    (
      await p.pool.query<{ status: string; warnings: string[]; deadline_expired: boolean }>(
        `select status, warnings, deadline_expired from "${p.schema('academic')}".enrollments where enrollment_id = $1`,
        [id],
      )
    ).rows[0];
  const inTimeline = async (id: string, type: EventType): Promise<string | undefined> =>
    (
      await p.pool.query<{ event_id: string }>(
        `select event_id from "${p.schema('academic')}".saga_timeline where enrollment_id = $1 and event_type = $2`,
        [id, type],
      )
    ).rows[0]?.event_id;
  const statusIs = (id: string, status: string) => async () => ((await enrollment(id))?.status === status ? true : undefined);

  /** A saga up to "waiting for the welcome", as users, grades and attendance would have taken it. */
  async function atWelcomeStep(n: number): Promise<{ id: string; student: string }> {
    const id = `ENR-${p.run}-${n}`;
    const student = `USR-${p.run}-${n}`;
    const enrolled = await send('student.enrolled', {
      ...EXAMPLE_PAYLOADS['student.enrolled'],
      enrollmentId: id,
      studentUserId: student,
      sectionId: section,
      academicYearId: year,
    });
    await send(
      'enrollment.user.validated',
      { enrollmentId: id, studentUserId: student, sectionId: section, academicYearId: year },
      enrolled.eventId,
    );
    const assigned = await eventually(() => inTimeline(id, 'enrollment.section.assigned'), `${id} seated`, 90_000);
    const grades = await send(
      'enrollment.grades.initialized',
      { enrollmentId: id, studentUserId: student, sectionId: section, courseIds: ['CRS-MATH'], periodIds: [`${year}-T1`] },
      assigned,
    );
    await send('enrollment.attendance.initialized', { enrollmentId: id, studentUserId: student, sectionId: section }, grades.eventId);
    await eventually(statusIs(id, 'ATTENDANCE_INITIALIZED'), `${id} waiting for its welcome`);
    return { id, student };
  }
  /** The deadline check as it runs in the academic processor, an hour later; what it finds is published when the test says. */
  async function deadlineCheck(): Promise<SchoolEvent[]> {
    const found: SchoolEvent[] = [];
    const later = { now: () => new Date(Date.now() + 3_600_000 + 60_000) };
    await new SagaDeadlines(
      p.pool,
      p.schema('academic'),
      (events) => Promise.resolve(void found.push(...events)),
      p.config.saga,
      later,
      logger,
    ).tick();
    return found;
  }
  // Caused by the notification that was sent, an event academic does not consume.
  const welcome = (id: string, student: string) =>
    send('enrollment.welcome.sent', { enrollmentId: id, studentUserId: student, notificationIds: [`NTF-${id}`] }, crypto.randomUUID());

  before(async () => {
    await p.start();
    await send('academic.year.started', {
      ...EXAMPLE_PAYLOADS['academic.year.started'],
      academicYearId: year,
      gradingPeriods: [{ periodId: `${year}-T1`, name: 'Term 1', startDate: '2025-03-03', endDate: '2025-12-19' }],
    });
    await send('section.created', { ...EXAMPLE_PAYLOADS['section.created'], sectionId: section, academicYearId: year });
    await p.sectionKnown(section);
  });
  after(() => p.stop());

  it('the deadline that won live wins the rebuild, and so does the welcome that won live', async () => {
    const a = await atWelcomeStep(1);
    const expired1 = await deadlineCheck();
    expect(expired1.map((e) => e.aggregateId)).to.deep.equal([a.id]);
    await p.publisher.publish(...expired1);
    await eventually(async () => ((await enrollment(a.id))?.deadline_expired ? true : undefined), 'saga 1 completed by its deadline');
    await welcome(a.id, a.student);
    await eventually(() => inTimeline(a.id, 'enrollment.welcome.sent'), 'saga 1: the late welcome applied');

    const b = await atWelcomeStep(2);
    const expired2 = await deadlineCheck(); // the check sees saga 2 stalled; its event arrives after the welcome
    expect(expired2.map((e) => e.aggregateId)).to.deep.equal([b.id]);
    await welcome(b.id, b.student);
    await eventually(statusIs(b.id, 'COMPLETED'), 'saga 2 completed by its welcome');
    await p.publisher.publish(...expired2);
    await eventually(() => inTimeline(b.id, 'enrollment.deadline.expired'), 'saga 2: the late deadline applied');

    const live1 = await enrollment(a.id);
    expect(live1).to.deep.include({ status: 'COMPLETED', deadline_expired: true });
    expect(live1?.warnings).to.have.length(1);
    expect(await enrollment(b.id)).to.deep.include({ status: 'COMPLETED', deadline_expired: false, warnings: [] });

    const v = await verify(p.config, logger, {
      name: 'academic',
      live: p.schema('academic'),
      liveGroup: `${p.run}-academic`,
      topicName: (t) => p.topic(t),
    });
    expect(v.differences).to.deep.equal([]);
    expect(v.equal).to.equal(true);
  });
  it('a stalled saga is reported once per deadline, not again at every check', async () => {
    const c = await atWelcomeStep(3);
    let offset = 3_600_000 + 60_000;
    const found: SchoolEvent[][] = [];
    const checker = new SagaDeadlines(
      p.pool,
      p.schema('academic'),
      (events) => Promise.resolve(void found.push(events)),
      p.config.saga,
      { now: () => new Date(Date.now() + offset) },
      logger,
    );
    await checker.tick();
    await checker.tick(); // academic has not applied it (never published here): the next checks stay quiet
    offset += p.config.saga.deadlineMs; // another deadline later it is reported again, in case it was lost
    await checker.tick();
    expect(found.map((events) => events.map((e) => e.aggregateId))).to.deep.equal([[c.id], [c.id]]);
    expect(found[0]![0]!.eventId).to.equal(found[1]![0]!.eventId);
  });
});
