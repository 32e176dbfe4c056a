import { expect } from 'chai';
import { detectConflicts, slotViolation, workload, type Slot } from './handlers';

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
  it('SCHEDULE_SLOT_INVALID: a slot ends after it starts, within the school day; names the field at fault', () => {
    const day = { startMinute: 450, endMinute: 1080 }; // 07:30-18:00
    const at = (startMinute: number, endMinute: number) => slotViolation({ startMinute, endMinute }, day);
    expect(at(480, 570)).to.equal(undefined);
    expect(at(450, 1080), 'the whole school day').to.equal(undefined);
    expect(at(480, 480)).to.deep.equal({ field: 'endMinute', message: 'slot 480-480 does not end after it starts' });
    expect(at(600, 540)).to.deep.equal({ field: 'endMinute', message: 'slot 600-540 does not end after it starts' });
    expect(at(420, 480)).to.deep.equal({ field: 'startMinute', message: 'slot starts at minute 420, before the school day 07:30-18:00' });
    expect(at(1020, 1110)).to.deep.equal({ field: 'endMinute', message: 'slot ends at minute 1110, after the school day 07:30-18:00' });
    expect(slotViolation({ startMinute: 0, endMinute: 1440 }, { startMinute: 0, endMinute: 1440 }), 'the default day').to.equal(undefined);
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
