import { expect } from 'chai';
import { summarise, type SectionAttendance } from './queries';

describe('attendance summary across sections (unit)', () => {
  const section = (sectionId: string, n: number, updatedAt: string): SectionAttendance => ({
    sectionId,
    present: n,
    absent: 1,
    late: 0,
    excused: 2,
    unjustifiedAbsences: 1,
    tardies: n,
    updatedAt,
  });

  it('totals every section, names the one changed last, and keeps each', () => {
    const newest = section('SEC-2', 5, '2025-04-01T08:00:00.000Z');
    const older = section('SEC-1', 3, '2025-03-01T08:00:00.000Z');
    expect(summarise('S-1', [newest, older])).to.deep.equal({
      studentUserId: 'S-1',
      sectionId: 'SEC-2',
      present: 8,
      absent: 2,
      late: 0,
      excused: 4,
      unjustifiedAbsences: 2,
      tardies: 8,
      updatedAt: '2025-04-01T08:00:00.000Z',
      sections: [newest, older],
    });
  });

  it('none without a section', () => {
    expect(summarise('S-1', [])).to.equal(undefined);
  });
});
