import { expect } from 'chai';
import { loadConfig } from '../../lib/config';
import { seededRandom } from '../../lib/rng';
import type { AttendanceStatus } from '../../schemas/generated/events';
import { emit } from '../shared/emit';
import { anEvent, given } from '../testing/gwt';
import {
  absentDays,
  emptyState,
  foldAbsence,
  foldJustified,
  foldMarked,
  foldTardiness,
  futureDateViolation,
  summaryKey,
  type AttendanceState,
  type Folded,
  type Summary,
} from './fold';

const rules = loadConfig({}).rules; // 3 absent days in 14, 4 tardies a month
const at = '2025-03-15T08:30:00.000Z';
const mark = (attendanceId: string, date: string, status: AttendanceStatus, studentUserId = 'S-1') =>
  anEvent('attendance.marked', { attendanceId, studentUserId, sectionId: 'SEC-1', date, status, markedBy: 'T-1' }).payload;
const absence = (absenceId: string, date: string, studentUserId = 'S-1') =>
  anEvent('absence.recorded', { absenceId, studentUserId, sectionId: 'SEC-1', date, reason: null, recordedBy: 'T-1' }).payload;
const tardy = (tardinessId: string, date: string, minutesLate = 5, studentUserId = 'S-1') =>
  anEvent('tardiness.recorded', { tardinessId, studentUserId, sectionId: 'SEC-1', date, minutesLate, recordedBy: 'T-1' }).payload;
const justify = (absenceId: string, studentUserId = 'S-1') =>
  anEvent('absence.justified', { absenceId, studentUserId, justification: 'note', justifiedBy: 'A-1' }).payload;
const emitted = (r: Folded) => {
  if ('violation' in r) throw new Error(r.violation);
  return r.emit.map((e) => [
    e.type,
    'patternType' in e.payload ? e.payload.patternType : null,
    'count' in e.payload ? e.payload.count : null,
  ]);
};
const counts = (s: AttendanceState, student = 'S-1', section = 'SEC-1') => {
  const x = s.summaries.get(summaryKey(student, section));
  return (
    x && { present: x.present, absent: x.absent, late: x.late, excused: x.excused, unjustified: x.unjustifiedAbsences, tardies: x.tardies }
  );
};

/** The summary's definition, counted from the rows (what the per-event projection recomputed after every event). */
function recount(s: AttendanceState, student: string, section: string): Omit<Summary, 'studentUserId' | 'sectionId' | 'updatedAt'> {
  const mine = (r: { studentUserId: string; sectionId: string }): boolean => r.studentUserId === student && r.sectionId === section;
  const marks = [...s.marks.values()].filter(mine);
  const n = (status: AttendanceStatus) => marks.filter((m) => m.status === status).length;
  return {
    present: n('PRESENT'),
    absent: n('ABSENT'),
    late: n('LATE'),
    excused: n('EXCUSED'),
    unjustifiedAbsences: [...s.absences.values()].filter((a) => mine(a) && !a.justified).length,
    tardies: [...s.tardies.values()].filter(mine).length,
  };
}

