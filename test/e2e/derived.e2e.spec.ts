import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKafka } from '../../lib/clients/kafka';
import { createSchemaRegistry } from '../../lib/clients/registry';
import { EventCodec } from '../../schemas/codec';
import { EXAMPLE_PAYLOADS } from '../../schemas/examples';
import type { EventType, SchoolEvent } from '../../schemas/generated/events';
import { eventually, randomName, testConfig } from '../support';
import { readToEnd } from '../../lib/read-to-end';
import { TestPipeline } from '../support/pipeline';
import { gradesQueries } from '../../processors/grades/queries';
import { usersQueries } from '../../processors/users/queries';
import { composeStudent360 } from '../../processors/users/student360';

/**
 * Realistic sequences through Kafka into every processor: the exact read models in both
 * stores and the exact derived events (count and content). Notification delivery goes
 * to a real HTTP server started by the test (the webhook channel).
 */
describe('derived events and read models (all processors, real stack)', function () {
  this.timeout(180000);
  const hooks: Array<{ notificationId: string; body: string }> = [];
  let failNext = 0;
  const webhook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
        return;
      }
      hooks.push(JSON.parse(body) as { notificationId: string; body: string });
      res.writeHead(200, { 'x-message-id': `hook-${hooks.length}` }).end();
    });
  });
  let p: TestPipeline;
  const id = randomName('d');
  const usr = (s: string): string => `USR-${id}-${s}`;
  const enrollmentId = `ENR-${id}`;
  let codec: EventCodec;
  let hookUrl = '';

  /** The events of the given types that processors emitted (not the test) on this run's copy of a topic, decoded. */
  async function emitted(topic: string, types: EventType[]): Promise<SchoolEvent[]> {
    const msgs = await readToEnd(createKafka(p.config), [p.topic(topic)]);
    // Decoded records are avsc record instances; tests compare plain data.
    const events = await Promise.all(
      msgs.map(async (m) => JSON.parse(JSON.stringify((await codec.decode(m.value!)).event)) as SchoolEvent),
    );
    return events.filter((e) => types.includes(e.eventType) && e.sourceService.startsWith('processor:'));
  }

  /**
   * Every derived event of the given types, once the processors have caught up with everything published so
   * far (nothing in flight): the complete set, so a late duplicate or a spurious event is in it. Derived
   * eventIds are deterministic (cause, type, discriminator): no id may appear twice.
   */
  async function derived(topic: string, types: EventType[]): Promise<SchoolEvent[]> {
    await p.settled();
    const events = await emitted(topic, types);
    expect(new Set(events.map((e) => e.eventId)).size, `distinct eventIds of ${events.length} events`).to.equal(events.length);
    return events;
  }

  /** A sync point between steps (not a check): at least `count` derived events of the types exist. */
  const atLeast = (topic: string, types: EventType[], count: number): Promise<SchoolEvent[]> =>
    eventually(
      async () => {
        const events = await emitted(topic, types);
        return events.length >= count ? events : undefined;
      },
      `${count} × ${types.join('/')} on ${topic}`,
      60000,
      500,
    );

  /** `type <- causationId` of each event, sorted: which input caused what. */
  const causes = (events: SchoolEvent[]): string[] => events.map((e) => `${e.eventType} <- ${e.causationId ?? ''}`).sort();

  before(async () => {
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', () => r()));
    hookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
    p = new TestPipeline(testConfig({ NOTIFICATION_MAX_ATTEMPTS: '3', NOTIFICATION_TIMEOUT_MS: '2000' }));
    codec = new EventCodec(createSchemaRegistry(p.config));
    await p.start();
    await p.publish('user.created', {
      userId: usr('stu'),
      userType: 'STUDENT',
      firstName: 'S',
      lastName: 'T',
      email: 's@x.test',
      phone: null,
      birthDate: null,
      roles: ['STUDENT'],
    });
    // The student is enrolled in SEC-1 through the real saga (a grade or a mark needs a COMPLETED enrollment in its
    // section), before the parent is linked: the saga's welcome goes to the student alone.
    await p.publish('academic.year.started', {
      academicYearId: `Y-${id}`,
      name: 'Y',
      startDate: '2025-03-01',
      endDate: '2025-12-19',
      gradingPeriods: [{ periodId: 'T1', name: 'T1', startDate: '2025-03-01', endDate: '2025-07-11' }],
    });
    await p.publish('section.created', {
      sectionId: 'SEC-1',
      academicYearId: `Y-${id}`,
      name: '1',
      gradeLevel: 5,
      capacity: 5,
      homeroom: null,
    });
    await p.publish('course.assigned', { sectionId: 'SEC-1', courseId: 'CRS-MATH', courseName: 'M', weeklyHours: 5 });
    // A lesson every weekday: attendance parks a mark dated on a day its section has none (ATTENDANCE_NOT_A_SCHOOL_DAY).
    // Its teacher is a TEACHER (assignments parks a schedule until its teacher and course are known).
    await p.publish('user.created', {
      ...EXAMPLE_PAYLOADS['user.created'],
      userId: usr('homeroom'),
      userType: 'TEACHER',
      roles: ['TEACHER'],
      email: 'h@x.test',
    });
    for (const dayOfWeek of ['FRIDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY'] as const)
      await p.publish('schedule.created', {
        scheduleId: dayOfWeek === 'FRIDAY' ? `SC-${id}-0` : `SC-${id}-${dayOfWeek}`,
        sectionId: 'SEC-1',
        courseId: 'CRS-MATH',
        teacherUserId: usr('homeroom'),
        dayOfWeek,
        startMinute: 480,
        endMinute: 540,
        room: null,
      });
    await eventually(
      async () =>
        (await p.pool.query(`select 1 from "${p.schema('academic')}".section_courses where section_id = 'SEC-1'`)).rowCount
          ? true
          : undefined,
      'SEC-1 and its course',
    );
    await p.publish(
      'student.enrolled',
      {
        enrollmentId: enrollmentId,
        studentUserId: usr('stu'),
        sectionId: 'SEC-1',
        academicYearId: `Y-${id}`,
        enrollmentDate: '2025-03-03',
        enrollmentType: 'REGULAR',
        previousInstitution: null,
      },
      enrollmentId,
    );
    const ended = await eventually(
      async () => {
        const e = await p.enrollment(enrollmentId);
        return e && ['COMPLETED', 'FAILED'].includes(e.status) ? e : undefined;
      },
      'the enrollment in SEC-1 to end',
      60000,
    );
    expect(ended.status, JSON.stringify(ended)).to.equal('COMPLETED');
    await p.publish('user.created', {
      userId: usr('dad'),
      userType: 'PARENT',
      firstName: 'D',
      lastName: 'T',
      email: 'd@x.test',
      phone: null,
      birthDate: null,
      roles: ['PARENT'],
    });
    await p.publish('student.parent.linked', { studentUserId: usr('stu'), parentUserId: usr('dad'), relationship: 'FATHER' });
  });
  after(async () => {
    await p?.stop();
    await new Promise<void>((r) => webhook.close(() => r()));
  });

  it('grades: weighted averages per change, a corrected grade republishes, alerts below passing reach the parents', async () => {
    const g = { studentUserId: usr('stu'), sectionId: 'SEC-1', courseId: 'CRS-MATH', periodId: 'T1', recordedBy: 'T', comment: null };
    const inputs = [
      await p.publish('grade.recorded', { ...g, gradeId: `G-${id}-1`, evaluationType: 'EXAM', score: 16, maxScore: 20 }),
      await p.publish('grade.recorded', { ...g, gradeId: `G-${id}-2`, evaluationType: 'QUIZ', score: 5, maxScore: 10 }),
      await p.publish('grade.updated', { ...g, gradeId: `G-${id}-1`, newScore: 6, reason: 'regrade', updatedBy: 'T' }),
    ];
    const events = await derived('grades-events', ['period.average.calculated', 'student.performance.alert']);
    const averageEvents = events.filter((e): e is SchoolEvent<'period.average.calculated'> => e.eventType === 'period.average.calculated');
    // In every arrival order each of the three changes moves the average: one average per change.
    expect(causes(averageEvents)).to.deep.equal(inputs.map((i) => `period.average.calculated <- ${i.eventId}`).sort());
    const averages = averageEvents.map((e) => e.payload.average);
    // Grades are keyed by gradeId, so the two grades of this course are not ordered against each other:
    // the intermediate average depends on arrival, the final one does not: (0.4*30 + 0.15*50)/0.55 = 35.45.
    expect(averages).to.have.length(3);
    expect(
      [
        [80, 71.82, 35.45],
        [80, 30, 35.45],
        [50, 71.82, 35.45],
      ].map((x) => [...x].sort().join()),
    ).to.include([...averages].sort().join());
    const alertEvents = events.filter((e): e is SchoolEvent<'student.performance.alert'> => e.eventType === 'student.performance.alert');
    // An alert each time the average crosses below passing: when the quiz arrives first (50, then 71.82, then
    // 35.45) it crosses twice; in the other orders once. The sharp drop happens once in every order.
    const quizFirst = [...averages].sort().join() === [50, 71.82, 35.45].sort().join();
    const below = ['BELOW_PASSING', `${usr('stu')}:CRS-MATH:T1:below`];
    expect(alertEvents.map((e) => [e.payload.alertType, e.payload.alertId]).sort()).to.deep.equal(
      [...(quizFirst ? [below, below] : [below]), ['SHARP_DROP', `${usr('stu')}:CRS-MATH:T1:drop`]].sort(),
    );
    // Which change crossed below passing, and which dropped sharply, depends on arrival; each came from one.
    expect(inputs.map((i) => i.eventId)).to.include.members(alertEvents.map((e) => e.causationId));
    const row = await p.pool.query(`select average, grade_count from "${p.schema('grades')}".period_averages where student_user_id = $1`, [
      usr('stu'),
    ]);
    expect(row.rows).to.deep.equal([{ average: 35.45, grade_count: 2 }]);
    // The 360 the API answers: the users document composed with the grades projection's averages.
    const doc = await eventually(
      () =>
        usersQueries(p.db)
          .student360(usr('stu'))
          .then((d) => d ?? undefined),
      'the student 360 document',
    );
    const s360 = composeStudent360(doc, [], await gradesQueries(p.pool, p.schema('grades')).averagesOf(usr('stu')), undefined);
    expect(s360.averages).to.deep.equal({ T1: { 'CRS-MATH': 35.45 } });
    // Each alert requested a notification to the linked parent.
    const requests = (await derived('notification-events', ['notification.requested'])).filter(
      (r) => (r as SchoolEvent<'notification.requested'>).payload.templateId !== 'welcome', // the enrollment's, in before()
    );
    expect(requests.map((r) => (r as SchoolEvent<'notification.requested'>).payload.recipientUserId)).to.deep.equal(
      alertEvents.map(() => usr('dad')),
    );
    expect(requests.map((r) => r.causationId).sort()).to.deep.equal(alertEvents.map((e) => e.eventId).sort());
  });

  it('attendance: summaries, one alert at three absences in the window, justified days stop counting', async () => {
    const a = { studentUserId: usr('stu'), sectionId: 'SEC-1', recordedBy: 'T' };
    const absences: SchoolEvent[] = [];
    for (const [i, date] of ['2025-03-03', '2025-03-05', '2025-03-07', '2025-03-10'].entries()) {
      absences.push(await p.publish('absence.recorded', { ...a, absenceId: `A-${id}-${i}`, date, reason: null }));
    }
    await p.publish('attendance.marked', {
      attendanceId: `M-${id}-1`,
      studentUserId: usr('stu'),
      sectionId: 'SEC-1',
      date: '2025-03-11',
      status: 'PRESENT',
      markedBy: 'T',
    });
    await p.publish('absence.justified', {
      absenceId: `A-${id}-0`,
      studentUserId: usr('stu'),
      date: '2025-03-03',
      justification: 'medical',
      justifiedBy: 'ADM',
    });
    const alerts = await derived('attendance-events', ['attendance.pattern.alert']);
    // Keyed by student, in order: the third absence (03-07) reaches the threshold; the fourth (4 in its window) does not.
    expect(causes(alerts)).to.deep.equal([`attendance.pattern.alert <- ${absences[2]!.eventId}`]);
    expect(alerts.map((e) => (e as SchoolEvent<'attendance.pattern.alert'>).payload)).to.deep.equal([
      {
        alertId: `${usr('stu')}:absences:2025-03-07`,
        studentUserId: usr('stu'),
        sectionId: 'SEC-1',
        patternType: 'ABSENCES_IN_WINDOW',
        count: 3,
        threshold: 3,
        fromDate: '2025-02-22',
        toDate: '2025-03-07',
      },
    ]);
    const summary = await eventually(async () => {
      const r = await p.pool.query<{ present: number; unjustified_absences: number }>(
        `select present, unjustified_absences from "${p.schema('attendance')}".summaries where student_user_id = $1`,
        [usr('stu')],
      );
      return r.rows[0]?.unjustified_absences === 3 ? r.rows[0] : undefined;
    }, 'the summary after the justification');
    expect(summary).to.deep.equal({ present: 1, unjustified_absences: 3 });
  });

  it('assignments: conflicts for a double-booked teacher, workload after every change', async () => {
    const t = usr('teacher');
    // Assignments and schedules are keyed by their own ids (different partitions): each step waits for the
    // previous one, as an admin would, so the order of the workload figures is the order of the changes.
    const workloadsSoFar = async (n: number): Promise<SchoolEvent[]> => atLeast('assignment-events', ['workload.updated'], n);
    // The teacher and the sections' course M: assignments applies an assignment or schedule once both are known.
    await p.publish('user.created', {
      ...EXAMPLE_PAYLOADS['user.created'],
      userId: t,
      userType: 'TEACHER',
      roles: ['TEACHER'],
      email: 't@x.test',
    });
    for (const sectionId of ['SEC-1', 'SEC-2', `S1-${id}`, `S2-${id}`])
      await p.publish('course.assigned', { sectionId, courseId: 'M', courseName: 'M', weeklyHours: 5 });
    const first = await p.publish('teacher.assigned.to.course', {
      assignmentId: `AS-${id}-1`,
      teacherUserId: t,
      sectionId: 'SEC-1',
      courseId: 'M',
      weeklyHours: 20,
      startDate: '2025-03-03',
    });
    await workloadsSoFar(1);
    const second = await p.publish('teacher.assigned.to.course', {
      assignmentId: `AS-${id}-2`,
      teacherUserId: t,
      sectionId: 'SEC-2',
      courseId: 'M',
      weeklyHours: 12,
      startDate: '2025-03-03',
    });
    await workloadsSoFar(2);
    const removed = await p.publish('teacher.assignment.removed', {
      assignmentId: `AS-${id}-2`,
      teacherUserId: t,
      sectionId: 'SEC-2',
      courseId: 'M',
      reason: null,
    });
    const slot = { courseId: 'M', teacherUserId: t, dayOfWeek: 'MONDAY' as const, room: null };
    await p.publish('schedule.created', { ...slot, scheduleId: `SC-${id}-1`, sectionId: `S1-${id}`, startMinute: 480, endMinute: 570 });
    await eventually(
      async () =>
        (await p.pool.query(`select 1 from "${p.schema('assignments')}".schedules where schedule_id = $1`, [`SC-${id}-1`])).rowCount
          ? true
          : undefined,
      'the first schedule',
    );
    const clash = await p.publish('schedule.created', {
      ...slot,
      scheduleId: `SC-${id}-2`,
      sectionId: `S2-${id}`,
      startMinute: 540,
      endMinute: 630,
    });
    const events = await derived('assignment-events', ['workload.updated', 'schedule.conflict.detected']);
    expect(causes(events)).to.deep.equal(
      [
        `workload.updated <- ${first.eventId}`,
        `workload.updated <- ${second.eventId}`,
        `workload.updated <- ${removed.eventId}`,
        `schedule.conflict.detected <- ${clash.eventId}`,
      ].sort(),
    );
    const workloads = events
      .filter((e): e is SchoolEvent<'workload.updated'> => e.eventType === 'workload.updated')
      .sort((a, b) => a.timestamp.localeCompare(b.timestamp))
      .map((e) => [e.payload.weeklyHours, e.payload.overloaded]);
    expect(workloads).to.deep.equal([
      [20, false],
      [32, true],
      [20, false],
    ]);
    const conflicts = events.filter((e): e is SchoolEvent<'schedule.conflict.detected'> => e.eventType === 'schedule.conflict.detected');
    expect(conflicts.map((c) => [c.payload.scheduleId, c.payload.conflictingScheduleId, c.payload.conflictType])).to.deep.equal([
      [`SC-${id}-2`, `SC-${id}-1`, 'TEACHER_DOUBLE_BOOKED'],
    ]);
  });

  it('notifications: webhook delivery with a retry, the log with its history, and bulk completion', async () => {
    failNext = 1; // the first attempt of the first notification gets a 503
    const bulkId = `B-${id}`;
    const requested: SchoolEvent[] = [];
    for (let i = 0; i < 3; i++) {
      requested.push(
        await p.publish('notification.requested', {
          notificationId: `N-${id}-${i}`,
          recipientUserId: usr('dad'),
          channel: 'WEBHOOK',
          templateId: 'news',
          subject: 'News',
          body: `item ${i}`,
          variables: { _bulkTotal: '3' },
          bulkId,
          priority: 'LOW',
          address: hookUrl,
        }),
      );
    }
    const done = await derived('notification-events', ['bulk.notification.completed']);
    expect(done.map((e) => (e as SchoolEvent<'bulk.notification.completed'>).payload)).to.deep.equal([
      { bulkId, total: 3, succeeded: 3, failed: 0 },
    ]);
    // Every delivery reported once per attempt, caused by its request: one failed attempt (the 503), three sent, three delivered.
    const mine = new Set(requested.map((r) => r.eventId));
    const lifecycle = (await derived('notification-events', ['notification.sent', 'notification.delivered', 'notification.failed'])).filter(
      (e) => mine.has(e.causationId ?? ''),
    );
    expect(lifecycle.map((e) => e.eventType).sort()).to.deep.equal([
      'notification.delivered',
      'notification.delivered',
      'notification.delivered',
      'notification.failed',
      'notification.sent',
      'notification.sent',
      'notification.sent',
    ]);
    expect([...new Set(lifecycle.map((e) => e.causationId))].sort()).to.deep.equal([...mine].sort());
    expect(
      hooks
        .filter((h) => h.notificationId.startsWith(`N-${id}`))
        .map((h) => h.body)
        .sort(),
    ).to.deep.equal(['item 0', 'item 1', 'item 2']);
    // The three requests have different keys (partitions), so which one met the 503 is not fixed: exactly one did.
    const logs = await eventually(async () => {
      const docs = await p.db
        .collection<{ _id: string; status: string; history: Array<{ status: string }> }>('notifications')
        .find({ _id: { $in: [0, 1, 2].map((i) => `N-${id}-${i}`) }, status: 'DELIVERED' })
        .toArray();
      return docs.length === 3 ? docs : undefined;
    }, 'the log entries');
    expect(logs.map((l) => l.history.map((h) => h.status).join(' ')).sort()).to.deep.equal([
      'REQUESTED FAILED SENT DELIVERED',
      'REQUESTED SENT DELIVERED',
      'REQUESTED SENT DELIVERED',
    ]);
  });
});
