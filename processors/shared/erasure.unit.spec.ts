import { expect } from 'chai';
import { systemClock } from '../../lib/clock';
import { loadConfig } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { ERASED_MARKER } from '../../schemas/personal-fields';
import { assignmentsFold, assignmentsLockKeys, type State as AssignmentsState } from '../assignments/projection';
import { manifest as assignments } from '../assignments';
import { attendanceFold, attendanceLockKeys, type State as AttendanceState } from '../attendance/projection';
import { manifest as attendance } from '../attendance';
import { gradesFold, gradesLockKeys, type State as GradesState } from '../grades/projection';
import { manifest as grades } from '../grades';
import type { ProjectContext } from '../runtime/types';
import { anEvent, given } from '../testing/gwt';
import { erasureWrites, onPersonalDataErased, parkedFields } from './erasure';

const config = loadConfig({ LOG_LEVEL: 'error' });
const ctx: ProjectContext = {
  processor: 'unit',
  clock: systemClock,
  logger: createLogger(config, 'unit'),
  position: { topic: 'user-events', partition: 0, offset: 7 },
  replaying: false,
};
const erased = (userId: string) => anEvent('user.personal-data.erased', { userId });
const metadata = ['metadata.ipAddress', 'metadata.userAgent'];

describe('erasure in the PostgreSQL projections holding decrypted copies (grades, attendance, assignments)', () => {
  it('the fold collects each erased person once, in order', () => {
    given<string[]>([])
      .when(erased('S-1'), (e, s) => onPersonalDataErased(s, e.payload))
      .then(['S-1']);
    given(['S-1', 'S-2'])
      .when(erased('S-1'), (e, s) => onPersonalDataErased(s, e.payload))
      .then(['S-1', 'S-2']);
  });

  it("parked events' personal fields come from the schemas' pii declarations, with whose value each is", () => {
    const fields = (types: Parameters<typeof parkedFields>[0]) =>
      parkedFields(types).map((f) => [f.path.join('.'), f.subject.join('.'), f.types]);
    const everyOf = (...types: string[]) => metadata.map((m) => [m, 'metadata.triggeredBy', types]);
    expect(fields(['grade.recorded', 'grade.updated', 'competency.evaluated'])).to.deep.equal([
      ...everyOf('grade.recorded', 'grade.updated', 'competency.evaluated'),
      ['payload.comment', 'payload.studentUserId', ['grade.recorded', 'competency.evaluated']],
      ['payload.reason', 'payload.studentUserId', ['grade.updated']],
    ]);
    expect(fields(['attendance.marked', 'absence.recorded', 'tardiness.recorded', 'absence.justified'])).to.deep.equal([
      ...everyOf('attendance.marked', 'absence.recorded', 'tardiness.recorded', 'absence.justified'),
      ['payload.reason', 'payload.studentUserId', ['absence.recorded']],
      ['payload.justification', 'payload.studentUserId', ['absence.justified']],
    ]);
  });

  it('a chunk that erased nobody writes nothing; one that did, one update per table with the marker', () => {
    const writes = erasureWrites(
      [{ table: 'absences', subject: 'student_user_id', columns: ['reason', 'justification'] }],
      ['absence.recorded'],
    );
    expect(writes([])).to.deep.equal([]);
    const [absences, parked, ...more] = writes(['S-1', 'S-2']);
    expect(more).to.deep.equal([]);
    expect(absences!.text).to.match(/^update absences set reason = .* justification = .* where student_user_id = any\(\$1::text\[\]\)/);
    expect(parked!.text).to.match(/^update parked_events set event = jsonb_set_lax\(/);
    for (const w of [absences!, parked!]) expect(w.values).to.deep.equal([['S-1', 'S-2'], ERASED_MARKER]);
    expect(() => erasureWrites([{ table: 'absences; drop', subject: 's', columns: ['c'] }], [])).to.throw(/not a plain SQL/);
  });

  it('grades, attendance and assignments consume user-events for it, lock the person, keep them for the flush and emit nothing', () => {
    for (const m of [grades, attendance, assignments]) {
      expect(m.handles, m.name).to.include('user.personal-data.erased');
      expect(m.topics, m.name).to.include('user-events');
    }
    expect(gradesLockKeys(erased('S-1'))).to.deep.equal(['student:S-1']);
    expect(attendanceLockKeys(erased('S-1'))).to.deep.equal(['attendance:S-1']);
    // The erasure reads nothing else of the chunk's state.
    const g = { erased: ['S-0'] } as unknown as GradesState;
    expect(gradesFold(config.rules).fold(g, erased('S-1'), ctx)).to.deep.equal([]);
    expect(g.erased).to.deep.equal(['S-0', 'S-1']);
    const a = { erased: [] } as unknown as AttendanceState;
    expect(attendanceFold(config.rules).fold(a, erased('S-1'), ctx)).to.deep.equal([]);
    expect(a.erased).to.deep.equal(['S-1']);
    expect(assignmentsLockKeys(erased('T-1'))).to.deep.equal(['workload:T-1']); // a teacher's assignment rows
    const t = { erased: [] } as unknown as AssignmentsState;
    expect(assignmentsFold(config.rules).fold(t, erased('T-1'), ctx)).to.deep.equal([]);
    expect(t.erased).to.deep.equal(['T-1']);
  });
});
