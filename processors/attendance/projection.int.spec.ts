import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../../lib/migrate';
import { seededRandom } from '../../lib/rng';
import { deterministicEventId } from '../../schemas/envelope';
import type { AttendanceStatus, SchoolEvent } from '../../schemas/generated/events';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import { testConfig } from '../../test/support';
import type { Ready } from '../runtime/store';
import type { Emitted } from '../runtime/types';
import { completed, enrolled, onAcademic, school } from '../testing/enrolled';
import { byTeacher, erasedAsRebuilt, erasureAt, fixedIds } from '../testing/erasure';
import { anEvent } from '../testing/gwt';
import { throwawayProjection } from '../testing/pg-projection';
import { createAttendance, migrations } from '.';

/** The attendance projection on throwaway schemas of the real PostgreSQL: exact rows, and chunking never changes them. */
describe('attendance projection (load, fold, flush; real PostgreSQL)', function () {
  this.timeout(60000);
  const config = testConfig({ LOG_LEVEL: 'error' });
  const def = createAttendance(config.rules);
  const { pool, ctx, schemaName, store, apply } = throwawayProjection(config, def, migrations);
  const rows = async (schema: string, sql: string): Promise<unknown[]> =>
    (await pool().query<Record<string, unknown>>(sql.replace(/\{s\}/g, `"${schema}"`))).rows;
  const content = async (schema: string) => ({
    marks: await rows(schema, `select attendance_id, student_user_id, to_char(date, 'YYYY-MM-DD') d, status from {s}.marks order by 1`),
    absences: await rows(schema, `select absence_id, to_char(date, 'YYYY-MM-DD') d, justified, justification from {s}.absences order by 1`),
    tardies: await rows(schema, `select tardiness_id, to_char(date, 'YYYY-MM-DD') d, minutes_late from {s}.tardies order by 1`),
    summaries: await rows(
      schema,
      `select student_user_id, section_id, present, absent, late, excused, unjustified_absences, tardies from {s}.summaries order by 1, 2`,
    ),
  });
  /** The summaries' definition as the per-event projection recounted it after every event, from the stored rows. */
  const recount = (schema: string) =>
    rows(
      schema,
      `select s.student_user_id, s.section_id,
         (select count(*)::int from {s}.marks where student_user_id = s.student_user_id and section_id = s.section_id and status = 'PRESENT') present,
         (select count(*)::int from {s}.marks where student_user_id = s.student_user_id and section_id = s.section_id and status = 'ABSENT') absent,
         (select count(*)::int from {s}.marks where student_user_id = s.student_user_id and section_id = s.section_id and status = 'LATE') late,
         (select count(*)::int from {s}.marks where student_user_id = s.student_user_id and section_id = s.section_id and status = 'EXCUSED') excused,
         (select count(*)::int from {s}.absences where student_user_id = s.student_user_id and section_id = s.section_id and not justified) unjustified_absences,
         (select count(*)::int from {s}.tardies where student_user_id = s.student_user_id and section_id = s.section_id) tardies
       from {s}.summaries s order by 1, 2`,
    );
  /** A directory with the migrations up to number `last` (to start a schema as an older version left it). */
  const upTo = (last: number): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'att-mig-'));
    for (const f of fs.readdirSync(migrations).filter((f) => Number(f.slice(0, 3)) <= last))
      fs.copyFileSync(path.join(migrations, f), path.join(dir, f));
    return dir;
  };
  const at = (events: SchoolEvent[], partition = 0): Ready[] =>
    events.map((event, offset) => ({ event, position: { topic: 'attendance-events', partition, offset } }));
  const mark = (attendanceId: string, studentUserId: string, date: string, status: AttendanceStatus) =>
    anEvent('attendance.marked', { attendanceId, studentUserId, sectionId: 'SEC-1', date, status, markedBy: 'T-1' });

  it('given marks, absences, a justification and tardies: exactly these rows and derived events', async () => {
    const s = await store();
    const events = [
      mark('A-1', 'S-1', '2025-03-03', 'ABSENT'),
      anEvent('absence.recorded', { absenceId: 'B-1', studentUserId: 'S-1', sectionId: 'SEC-1', date: '2025-03-04', reason: null }),
      mark('A-2', 'S-1', '2025-03-05', 'PRESENT'),
      mark('A-2', 'S-1', '2025-03-05', 'ABSENT'), // a correction: the third absent day in the window
      anEvent('absence.justified', { absenceId: 'B-1', studentUserId: 'S-1', justification: 'medical' }),
      ...['03-10', '03-11', '03-12', '03-13'].map((d, i) =>
        anEvent('tardiness.recorded', {
          tardinessId: `T-${i}`,
          studentUserId: 'S-2',
          sectionId: 'SEC-1',
          date: `2025-${d}`,
          minutesLate: 3,
        }),
      ),
    ];
    const emitted = await apply(
      s,
      [
        ...enrolled([
          ['S-1', 'SEC-1'],
          ['S-2', 'SEC-1'],
        ]),
        ...at(events),
      ],
      100,
    );
    expect(await content(s.schema)).to.deep.equal({
      marks: [
        { attendance_id: 'A-1', student_user_id: 'S-1', d: '2025-03-03', status: 'ABSENT' },
        { attendance_id: 'A-2', student_user_id: 'S-1', d: '2025-03-05', status: 'ABSENT' },
      ],
      absences: [{ absence_id: 'B-1', d: '2025-03-04', justified: true, justification: 'medical' }],
      tardies: [0, 1, 2, 3].map((i) => ({ tardiness_id: `T-${i}`, d: `2025-03-1${i}`, minutes_late: 3 })),
      summaries: [
        { student_user_id: 'S-1', section_id: 'SEC-1', present: 0, absent: 2, late: 0, excused: 0, unjustified_absences: 0, tardies: 0 },
        { student_user_id: 'S-2', section_id: 'SEC-1', present: 0, absent: 0, late: 0, excused: 0, unjustified_absences: 0, tardies: 4 },
      ],
    });
    expect(emitted.map((e) => [e.eventType, e.aggregateId, e.payload])).to.deep.equal([
      [
        'attendance.pattern.alert',
        'S-1',
        {
          alertId: 'S-1:absences:2025-03-05',
          studentUserId: 'S-1',
          sectionId: 'SEC-1',
          patternType: 'ABSENCES_IN_WINDOW',
          count: 3,
          threshold: 3,
          fromDate: '2025-02-20',
          toDate: '2025-03-05',
        },
      ],
      [
        'attendance.pattern.alert',
        'S-2',
        {
          alertId: 'S-2:tardies:2025-03',
          studentUserId: 'S-2',
          sectionId: 'SEC-1',
          patternType: 'TARDIES_IN_MONTH',
          count: 4,
          threshold: 4,
          fromDate: '2025-03-01',
          toDate: '2025-03-31',
        },
      ],
    ]);
    // Caused by the correction and the fourth tardy, with ids derived from them (a re-emission is the same event).
    const causes = [events[3]!, events[8]!];
    expect(emitted.map((e) => [e.causationId, e.eventId])).to.deep.equal(
      causes.map((c) => [c.eventId, deterministicEventId(c.eventId, 'attendance.pattern.alert', '')]),
    );
  });

  it('a refused event fails its chunk (the runner then isolates it); the others, one by one, apply', async () => {
    const refused = [
      anEvent('absence.justified', { absenceId: 'B-404', studentUserId: 'S-1' }),
      anEvent('tardiness.recorded', { tardinessId: 'T-0', studentUserId: 'S-1', sectionId: 'SEC-1', date: '2025-03-04', minutesLate: 0 }),
    ];
    for (const bad of refused) {
      const s = await store();
      await apply(s, enrolled([['S-1', 'SEC-1']]), 10);
      const others = [
        mark('A-1', 'S-1', '2025-03-03', 'PRESENT'),
        anEvent('tardiness.recorded', { tardinessId: 'T-1', studentUserId: 'S-1', sectionId: 'SEC-1', date: '2025-03-04', minutesLate: 5 }),
      ];
      const chunk = at([others[0]!, bad, others[1]!]);
      let error: unknown;
      await s.s.applyChunk(chunk, ctx, undefined).catch((e: unknown) => (error = e));
      expect(error, bad.eventType).to.have.property('code', 'RULE_VIOLATION');
      expect((await content(s.schema)).marks, 'the chunk rolled back').to.deep.equal([]);
      for (const r of chunk) {
        const alone = s.s.applyChunk([r], ctx, undefined);
        if (r.event === bad)
          await alone.then(
            () => expect.fail(`${bad.eventType} was applied`),
            (e: unknown) => expect(e).to.have.property('code', 'RULE_VIOLATION'),
          );
        else await alone;
      }
      const after = await content(s.schema);
      expect(after.marks).to.deep.equal([{ attendance_id: 'A-1', student_user_id: 'S-1', d: '2025-03-03', status: 'PRESENT' }]);
      expect(after.tardies).to.deep.equal([{ tardiness_id: 'T-1', d: '2025-03-04', minutes_late: 5 }]);
      expect(after.summaries).to.deep.equal([
        { student_user_id: 'S-1', section_id: 'SEC-1', present: 1, absent: 0, late: 0, excused: 0, unjustified_absences: 0, tardies: 1 },
      ]);
    }
  });

  it('a second mark of a day under another id, in a later chunk, corrects the stored one: one row, one count', async () => {
    const s = await store();
    await apply(s, enrolled([['S-1', 'SEC-1']]), 1);
    await apply(s, at([mark('A-1', 'S-1', '2025-03-10', 'PRESENT')]), 1);
    await apply(s, at([mark('A-2', 'S-1', '2025-03-10', 'LATE'), mark('A-3', 'S-1', '2025-03-11', 'PRESENT')], 1), 10);
    const c = await content(s.schema);
    expect(c.marks).to.deep.equal([
      { attendance_id: 'A-1', student_user_id: 'S-1', d: '2025-03-10', status: 'LATE' },
      { attendance_id: 'A-3', student_user_id: 'S-1', d: '2025-03-11', status: 'PRESENT' },
    ]);
    expect(c.summaries).to.deep.equal([
      { student_user_id: 'S-1', section_id: 'SEC-1', present: 1, absent: 0, late: 1, excused: 0, unjustified_absences: 0, tardies: 0 },
    ]);
    expect(c.summaries).to.deep.equal(await recount(s.schema));
  });

  it('saga step 5 and schedules on the fold: a register needs a schedule the chunk has read, however the chunk is cut', async () => {
    const step = (enrollmentId: string, sectionId: string) =>
      anEvent('enrollment.grades.initialized', { enrollmentId, studentUserId: `U-${enrollmentId}`, sectionId });
    const schedule = anEvent('schedule.created', { scheduleId: 'SCH-1', sectionId: 'SEC-1' });
    const events: SchoolEvent[] = [
      step('E-0', 'SEC-1'), // before the section's schedule: no schedule yet
      schedule,
      { ...schedule, eventId: `${schedule.eventId}-again` }, // the same schedule again: one row
      step('E-1', 'SEC-1'),
      anEvent('enrollment.attendance.initialized', { enrollmentId: 'E-1', studentUserId: 'U-E-1', sectionId: 'SEC-1' }),
    ];
    const outcomes: Array<{ rows: unknown; emitted: string[] }> = [];
    for (const size of [1, 100]) {
      const s = await store();
      const emitted = await apply(s, at(events), size);
      outcomes.push({
        rows: {
          schedules: await rows(s.schema, 'select section_id, schedule_id from {s}.section_schedules order by 1, 2'),
          registers: await rows(s.schema, 'select enrollment_id, student_user_id, section_id from {s}.registers order by 1'),
        },
        emitted: emitted.map((e) => `${(e.payload as { enrollmentId: string }).enrollmentId} ${e.eventType}`),
      });
    }
    expect(outcomes[0]).to.deep.equal({
      rows: {
        schedules: [{ section_id: 'SEC-1', schedule_id: 'SCH-1' }],
        registers: [{ enrollment_id: 'E-1', student_user_id: 'U-E-1', section_id: 'SEC-1' }],
      },
      emitted: ['E-0 enrollment.attendance.initialization.failed', 'E-1 enrollment.attendance.initialized'],
    });
    expect(outcomes[1]).to.deep.equal(outcomes[0]);
  });

  it('002 recounts a summary the per-event projection left stale, keeps section and time, and changes nothing when run again', async () => {
    const schema = schemaName();
    const first = upTo(1);
    await migrate(pool(), schema, first);
    fs.rmSync(first, { recursive: true });
    await rows(
      schema,
      `insert into {s}.marks values ('A-1', 'S-1', 'SEC-1', '2025-03-03', 'ABSENT', 'T-1'), ('A-2', 'S-1', 'SEC-1', '2025-03-04', 'LATE', 'T-1');
       insert into {s}.absences values ('B-1', 'S-1', 'SEC-1', '2025-03-03', null, 'T-1', false, null), ('B-2', 'S-1', 'SEC-1', '2025-03-05', null, 'T-1', true, 'note');
       insert into {s}.tardies values ('T-1', 'S-1', 'SEC-1', '2025-03-04', 5);
       insert into {s}.summaries values ('S-1', 'SEC-2', 0, 2, 0, 0, 2, 0, '2025-03-06T10:00:00Z'), ('S-2', 'SEC-1', 1, 0, 0, 0, 0, 0, '2025-03-06T11:00:00Z')`,
    );
    const second = upTo(2);
    expect(await migrate(pool(), schema, second)).to.deep.equal(['002_summaries_recount.sql']);
    fs.rmSync(second, { recursive: true });
    const summaries = `select student_user_id, section_id, present, absent, late, excused, unjustified_absences, tardies, to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') at from {s}.summaries order by 1`;
    const expected = [
      {
        student_user_id: 'S-1',
        section_id: 'SEC-2',
        present: 0,
        absent: 1,
        late: 1,
        excused: 0,
        unjustified_absences: 1,
        tardies: 1,
        at: '2025-03-06 10:00:00',
      },
      {
        student_user_id: 'S-2',
        section_id: 'SEC-1',
        present: 0,
        absent: 0,
        late: 0,
        excused: 0,
        unjustified_absences: 0,
        tardies: 0,
        at: '2025-03-06 11:00:00',
      },
    ];
    expect(await rows(schema, summaries)).to.deep.equal(expected);
    const client = await pool().connect();
    try {
      await client.query(`set search_path to "${schema}"`);
      const again = await client.query(fs.readFileSync(path.join(migrations, '002_summaries_recount.sql'), 'utf8'));
      expect(again.rowCount).to.equal(0);
    } finally {
      await client.query('reset search_path');
      client.release();
    }
    expect(await rows(schema, summaries)).to.deep.equal(expected);
  });

  it('003 splits each summary by section (a transfer keeps both histories), counted from the rows, keeping its time', async () => {
    const schema = schemaName();
    const old = upTo(2);
    await migrate(pool(), schema, old);
    fs.rmSync(old, { recursive: true });
    await rows(
      schema,
      `insert into {s}.marks values ('A-1', 'S-1', 'SEC-1', '2025-03-03', 'ABSENT', 'T-1'), ('A-2', 'S-1', 'SEC-2', '2025-03-20', 'LATE', 'T-1'),
         ('A-3', 'S-1', 'SEC-2', '2025-03-21', 'PRESENT', 'T-1'), ('A-4', 'S-2', 'SEC-1', '2025-03-03', 'PRESENT', 'T-1');
       insert into {s}.absences values ('B-1', 'S-1', 'SEC-1', '2025-03-03', null, 'T-1', false, null);
       insert into {s}.tardies values ('T-1', 'S-1', 'SEC-2', '2025-03-20', 5);
       insert into {s}.summaries values ('S-1', 'SEC-2', 1, 1, 1, 0, 1, 1, '2025-03-21T10:00:00Z'), ('S-2', 'SEC-1', 1, 0, 0, 0, 0, 0, '2025-03-03T11:00:00Z')`,
    );
    const third = upTo(3);
    expect(await migrate(pool(), schema, third)).to.deep.equal(['003_summaries_per_section.sql']);
    fs.rmSync(third, { recursive: true });
    expect(
      await rows(
        schema,
        `select student_user_id, section_id, present, absent, late, excused, unjustified_absences, tardies,
           to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') at from {s}.summaries order by 1, 2`,
      ),
    ).to.deep.equal([
      {
        student_user_id: 'S-1',
        section_id: 'SEC-1',
        present: 0,
        absent: 1,
        late: 0,
        excused: 0,
        unjustified_absences: 1,
        tardies: 0,
        at: '2025-03-21 10:00',
      },
      {
        student_user_id: 'S-1',
        section_id: 'SEC-2',
        present: 1,
        absent: 0,
        late: 1,
        excused: 0,
        unjustified_absences: 0,
        tardies: 1,
        at: '2025-03-21 10:00',
      },
      {
        student_user_id: 'S-2',
        section_id: 'SEC-1',
        present: 1,
        absent: 0,
        late: 0,
        excused: 0,
        unjustified_absences: 0,
        tardies: 0,
        at: '2025-03-03 11:00',
      },
    ]);
  });

  /** A month of marks, absences, corrections, justifications and tardies of 6 students over 3 partitions. */
  function workload(): Ready[] {
    const rnd = seededRandom(7);
    const statuses: AttendanceStatus[] = ['PRESENT', 'PRESENT', 'PRESENT', 'ABSENT', 'LATE', 'EXCUSED'];
    const events: SchoolEvent[] = [];
    for (let day = 1; day <= 28; day++) {
      const date = `2025-03-${String(day).padStart(2, '0')}`;
      for (let st = 0; st < 6; st++) {
        const student = `S-${st}`;
        events.push(mark(`A-${st}-${day}`, student, date, statuses[Math.floor(rnd() * statuses.length)]!));
        if (rnd() < 0.15)
          events.push(
            anEvent('absence.recorded', { absenceId: `B-${st}-${day}`, studentUserId: student, sectionId: 'SEC-1', date, reason: null }),
          );
        if (rnd() < 0.2)
          events.push(
            anEvent('tardiness.recorded', {
              tardinessId: `T-${st}-${day}`,
              studentUserId: student,
              sectionId: 'SEC-1',
              date,
              minutesLate: 4,
            }),
          );
        if (day > 2 && rnd() < 0.1)
          events.push(mark(`A-${st}-${day - 2}`, student, `2025-03-${String(day - 2).padStart(2, '0')}`, 'ABSENT'));
        if (day > 3 && rnd() < 0.1) {
          const d = day - 3;
          const id = `B-${st}-${d}`;
          if (events.some((e) => e.eventType === 'absence.recorded' && e.payload.absenceId === id))
            events.push(anEvent('absence.justified', { absenceId: id, studentUserId: student, justification: 'note' }));
        }
      }
    }
    events.push(events[10]!); // a duplicate at a new offset: applied once
    // Published on the afternoon of the day they are about (a date after the day of its timestamp is refused).
    for (const [i, e] of events.entries()) if ('date' in e.payload) events[i] = { ...e, timestamp: `${e.payload.date}T16:00:00.000Z` };
    // Keyed by student, as our producers do: a student's events stay in order in one partition.
    const offsets = [0, 0, 0];
    // The students' enrollments first (read with partition 0): events of the other partitions that come before them are parked.
    return [
      ...enrolled([0, 1, 2, 3, 4, 5].map((i) => [`S-${i}`, 'SEC-1'] as const)),
      ...events.map((event) => {
        const partition = Number((event.payload as { studentUserId: string }).studentUserId.slice(2)) % 3;
        return { event, position: { topic: 'attendance-events', partition, offset: offsets[partition]!++ } };
      }),
    ];
  }

  it('one chunk of everything gives the same rows and alerts as one chunk per event, and as another partition interleaving', async () => {
    const records = workload();
    const whole = await store();
    const single = await store();
    const interleaved = await store();
    const alerts = (es: Emitted) => es.map((e) => e.eventId).sort();
    const wholeOut = await apply(whole, records, 1000);
    const singleOut = await apply(single, records, 1);
    const interleavedOut = await apply(
      interleaved,
      [2, 1, 0].flatMap((p) => records.filter((r) => r.position.partition === p)),
      17,
    );
    const expected = await content(single.schema);
    expect(expected.summaries).to.have.length(6);
    expect(expected.summaries).to.deep.equal(await recount(single.schema), 'summaries equal a recount of the rows');
    expect(await content(whole.schema)).to.deep.equal(expected);
    expect(await content(interleaved.schema)).to.deep.equal(expected);
    expect(singleOut.length).to.be.greaterThan(0);
    expect(alerts(wholeOut)).to.deep.equal(alerts(singleOut));
    expect(alerts(interleavedOut)).to.deep.equal(alerts(singleOut));
    for (const x of [whole, single, interleaved])
      expect(await rows(x.schema, 'select event_id from {s}.parked_events'), 'all released').to.deep.equal([]);
  });

  it('ATTENDANCE_NOT_A_SCHOOL_DAY, ATTENDANCE_DATE_OUTSIDE_YEAR: a mark on a day without lessons is parked until a schedule has one, one outside the year for good; the same rows in any order', async () => {
    const events = at(
      [
        mark('A-MON', 'S-1', '2025-03-03', 'PRESENT'), // a Monday: SEC-7 has a lesson
        mark('A-TUE', 'S-1', '2025-03-04', 'ABSENT'), // a Tuesday: none (yet)
        mark('A-OLD', 'S-1', '2024-03-04', 'PRESENT'), // a Monday of the year before SEC-7's
        anEvent('absence.recorded', { absenceId: 'B-SUN', studentUserId: 'S-1', sectionId: 'SEC-7', date: '2025-03-09', reason: null }), // a Sunday
        anEvent('absence.justified', { absenceId: 'B-SUN', studentUserId: 'S-1', justification: 'ill' }), // behind its absence
      ].map((e) => ({ ...e, payload: { ...e.payload, sectionId: 'SEC-7' } }) as SchoolEvent),
      1,
    );
    const slot = (day: 'MONDAY' | 'TUESDAY') =>
      anEvent('schedule.created', { scheduleId: `SCH-${day}`, sectionId: 'SEC-7', courseId: 'MATH', dayOfWeek: day });
    const facts = [
      ...onAcademic([completed('S-1', 'SEC-7')]),
      { event: slot('MONDAY'), position: { topic: 'assignment-events', partition: 0, offset: 0 } },
      ...onAcademic([anEvent('section.created', { sectionId: 'SEC-7', academicYearId: 'Y-7' })], 0, 1),
      ...onAcademic([anEvent('academic.year.started', { academicYearId: 'Y-7', startDate: '2025-03-03', endDate: '2025-12-19' })], 0, 2),
    ];
    const state = async (schema: string) => ({
      marks: (await rows(schema, 'select attendance_id from {s}.marks order by 1')).map(
        (r) => (r as { attendance_id: string }).attendance_id,
      ),
      absences: (await rows(schema, 'select absence_id from {s}.absences order by 1')).length,
      parked: (await rows(schema, 'select subject_id, rule from {s}.parked_events order by source_offset')).map((r) => {
        const x = r as { subject_id: string; rule: string };
        return [x.subject_id, x.rule];
      }),
    });
    const seen: unknown[] = [];
    for (const [records, size] of [
      [[...facts, ...events], 100],
      [[...events, ...facts], 100],
      [[...events, ...facts], 1],
      [[facts[3]!, events[0]!, facts[1]!, ...events.slice(1), facts[0]!, facts[2]!], 2],
    ] as const) {
      const s = await store();
      await apply(s, [...records], size);
      seen.push(await state(s.schema));
      if (seen.length === 1) {
        await apply(s, [{ event: slot('TUESDAY'), position: { topic: 'assignment-events', partition: 0, offset: 1 } }], 1);
        expect((await state(s.schema)).marks).to.deep.equal(['A-MON', 'A-TUE']);
      }
    }
    expect(seen[0]).to.deep.equal({
      marks: ['A-MON'],
      absences: 0,
      parked: [
        ['mark:A-TUE', 'ATTENDANCE_NOT_A_SCHOOL_DAY'],
        ['mark:A-OLD', 'ATTENDANCE_DATE_OUTSIDE_YEAR'],
        ['absence:B-SUN', 'ATTENDANCE_NOT_A_SCHOOL_DAY'],
        ['absence:B-SUN', 'ATTENDANCE_NOT_A_SCHOOL_DAY'],
      ],
    });
    for (const other of seen.slice(1)) expect(other).to.deep.equal(seen[0]);
  });

  describe('ATTENDANCE_STUDENT_NOT_ENROLLED: parked until the enrollment is known, then released', () => {
    const parked = (schema: string) =>
      rows(
        schema,
        `select student_user_id, section_id, subject_id, event_type, rule, source_topic, source_partition, source_offset
         from {s}.parked_events order by source_partition, source_offset`,
      );
    const absence = (absenceId: string, studentUserId: string, sectionId: string, date: string) =>
      anEvent('absence.recorded', { absenceId, studentUserId, sectionId, date, reason: null });
    // S-1 completes in SEC-1, then is transferred to SEC-3; S-2 never completes anywhere.
    const facts = onAcademic([
      completed('S-1', 'SEC-1', 'E-1'),
      anEvent('enrollment.section.assigned', { enrollmentId: 'E-1', studentUserId: 'S-1', sectionId: 'SEC-3' }),
    ]).concat(school(['SEC-1', 'SEC-3'])); // the sections' reference facts after the enrollments (the interleaving appends them last)
    // Keyed by student as our producers do: S-1's events in partition 1, S-2's in partition 2.
    const s1 = at(
      [
        mark('A-1', 'S-1', '2025-03-03', 'ABSENT'),
        absence('B-1', 'S-1', 'SEC-1', '2025-03-04'),
        anEvent('absence.justified', { absenceId: 'B-1', studentUserId: 'S-1', justification: 'medical' }), // behind its absence
        mark('A-1', 'S-1', '2025-03-03', 'LATE'), // a correction behind its mark
        anEvent(
          'tardiness.recorded',
          { tardinessId: 'T-1', studentUserId: 'S-1', sectionId: 'SEC-3', date: '2025-03-20', minutesLate: 5 },
          { timestamp: '2025-03-20T09:00:00.000Z' },
        ),
        {
          ...mark('A-2', 'S-1', '2025-03-05', 'PRESENT'),
          payload: { ...mark('A-2', 'S-1', '2025-03-05', 'PRESENT').payload, sectionId: 'SEC-2' },
        },
      ],
      1,
    );
    const s2 = at(
      [
        absence('B-2', 'S-2', 'SEC-1', '2025-03-04'),
        anEvent('absence.justified', { absenceId: 'B-2', studentUserId: 'S-2', justification: 'x' }),
      ],
      2,
    );

    it('the same rows whether the events come before the enrollment facts, after them, or interleaved, chunked any way', async () => {
      const orders: Array<[string, Ready[], number]> = [
        ['facts first', [...facts, ...s1, ...s2], 100],
        ['events first', [...s1, ...s2, ...facts], 100],
        ['events first, one by one', [...s1, ...s2, ...facts], 1],
        ['interleaved', [s1[0]!, s1[1]!, facts[0]!, ...s1.slice(2, 5), s2[0]!, facts[1]!, s1[5]!, s2[1]!, ...facts.slice(2)], 3],
      ];
      const seen: Array<{ name: string; rows: unknown; alerts: string[] }> = [];
      for (const [name, records, size] of orders) {
        const s = await store();
        const emitted = await apply(s, records, size);
        seen.push({
          name,
          rows: { ...(await content(s.schema)), parked: await parked(s.schema) },
          alerts: emitted.map((e) => e.eventId).sort(),
        });
      }
      const first = seen[0]!;
      expect(first.rows).to.deep.equal({
        marks: [{ attendance_id: 'A-1', student_user_id: 'S-1', d: '2025-03-03', status: 'LATE' }],
        absences: [{ absence_id: 'B-1', d: '2025-03-04', justified: true, justification: 'medical' }],
        tardies: [{ tardiness_id: 'T-1', d: '2025-03-20', minutes_late: 5 }],
        summaries: [
          { student_user_id: 'S-1', section_id: 'SEC-1', present: 0, absent: 0, late: 1, excused: 0, unjustified_absences: 0, tardies: 0 },
          { student_user_id: 'S-1', section_id: 'SEC-3', present: 0, absent: 0, late: 0, excused: 0, unjustified_absences: 0, tardies: 1 },
        ],
        parked: [
          ['S-1', 'SEC-2', 'mark:A-2', 'attendance.marked', 1, '5'],
          ['S-2', 'SEC-1', 'absence:B-2', 'absence.recorded', 2, '0'],
          ['S-2', 'SEC-1', 'absence:B-2', 'absence.justified', 2, '1'], // behind its absence, never dead-lettered as unknown
        ].map(([student, section, subject, type, partition, offset]) => ({
          student_user_id: student,
          section_id: section,
          subject_id: subject,
          event_type: type,
          rule: 'ATTENDANCE_STUDENT_NOT_ENROLLED',
          source_topic: 'attendance-events',
          source_partition: partition,
          source_offset: offset,
        })),
      });
      for (const o of seen.slice(1)) {
        expect(o.rows, o.name).to.deep.equal(first.rows);
        expect(o.alerts, o.name).to.deep.equal(first.alerts);
      }
    });

    it('a justification of a parked absence by another student, or a correction moving a parked mark, is refused on arrival', async () => {
      const s = await store();
      await apply(s, s1.slice(0, 2), 10);
      expect(await content(s.schema)).to.deep.equal({ marks: [], absences: [], tardies: [], summaries: [] });
      for (const [bad, rule] of [
        [anEvent('absence.justified', { absenceId: 'B-1', studentUserId: 'S-9', justification: 'x' }), 'ABSENCE_JUSTIFY_UNKNOWN'],
        [mark('A-1', 'S-1', '2025-03-09', 'PRESENT'), 'ATTENDANCE_MARK_FIXED'],
      ] as const) {
        const error = await apply(s, at([bad], 0), 1).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, rule).to.include({ code: 'RULE_VIOLATION', rule });
      }
      expect(await parked(s.schema)).to.have.length(2);
      await apply(s, enrolled([['S-1', 'SEC-1']]), 1);
      expect((await content(s.schema)).marks).to.have.length(1);
      expect(await parked(s.schema)).to.deep.equal([]);
    });
  });

  it('user.personal-data.erased: the person’s absence reasons and justifications, and their fields in parked events, read as a rebuild reads them; later, in the same chunk, again', async () => {
    const x = ERASED_MARKER;
    const absence = (absenceId: string, studentUserId: string, sectionId: string, reason: string, id: string) =>
      anEvent('absence.recorded', { absenceId, studentUserId, sectionId, date: '2025-03-04', reason }, fixedIds(id));
    const justified = (absenceId: string, justification: string, id: string) =>
      anEvent('absence.justified', { absenceId, studentUserId: 'S-1', justification }, fixedIds(id));
    /** S-1's justified absence, and one parked with its justification (S-1 is not in SEC-2); S-2's absence. */
    const records = (note: (v: string) => string): Ready[] => [
      ...enrolled([
        ['S-1', 'SEC-1'],
        ['S-2', 'SEC-1'],
      ]),
      ...at([
        byTeacher(absence('B-1', 'S-1', 'SEC-1', note('flu'), 'e-1')),
        justified('B-1', note('doctor'), 'e-2'),
        absence('B-2', 'S-2', 'SEC-1', 'S-2 reason', 'e-3'),
        byTeacher(absence('B-3', 'S-1', 'SEC-2', note('parked'), 'e-4')),
        justified('B-3', note('parked note'), 'e-5'),
      ]),
    ];
    const read = async (schema: string) => ({
      ...(await content(schema)),
      absences: await rows(
        schema,
        'select absence_id, student_user_id, section_id, reason, justified, justification from {s}.absences order by 1',
      ),
      parked: await rows(schema, 'select student_user_id, section_id, event_id, event from {s}.parked_events order by event_id'),
    });
    /** Each personal value kept: absences' reason and justification, the reason or justification and the address of each parked event. */
    const personal = async (schema: string) => {
      const all = await read(schema);
      return {
        absences: all.absences.map((r) => {
          const a = r as { absence_id: string; reason: string | null; justification: string | null };
          return [a.absence_id, a.reason, a.justification];
        }),
        parked: all.parked.map((r) => {
          const e = (r as { event: SchoolEvent }).event;
          const p = e.payload as { reason?: string; justification?: string };
          return [e.eventId, p.reason ?? p.justification, e.metadata.ipAddress];
        }),
      };
    };
    const live = await erasedAsRebuilt({ store, apply, records, read });
    expect(await personal(live.schema)).to.deep.equal({
      absences: [
        ['B-1', x, x],
        ['B-2', 'S-2 reason', null],
      ],
      parked: [
        ['e-4', x, '10.0.0.7'],
        ['e-5', x, null],
      ], // the teacher's address is theirs
    });
    // The teacher's erasure reaches the metadata of what they triggered; an absence released afterwards carries the marker.
    await apply(live, [erasureAt('T-1', 2)], 1);
    expect((await personal(live.schema)).parked).to.deep.equal([
      ['e-4', x, x],
      ['e-5', x, null],
    ]);
    await apply(live, [...school(['SEC-2']), ...onAcademic([completed('S-1', 'SEC-2')], 10)], 1);
    expect((await personal(live.schema)).absences).to.deep.equal([
      ['B-1', x, x],
      ['B-2', 'S-2 reason', null],
      ['B-3', x, x],
    ]);
  });
});
