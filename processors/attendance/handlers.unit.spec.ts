import { expect } from 'chai';
import { loadConfig } from '../../lib/config';
import { anEvent } from '../testing/gwt';
import { absencePattern, initializeAttendance, tardinessPattern } from './handlers';

const rules = loadConfig({}).rules; // 3 absences in 14 days, 4 tardies a month

describe('attendance handlers', () => {
  it('raises one alert when unjustified absences reach the threshold inside the window', () => {
    expect(absencePattern('S', 'SEC', '2025-03-12', ['2025-03-03', '2025-03-12'], rules)).to.deep.equal([]);
    const alert = absencePattern('S', 'SEC', '2025-03-14', ['2025-03-03', '2025-03-12', '2025-03-14'], rules);
    expect(alert).to.have.length(1);
    expect(alert[0]?.payload).to.deep.equal({
      alertId: 'S:absences:2025-03-14',
      studentUserId: 'S',
      sectionId: 'SEC',
      patternType: 'ABSENCES_IN_WINDOW',
      count: 3,
      threshold: 3,
      fromDate: '2025-03-01',
      toDate: '2025-03-14',
    });
    // A fourth absence in the same window does not alert again.
    expect(absencePattern('S', 'SEC', '2025-03-14', ['2025-03-03', '2025-03-12', '2025-03-13', '2025-03-14'], rules)).to.deep.equal([]);
  });

  it('ignores absences outside the rolling window', () => {
    expect(absencePattern('S', 'SEC', '2025-03-30', ['2025-03-01', '2025-03-02', '2025-03-30'], rules)).to.deep.equal([]);
  });

  it('an absence justified after an alert: the day no longer counts (the caller passes unjustified days only)', () => {
    expect(absencePattern('S', 'SEC', '2025-03-20', ['2025-03-12', '2025-03-20'], rules)).to.deep.equal([]);
  });

  it('raises one tardiness alert per month at the threshold', () => {
    const dates = ['2025-03-03', '2025-03-05', '2025-03-10', '2025-03-18'];
    expect(tardinessPattern('S', 'SEC', '2025-03-18', dates, rules)[0]?.payload).to.include({
      patternType: 'TARDIES_IN_MONTH',
      count: 4,
      fromDate: '2025-03-01',
      toDate: '2025-03-31',
    });
    expect(tardinessPattern('S', 'SEC', '2025-04-01', [...dates, '2025-04-01'], rules)).to.deep.equal([]);
  });

  it('step 5 needs a schedule', () => {
    const p = anEvent('enrollment.grades.initialized').payload;
    expect(initializeAttendance(p, 0).map((e) => e.type)).to.deep.equal(['enrollment.attendance.initialization.failed']);
    expect(initializeAttendance(p, 2).map((e) => e.type)).to.deep.equal(['enrollment.attendance.initialized']);
  });
});
