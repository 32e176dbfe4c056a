import { expect } from 'chai';
import crypto from 'node:crypto';
import { causedBy } from '../../schemas/envelope';
import type { EventPayloads, EventType, SchoolEvent } from '../../schemas/generated/events';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import { testConfig } from '../../test/support';
import type { Ready } from '../runtime/store';
import { anEvent, testClock } from '../testing/gwt';
import { throwawayProjection, type ThrowawayStore } from '../testing/pg-projection';
import { readStoreGauge } from '../runtime/store-gauges';
import { academic, migrations } from '.';
import { SAGA_GAUGES } from './metrics';

/**
 * The academic projection on throwaway schemas of the real PostgreSQL: exact rows and derived events of sagas,
 * and neither the chunking nor a saga event overtaking its cause changes them.
 */
describe('academic projection (load, fold, flush; real PostgreSQL)', function () {
  this.timeout(60000);
  const { pool, store, apply } = throwawayProjection(testConfig({ LOG_LEVEL: 'error' }), academic, migrations);
  const rows = async (schema: string, table: string, order: string): Promise<unknown[]> =>
    (await pool().query<Record<string, unknown>>(`select * from "${schema}".${table} order by ${order}`)).rows;
  const content = async (schema: string) => ({
    years: await rows(schema, 'academic_years', 'id'),
    sections: await rows(schema, 'sections', 'id'),
    courses: await rows(schema, 'section_courses', 'section_id, course_id'),
    enrollments: await rows(schema, 'enrollments', 'enrollment_id'),
    timeline: await rows(schema, 'saga_timeline', 'enrollment_id, event_id'),
    inbox: await rows(schema, 'saga_inbox', 'enrollment_id, event_id'),
  });

  const YEAR = 'AY-1';
  const SECTION = 'SEC-1';
  const setup = (capacity: number): SchoolEvent[] => [
    anEvent('academic.year.started', { academicYearId: YEAR }),
    anEvent('section.created', { sectionId: SECTION, academicYearId: YEAR, capacity }),
    anEvent('course.assigned', { sectionId: SECTION, courseId: 'MATH' }),
  ];
  const enrolled = (n: number): SchoolEvent<'student.enrolled'> =>
    anEvent('student.enrolled', {
      enrollmentId: `E-${n}`,
      studentUserId: `S-${n}`,
      sectionId: SECTION,
      academicYearId: YEAR,
      previousInstitution: null,
    });
  /** Another processor's step, caused by `cause`. */
  const step = <T extends EventType>(cause: SchoolEvent, type: T, payload: Partial<EventPayloads[T]> = {}): SchoolEvent =>
    causedBy<EventType>(
      cause,
      type,
      { ...anEvent(type).payload, enrollmentId: (cause.payload as { enrollmentId: string }).enrollmentId, ...payload },
      {
        sourceService: 'test',
        clock: testClock,
      },
    );

  /**
   * Plays the other processors around academic, one record at a time, until every saga has ended: the
   * records academic read (its own events come back from the topics, as live) and what it emitted.
   */
  async function playSagas(
    s: ThrowawayStore,
    capacity: number,
    students: number,
  ): Promise<{ records: SchoolEvent[]; emitted: SchoolEvent[] }> {
    const records: SchoolEvent[] = [];
    const emitted: SchoolEvent[] = [];
    const queue: SchoolEvent[] = [...setup(capacity)];
    for (let n = 1; n <= students; n++) queue.push(enrolled(n));
    while (queue.length) {
      const event = queue.shift()!;
      records.push(event);
      const out = await apply(s, [{ event, position: { topic: 't', partition: 0, offset: records.length } }], 1);
      emitted.push(...out);
      queue.push(...out);
      if (event.eventType === 'student.enrolled') queue.push(step(event, 'enrollment.user.validated'));
      if (event.eventType === 'enrollment.section.assigned') {
        const grades = step(event, 'enrollment.grades.initialized');
        const attendance = step(grades, 'enrollment.attendance.initialized');
        queue.push(grades, attendance, step(attendance, 'enrollment.welcome.sent'));
      }
      if (event.eventType === 'enrollment.section.assignment.failed') queue.push(step(event, 'enrollment.user.validation.compensated'));
    }
    return { records, emitted };
  }
  const ready = (events: SchoolEvent[]): Ready[] =>
    events.map((event, offset) => ({ event, position: { topic: 't', partition: offset % 3, offset } }));

  it('given two sagas for one seat: exactly these rows, timelines and derived events', async () => {
    const s = await store();
    const { emitted } = await playSagas(s, 1, 2);
    const c = await content(s.schema);
    const section = anEvent('section.created').payload;
    expect(c.sections).to.deep.equal([
      {
        id: SECTION,
        academic_year_id: YEAR,
        name: section.name,
        grade_level: section.gradeLevel,
        capacity: 1,
        seats_taken: 1,
        homeroom: section.homeroom,
      },
    ]);
    // E-1 took the only seat and completed; E-2 found the section full: its validation and the enrollment compensated, FAILED at step 3.
    expect(
      c.enrollments.map((e) => {
        const r = e as Record<string, unknown>;
        return [r.enrollment_id, r.status, r.failed_step, r.seat_held, r.active];
      }),
    ).to.deep.equal([
      ['E-1', 'COMPLETED', null, true, true],
      ['E-2', 'FAILED', 'ASSIGN_TO_SECTION', false, false],
    ]);
    const steps = (id: string) =>
      c.timeline
        .map((t) => t as { enrollment_id: string; event_type: string })
        .filter((t) => t.enrollment_id === id)
        .map((t) => t.event_type)
        .sort();
    expect(steps('E-1')).to.deep.equal(
      [
        'student.enrolled',
        'enrollment.user.validated',
        'enrollment.section.assigned',
        'enrollment.grades.initialized',
        'enrollment.attendance.initialized',
        'enrollment.welcome.sent',
        'enrollment.completed',
      ].sort(),
    );
    expect(steps('E-2')).to.include.members([
      'enrollment.section.assignment.failed',
      'enrollment.user.validation.compensated',
      'enrollment.failed',
    ]);
    expect(c.inbox).to.deep.equal([]);
    const emittedFor = (id: string) =>
      emitted
        .filter((e) => (e.payload as { enrollmentId: string }).enrollmentId === id)
        .map((e) => e.eventType)
        .sort();
    expect(emittedFor('E-1')).to.deep.equal(['enrollment.completed', 'enrollment.section.assigned']);
    expect(emittedFor('E-2')).to.deep.equal(['enrollment.compensated', 'enrollment.failed', 'enrollment.section.assignment.failed']);
  });

  it('the saga gauges read the projection: statuses, failures by step, what is in flight and for how long', async () => {
    const s = await store();
    await playSagas(s, 1, 2); // E-1 completes, E-2 fails at ASSIGN_TO_SECTION (section full)
    await apply(s, ready([enrolled(3)]), 1); // E-3 waits for its user validation
    const read = async (name: string): Promise<Array<Record<string, string | number>>> => {
      const series = await readStoreGauge(
        pool(),
        s.schema,
        SAGA_GAUGES.find((g) => g.name === name)!,
      );
      return series.map((x) => ({ ...x.labels, value: x.value })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    };
    expect(await read('school_events_sagas')).to.deep.equal([
      { status: 'COMPLETED', value: 1 },
      { status: 'FAILED', value: 1 },
      { status: 'PENDING', value: 1 },
    ]);
    expect(await read('school_events_sagas_failed')).to.deep.equal([{ status: 'FAILED', failed_step: 'ASSIGN_TO_SECTION', value: 1 }]);
    expect(await read('school_events_sagas_in_flight')).to.deep.equal([{ step: 'VALIDATE_USER', value: 1 }]);
    const oldest = await read('school_events_saga_oldest_in_flight_seconds');
    expect(oldest.map((o) => o.step)).to.deep.equal(['VALIDATE_USER']);
    // The test events carry a fixed time in the past (2025-03-15): the saga has waited since then.
    expect(oldest[0]!.value).to.be.greaterThan((Date.now() - Date.parse('2025-03-15T08:31:00Z')) / 1000);
    // Both ended sagas ended now (academic stamps its own events with the clock) and started at the test events'
    // fixed time: every quantile is that span.
    const span = (Date.now() - Date.parse('2025-03-15T08:30:00Z')) / 1000;
    const quantiles = await read('school_events_saga_completion_seconds');
    expect(quantiles.map((q) => q.quantile)).to.deep.equal(['0.5', '0.95', '0.99']);
    for (const q of quantiles) expect(q.value).to.be.closeTo(span, 120);
  });

  it('chunks of four partitions applied concurrently count every seat once (sorted locks, no lost update)', async () => {
    const s = await store();
    const students = [...Array(24).keys()].map((i) => enrolled(i + 1));
    await apply(s, ready([...setup(10), ...students]), 100);
    const validated = students.map((e) => step(e, 'enrollment.user.validated'));
    const partitions = [0, 1, 2, 3].map((p) => validated.filter((_, i) => i % 4 === p));
    await Promise.all(partitions.map((events) => apply(s, ready(events), 2)));
    const c = await content(s.schema);
    expect((c.sections[0] as { seats_taken: number }).seats_taken).to.equal(10);
    const seated = (c.enrollments as Array<{ status: string; seat_held: boolean }>).filter((e) => e.seat_held);
    expect(seated.map((e) => e.status)).to.deep.equal(Array(10).fill('SEATED'));
    expect((c.enrollments as Array<{ status: string }>).filter((e) => e.status === 'COMPENSATING')).to.have.length(14);
  });

  it('one chunk of everything, one chunk per event and a step overtaking its cause give the same rows', async () => {
    const single = await store();
    const { records } = await playSagas(single, 3, 5); // one record per chunk
    const expected = await content(single.schema);
    const whole = await store();
    const emittedWhole = await apply(whole, ready(records), 1000);
    expect(await content(whole.schema)).to.deep.equal(expected);
    // The welcome of each saga before its grades and attendance steps: parked, then released in order.
    const overtaking = [...records];
    for (const w of records.filter((e) => e.eventType === 'enrollment.welcome.sent')) {
      overtaking.splice(overtaking.indexOf(w), 1);
      const grades = overtaking.findIndex(
        (e) =>
          e.eventType === 'enrollment.grades.initialized' &&
          (e.payload as { enrollmentId: string }).enrollmentId === (w.payload as { enrollmentId: string }).enrollmentId,
      );
      overtaking.splice(grades, 0, w);
    }
    const parked = await store();
    await apply(parked, ready(overtaking), 7);
    expect(await content(parked.schema)).to.deep.equal(expected);
    expect((expected.enrollments as Array<{ status: string }>).map((e) => e.status)).to.deep.equal([
      'COMPLETED',
      'COMPLETED',
      'COMPLETED',
      'FAILED',
      'FAILED',
    ]);
    // Redelivered, nothing changes and nothing is emitted again.
    expect(await apply(whole, ready(records), 1000)).to.deep.equal([]);
    expect(await content(whole.schema)).to.deep.equal(expected);
    expect(emittedWhole.length).to.be.greaterThan(0);
  });

  it('user.personal-data.erased: the previous institution of every enrollment of the student becomes the marker, in a later chunk or the same one', async () => {
    const withSchool = (n: number): SchoolEvent<'student.enrolled'> => ({
      ...enrolled(n),
      payload: { ...enrolled(n).payload, studentUserId: 'S-X', previousInstitution: `School ${n}` },
    });
    const erased = anEvent('user.personal-data.erased', { userId: 'S-X' });
    const institutions = async (schema: string) =>
      (await rows(schema, 'enrollments', 'enrollment_id')).map((r) => (r as { previous_institution: string | null }).previous_institution);
    const later = await store();
    await apply(later, ready([...setup(5), withSchool(1), enrolled(2)]), 100);
    const at = (event: SchoolEvent, offset: number): Ready[] => [{ event, position: { topic: 't', partition: 0, offset } }];
    await apply(later, at(erased, 1000), 1);
    expect(await institutions(later.schema)).to.deep.equal([ERASED_MARKER, null]); // E-2 is another student's
    const same = await store();
    await apply(same, ready([...setup(5), withSchool(1), withSchool(3), erased]), 100);
    expect(await institutions(same.schema)).to.deep.equal([ERASED_MARKER, ERASED_MARKER]);
    // Again: nothing changes.
    await apply(same, at({ ...erased, eventId: crypto.randomUUID() }, 1000), 1);
    expect(await institutions(same.schema)).to.deep.equal([ERASED_MARKER, ERASED_MARKER]);
  });
});
