import { expect } from 'chai';
import type pg from 'pg';
import { systemClock } from '../../lib/clock';
import { createPgPool } from '../../lib/clients/pg';
import { createLogger } from '../../lib/logger';
import { migrate } from '../../lib/migrate';
import { seededRandom } from '../../lib/rng';
import type { AttendanceStatus, SchoolEvent } from '../../schemas/generated/events';
import { randomName, testConfig } from '../../test/support';
import { PostgresStore } from '../runtime/postgres-store';
import type { Ready } from '../runtime/store';
import type { Emitted, Position, ProjectContext } from '../runtime/types';
import { anEvent } from '../testing/gwt';
import { createAttendance, migrations } from '.';

/** The attendance projection on throwaway schemas of the real PostgreSQL: exact rows, and chunking never changes them. */
describe('attendance projection (load, fold, flush; real PostgreSQL)', function () {
  this.timeout(60000);
  const config = testConfig({ LOG_LEVEL: 'error' });
  const logger = createLogger(config, 'it');
  const def = createAttendance(config.rules);
  let pool: pg.Pool;
  const schemas: string[] = [];

  before(() => {
    pool = createPgPool(config);
  });
  after(async () => {
    for (const s of schemas) await pool.query(`drop schema if exists "${s}" cascade`);
    await pool.end();
  });

  async function store(): Promise<{ s: PostgresStore; schema: string }> {
    const schema = randomName('it_att').replace(/-/g, '_');
    schemas.push(schema);
    await migrate(pool, schema, migrations);
    const s = new PostgresStore(pool, schema, def, 'attendance');
    await s.init();
    return { s, schema };
  }
  const ctx = (position: Position): ProjectContext => ({ processor: 'attendance', clock: systemClock, logger, position, replaying: false });
  async function apply({ s }: { s: PostgresStore }, records: Ready[], size: number): Promise<Emitted> {
    const out: Emitted = [];
    for (let i = 0; i < records.length; i += size) out.push(...(await s.applyChunk(records.slice(i, i + size), ctx, undefined)).emitted);
    return out;
  }
  const rows = async (schema: string, sql: string): Promise<unknown[]> =>
    (await pool.query<Record<string, unknown>>(sql.replace(/\{s\}/g, `"${schema}"`))).rows;
  const content = async (schema: string) => ({
    marks: await rows(schema, `select attendance_id, student_user_id, to_char(date, 'YYYY-MM-DD') d, status from {s}.marks order by 1`),
    absences: await rows(schema, `select absence_id, to_char(date, 'YYYY-MM-DD') d, justified, justification from {s}.absences order by 1`),
    tardies: await rows(schema, `select tardiness_id, to_char(date, 'YYYY-MM-DD') d, minutes_late from {s}.tardies order by 1`),
    summaries: await rows(
      schema,
      `select student_user_id, section_id, present, absent, late, excused, unjustified_absences, tardies from {s}.summaries order by 1`,
    ),
  });
  /** The summaries' definition as the per-event projection recounted it after every event, from the stored rows. */
  const recount = (schema: string) =>
    rows(
      schema,
      `select s.student_user_id, s.section_id,
         (select count(*)::int from {s}.marks where student_user_id = s.student_user_id and status = 'PRESENT') present,
         (select count(*)::int from {s}.marks where student_user_id = s.student_user_id and status = 'ABSENT') absent,
         (select count(*)::int from {s}.marks where student_user_id = s.student_user_id and status = 'LATE') late,
         (select count(*)::int from {s}.marks where student_user_id = s.student_user_id and status = 'EXCUSED') excused,
         (select count(*)::int from {s}.absences where student_user_id = s.student_user_id and not justified) unjustified_absences,
         (select count(*)::int from {s}.tardies where student_user_id = s.student_user_id) tardies
       from {s}.summaries s order by 1`,
    );
  const at = (events: SchoolEvent[], partition = 0): Ready[] =>
    events.map((event, offset) => ({ event, position: { topic: 'attendance-events', partition, offset } }));
  const mark = (attendanceId: string, studentUserId: string, date: string, status: AttendanceStatus) =>
    anEvent('attendance.marked', { attendanceId, studentUserId, sectionId: 'SEC-1', date, status, markedBy: 'T-1' });

  it('given marks, absences, a justification and tardies: exactly these rows and derived events', async () => {
    const s = await store();
    const emitted = await apply(
      s,
      at([
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
      ]),
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
    expect(emitted.map((e) => [e.eventType, e.aggregateId, (e.payload as { patternType: string }).patternType])).to.deep.equal([
      ['attendance.pattern.alert', 'S-1', 'ABSENCES_IN_WINDOW'],
      ['attendance.pattern.alert', 'S-2', 'TARDIES_IN_MONTH'],
    ]);
  });

  it('a refused event fails its chunk (the runner then isolates it); alone, the others apply', async () => {
    const s = await store();
    const good = mark('A-1', 'S-1', '2025-03-03', 'PRESENT');
    const bad = anEvent('absence.justified', { absenceId: 'B-404', studentUserId: 'S-1' });
    let error: unknown;
    await s.s.applyChunk(at([good, bad]), ctx, undefined).catch((e: unknown) => (error = e));
    expect(error).to.have.property('code', 'RULE_VIOLATION');
    expect((await content(s.schema)).marks).to.deep.equal([]);
    await apply(s, at([good]), 1);
    expect((await content(s.schema)).marks).to.have.length(1);
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
    // Keyed by student, as our producers do: a student's events stay in order in one partition.
    const offsets = [0, 0, 0];
    return events.map((event) => {
      const partition = Number((event.payload as { studentUserId: string }).studentUserId.slice(2)) % 3;
      return { event, position: { topic: 'attendance-events', partition, offset: offsets[partition]!++ } };
    });
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
  });
});
