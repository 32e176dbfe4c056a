import { expect } from 'chai';
import { detectConflicts, validSlot, workload, type Slot } from './handlers';

const slot = (scheduleId: string, over: Partial<Slot> = {}): Slot => ({
  scheduleId,
  sectionId: 'SEC-A',
  teacherUserId: 'T-1',
  dayOfWeek: 'MONDAY',
  startMinute: 480,
  endMinute: 570,
  ...over,
});

describe('assignments handlers', () => {
  it('detects a teacher double-booked in another section', () => {
    const c = detectConflicts(slot('NEW', { sectionId: 'SEC-B', startMinute: 540, endMinute: 600 }), [slot('OLD')]);
    expect(c.map((x) => (x.payload as { conflictType: string }).conflictType)).to.deep.equal(['TEACHER_DOUBLE_BOOKED']);
  });
  it('detects a section slot taken by another teacher, and both kinds at once', () => {
    expect(
      detectConflicts(slot('NEW', { teacherUserId: 'T-2' }), [slot('OLD')]).map(
        (x) => (x.payload as { conflictType: string }).conflictType,
      ),
    ).to.deep.equal(['SECTION_SLOT_TAKEN']);
    expect(detectConflicts(slot('NEW'), [slot('OLD')])).to.have.length(2);
  });
  it('back-to-back slots and other days do not conflict; a redelivered schedule does not conflict with itself', () => {
    expect(detectConflicts(slot('NEW', { startMinute: 570, endMinute: 660 }), [slot('OLD')])).to.deep.equal([]);
    expect(detectConflicts(slot('NEW', { dayOfWeek: 'TUESDAY' }), [slot('OLD')])).to.deep.equal([]);
    expect(detectConflicts(slot('OLD'), [slot('OLD')])).to.deep.equal([]);
  });
  it('rejects an empty or inverted slot', () => {
    expect(validSlot({ ...slot('X'), courseId: 'C', room: null, endMinute: 480 })).to.match(/not a valid time range/);
  });
  it('sums weekly hours and flags overload above the maximum', () => {
    expect(workload('T-1', [10, 12, 6], 30).payload).to.deep.equal({
      teacherUserId: 'T-1',
      weeklyHours: 28,
      maxWeeklyHours: 30,
      overloaded: false,
      assignmentCount: 3,
    });
    expect(workload('T-1', [20, 12], 30).payload).to.include({ weeklyHours: 32, overloaded: true });
  });
});