describe('attendance fold (summaries by deltas, windowed patterns)', () => {
  it('a mark counts once; a re-mark moves the count from the old status to the new', () => {
    const s = emptyState();
    emitted(foldMarked(s, mark('A-1', '2025-03-10', 'PRESENT'), at, rules));
    expect(counts(s)).to.deep.equal({ present: 1, absent: 0, late: 0, excused: 0, unjustified: 0, tardies: 0 });
    emitted(foldMarked(s, mark('A-1', '2025-03-10', 'LATE'), at, rules));
    expect(counts(s)).to.deep.equal({ present: 0, absent: 0, late: 1, excused: 0, unjustified: 0, tardies: 0 });
    expect(s.changed.marks).to.deep.equal(new Set(['A-1']));
  });

  it('summaries are per student and section: marks in a second section (a transfer) leave the first one as it was', () => {
    const s = emptyState();
    emitted(foldMarked(s, mark('A-1', '2025-03-10', 'PRESENT'), at, rules));
    emitted(foldMarked(s, mark('A-2', '2025-03-11', 'ABSENT'), at, rules));
    emitted(foldMarked(s, { ...mark('A-3', '2025-03-11', 'LATE'), sectionId: 'SEC-2' }, at, rules));
    expect(counts(s, 'S-1', 'SEC-1')).to.deep.equal({ present: 1, absent: 1, late: 0, excused: 0, unjustified: 0, tardies: 0 });
    expect(counts(s, 'S-1', 'SEC-2')).to.deep.equal({ present: 0, absent: 0, late: 1, excused: 0, unjustified: 0, tardies: 0 });
    expect([...s.changed.summaries].sort()).to.deep.equal([summaryKey('S-1', 'SEC-1'), summaryKey('S-1', 'SEC-2')]);
  });

  it('one mark per student, section and date: a second mark of the day (another id) corrects the first, never counts twice', () => {
    const s = emptyState();
    emitted(foldMarked(s, mark('A-1', '2025-03-10', 'PRESENT'), at, rules));
    emitted(foldMarked(s, mark('A-2', '2025-03-10', 'ABSENT'), at, rules));
    expect(counts(s)).to.deep.equal({ present: 0, absent: 1, late: 0, excused: 0, unjustified: 0, tardies: 0 });
    expect([...s.marks.values()].map((m) => [m.attendanceId, m.status])).to.deep.equal([['A-1', 'ABSENT']]);
    expect([...s.changed.marks]).to.deep.equal(['A-1']);
    // The same day in another section, or another day, is another mark.
    emitted(foldMarked(s, { ...mark('A-3', '2025-03-10', 'LATE'), sectionId: 'SEC-2' }, at, rules));
    emitted(foldMarked(s, mark('A-4', '2025-03-11', 'PRESENT'), at, rules));
    expect(counts(s)).to.deep.equal({ present: 1, absent: 1, late: 0, excused: 0, unjustified: 0, tardies: 0 });
    expect(counts(s, 'S-1', 'SEC-2')).to.deep.include({ late: 1 });
  });

  it('a correction cannot move a mark to another student, date or section', () => {
    const s = emptyState();
    emitted(foldMarked(s, mark('A-1', '2025-03-10', 'PRESENT'), at, rules));
    expect(foldMarked(s, mark('A-1', '2025-03-11', 'ABSENT'), at, rules))
      .to.have.property('violation')
      .that.matches(/cannot move it/);
    expect(foldMarked(s, mark('A-1', '2025-03-10', 'ABSENT', 'S-2'), at, rules)).to.have.property('rule', 'ATTENDANCE_MARK_FIXED');
  });

  it('the third absent day within 14 days raises one alert; a fourth does not raise another', () => {
    const s = emptyState();
    expect(emitted(foldMarked(s, mark('A-1', '2025-03-03', 'ABSENT'), at, rules))).to.deep.equal([]);
    expect(emitted(foldAbsence(s, absence('B-1', '2025-03-05'), at, rules))).to.deep.equal([]);
    expect(emitted(foldMarked(s, mark('A-2', '2025-03-14', 'ABSENT'), at, rules))).to.deep.equal([
      ['attendance.pattern.alert', 'ABSENCES_IN_WINDOW', 3],
    ]);
    expect(emitted(foldMarked(s, mark('A-3', '2025-03-15', 'ABSENT'), at, rules))).to.deep.equal([]);
    // 03-03 left the window ending 03-17: three again (05, 14, 15) plus 17 makes four, no alert.
    expect(emitted(foldMarked(s, mark('A-4', '2025-03-17', 'ABSENT'), at, rules))).to.deep.equal([]);
  });

  it('a justified absence stops counting that day, also for an ABSENT mark of the same day', () => {
    const s = emptyState();
    emitted(foldMarked(s, mark('A-1', '2025-03-05', 'ABSENT'), at, rules));
    emitted(foldAbsence(s, absence('B-1', '2025-03-05'), at, rules));
    emitted(foldAbsence(s, absence('B-2', '2025-03-06'), at, rules));
    expect(absentDays(s, 'S-1', '2025-03-01', '2025-03-31').sort()).to.deep.equal(['2025-03-05', '2025-03-06']);
    expect(counts(s)?.unjustified).to.equal(2);
    emitted(foldJustified(s, justify('B-1'), at));
    expect(absentDays(s, 'S-1', '2025-03-01', '2025-03-31')).to.deep.equal(['2025-03-06']);
    expect(counts(s)?.unjustified).to.equal(1);
    emitted(foldJustified(s, justify('B-1'), at)); // again: nothing more to subtract
    expect(counts(s)?.unjustified).to.equal(1);
  });

  it('refuses a justification of a missing absence or of another student’s', () => {
    const s = emptyState();
    expect(foldJustified(s, justify('B-9'), at)).to.deep.equal({
      violation: 'absence B-9 does not exist',
      rule: 'ABSENCE_JUSTIFY_UNKNOWN',
    });
    emitted(foldAbsence(s, absence('B-1', '2025-03-05', 'S-2'), at, rules));
    expect(foldJustified(s, justify('B-1', 'S-1'), at))
      .to.have.property('violation')
      .that.matches(/S-2's, not S-1's/);
    expect(foldJustified(s, justify('B-1', 'S-1'), at)).to.have.property('rule', 'ABSENCE_JUSTIFY_UNKNOWN');
  });

  it('the fourth tardy of a month raises one alert; tardies of another month do not count', () => {
    const s = emptyState();
    expect(emitted(foldTardiness(s, tardy('T-0', '2025-02-28'), at, rules))).to.deep.equal([]);
    for (const d of ['03-03', '03-04', '03-05'])
      expect(emitted(foldTardiness(s, tardy(`T-${d}`, `2025-${d}`), at, rules))).to.deep.equal([]);
    expect(emitted(foldTardiness(s, tardy('T-4', '2025-03-20'), at, rules))).to.deep.equal([
      ['attendance.pattern.alert', 'TARDIES_IN_MONTH', 4],
    ]);
    expect(counts(s)?.tardies).to.equal(5);
    expect(foldTardiness(s, tardy('T-5', '2025-03-21', 0), at, rules)).to.deep.equal({
      violation: 'tardiness T-5: minutesLate must be > 0',
      rule: 'TARDINESS_MINUTES',
    });
  });

  it('property: after any sequence of marks, re-marks, absences, justifications and tardies, every summary equals a recount', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const rnd = seededRandom(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const s = emptyState();
      const students = ['S-1', 'S-2', 'S-3'];
      const statuses: AttendanceStatus[] = ['PRESENT', 'ABSENT', 'LATE', 'EXCUSED'];
      const marked = new Map<string, { student: string; date: string }>();
      const absences: Array<{ id: string; student: string }> = [];
      for (let i = 0; i < 60; i++) {
        const student = pick(students);
        const date = `2025-03-${String(1 + Math.floor(rnd() * 28)).padStart(2, '0')}`;
        const kind = Math.floor(rnd() * 5);
        if (kind === 0 && marked.size) {
          const [id, m] = pick([...marked]);
          emitted(foldMarked(s, mark(id, m.date, pick(statuses), m.student), at, rules));
        } else if (kind === 1) {
          absences.push({ id: `B-${i}`, student });
          emitted(foldAbsence(s, absence(`B-${i}`, date, student), at, rules));
        } else if (kind === 2 && absences.length) {
          const a = pick(absences);
          emitted(foldJustified(s, justify(a.id, a.student), at));
        } else if (kind === 3) emitted(foldTardiness(s, tardy(`T-${i}`, date, 5, student), at, rules));
        else {
          marked.set(`A-${i}`, { student, date });
          emitted(foldMarked(s, mark(`A-${i}`, date, pick(statuses), student), at, rules));
        }
      }
      for (const x of s.summaries.values()) {
        const stored = {
          present: x.present,
          absent: x.absent,
          late: x.late,
          excused: x.excused,
          unjustifiedAbsences: x.unjustifiedAbsences,
          tardies: x.tardies,
        };
        expect(stored, `seed ${seed}, ${x.studentUserId} in ${x.sectionId}`).to.deep.equal(recount(s, x.studentUserId, x.sectionId));
      }
    }
  });

  describe('given/when/then: exact derived events', () => {
    /** The state after folding `steps` (each must be accepted). */
    const after = (...steps: Array<(s: AttendanceState) => Folded>): AttendanceState => {
      const s = emptyState();
      for (const step of steps) emitted(step(s));
      return s;
    };
    // The fold writes into the chunk's state; the test folds into a copy so `given` sees its state untouched.
    const onCopy =
      <P>(f: (s: AttendanceState, p: P) => Folded) =>
      (p: P, s: AttendanceState): Folded =>
        f(structuredClone(s), p);

    it('given two absent days in the window, when a third is recorded, then exactly this alert', () => {
      given(
        after(
          (s) => foldMarked(s, mark('A-1', '2025-03-03', 'ABSENT'), at, rules),
          (s) => foldAbsence(s, absence('B-1', '2025-03-05'), at, rules),
        ),
      )
        .when(
          absence('B-2', '2025-03-14'),
          onCopy((s, p) => foldAbsence(s, p, at, rules)),
        )
        .then({
          emit: [
            emit('attendance.pattern.alert', {
              alertId: 'S-1:absences:2025-03-14',
              studentUserId: 'S-1',
              sectionId: 'SEC-1',
              patternType: 'ABSENCES_IN_WINDOW',
              count: 3,
              threshold: 3,
              fromDate: '2025-03-01',
              toDate: '2025-03-14',
            }),
          ],
        });
    });

    it('given two absent days of which one justified, when a third is marked, then no alert (two unjustified days)', () => {
      given(
        after(
          (s) => foldAbsence(s, absence('B-1', '2025-03-03'), at, rules),
          (s) => foldMarked(s, mark('A-1', '2025-03-05', 'ABSENT'), at, rules),
          (s) => foldJustified(s, justify('B-1'), at),
        ),
      )
        .when(
          mark('A-2', '2025-03-14', 'ABSENT'),
          onCopy((s, p) => foldMarked(s, p, at, rules)),
        )
        .then({ emit: [] });
    });

    it('given three tardies in March, when a fourth is recorded, then exactly this alert', () => {
      given(
        after(...['03-03', '03-04', '03-05'].map((d) => (s: AttendanceState) => foldTardiness(s, tardy(`T-${d}`, `2025-${d}`), at, rules))),
      )
        .when(
          tardy('T-4', '2025-03-31'),
          onCopy((s, p) => foldTardiness(s, p, at, rules)),
        )
        .then({
          emit: [
            emit('attendance.pattern.alert', {
              alertId: 'S-1:tardies:2025-03',
              studentUserId: 'S-1',
              sectionId: 'SEC-1',
              patternType: 'TARDIES_IN_MONTH',
              count: 4,
              threshold: 4,
              fromDate: '2025-03-01',
              toDate: '2025-03-31',
            }),
          ],
        });
    });

    it('given an ABSENT mark, when it is corrected to PRESENT, then one count moves and the summary takes the new time', () => {
      const later = '2025-03-16T09:00:00.000Z';
      given(after((s) => foldMarked(s, mark('A-1', '2025-03-10', 'ABSENT'), at, rules)))
        .when(mark('A-1', '2025-03-10', 'PRESENT'), (p, s) => {
          const next = structuredClone(s);
          return { folded: foldMarked(next, p, later, rules), summary: next.summaries.get(summaryKey('S-1', 'SEC-1')) };
        })
        .then({
          folded: { emit: [] },
          summary: {
            studentUserId: 'S-1',
            sectionId: 'SEC-1',
            present: 1,
            absent: 0,
            late: 0,
            excused: 0,
            unjustifiedAbsences: 0,
            tardies: 0,
            updatedAt: later,
          },
        });
    });
  });

  describe('ATTENDANCE_DATE_IN_FUTURE, by the event own timestamp', () => {
    const dated = (date: string, timestamp: string) => ({ timestamp, payload: { date } });
    it('accepts the day of the timestamp anywhere (up to UTC+14), refuses the day after that', () => {
      expect(futureDateViolation(dated('2025-03-15', '2025-03-15T08:30:00.000Z'))).to.equal(undefined);
      expect(futureDateViolation(dated('2025-03-16', '2025-03-15T10:00:00.000Z'))).to.equal(undefined); // already the 16th in Kiribati
      expect(futureDateViolation(dated('2025-03-16', '2025-03-15T09:59:59.999Z'))?.rule).to.equal('ATTENDANCE_DATE_IN_FUTURE');
      expect(futureDateViolation(dated('2026-01-01', '2025-03-15T08:30:00.000Z'))?.violation).to.match(
        /dated 2026-01-01, after 2025-03-15/,
      );
    });
  });
});
