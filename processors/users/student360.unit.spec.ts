import { expect } from 'chai';
import { composeStudent360, enrollmentView, type EnrollmentRow } from './student360';

const profile = {
  userType: 'STUDENT' as const,
  firstName: 'Ana',
  lastName: 'L',
  email: 'a@x',
  phone: null,
  birthDate: null,
  roles: ['STUDENT' as const],
  status: 'ACTIVE' as const,
};

describe('student 360 composed at query time', () => {
  const doc = { userId: 'S-1', profile, parents: ['P-1'] };

  it('nests averages by period and course and counts only the statuses that occurred', () => {
    const s = composeStudent360(
      doc,
      [],
      [
        { periodId: 'T1', courseId: 'MATH', average: 81.5 },
        { periodId: 'T1', courseId: 'ART', average: 90 },
        { periodId: 'T2', courseId: 'MATH', average: 70 },
      ],
      { present: 3, absent: 1, late: 0, excused: 0 },
    );
    expect(s).to.deep.equal({
      userId: 'S-1',
      profile,
      parents: ['P-1'],
      averages: { T1: { MATH: 81.5, ART: 90 }, T2: { MATH: 70 } },
      attendance: { PRESENT: 3, ABSENT: 1 },
    });
  });

  it('a student marked in two sections (a transfer): the totals, and each section on its own', () => {
    const sections = [
      { sectionId: 'SEC-2', present: 2, absent: 0, late: 1, excused: 0 },
      { sectionId: 'SEC-1', present: 1, absent: 1, late: 0, excused: 0 },
      { sectionId: 'SEC-3', present: 0, absent: 0, late: 0, excused: 0 },
    ];
    const s = composeStudent360(doc, [], [], { present: 3, absent: 1, late: 1, excused: 0, sections });
    expect(s.attendance).to.deep.equal({ PRESENT: 3, ABSENT: 1, LATE: 1 });
    expect(s.attendanceBySection).to.deep.equal({ 'SEC-2': { PRESENT: 2, LATE: 1 }, 'SEC-1': { PRESENT: 1, ABSENT: 1 } });
  });

  it('leaves both out when the projections know nothing of the student yet', () => {
    expect(composeStudent360(doc, [], [], undefined)).to.deep.equal(doc);
    expect(composeStudent360(doc, [], [], { present: 0, absent: 0, late: 0, excused: 0 })).to.deep.equal(doc);
  });
});

describe("student 360: the current enrollment (from academic's projection)", () => {
  const row = (enrollmentId: string, status: string, sectionId = 'SEC-A'): EnrollmentRow => ({
    enrollmentId,
    sectionId,
    academicYearId: '2025',
    status,
  });

  it('is the newest request that completed, with the section academic holds (after a transfer, the new one)', () => {
    const rows = [row('ENR-3', 'FAILED'), row('ENR-2', 'COMPLETED', 'SEC-B'), row('ENR-1', 'COMPLETED')]; // newest first
    expect(enrollmentView(rows)).to.deep.equal({ enrollmentId: 'ENR-2', sectionId: 'SEC-B', academicYearId: '2025', status: 'COMPLETED' });
  });

  it('a failed or running request never hides the seat the student holds', () => {
    expect(enrollmentView([row('ENR-8', 'SEATED'), row('ENR-7', 'FAILED'), row('ENR-6', 'COMPLETED')])?.enrollmentId).to.equal('ENR-6');
  });

  it('without a completed one: the newest still running (any saga step), else the newest failed', () => {
    for (const running of ['PENDING', 'SEATED', 'COMPENSATING'])
      expect(enrollmentView([row('ENR-7', 'FAILED'), row('ENR-5', running)])).to.deep.equal({
        enrollmentId: 'ENR-5',
        sectionId: 'SEC-A',
        academicYearId: '2025',
        status: 'PENDING',
      });
    expect(enrollmentView([row('ENR-7', 'COMPENSATION_FAILED'), row('ENR-5', 'FAILED')])).to.deep.include({
      enrollmentId: 'ENR-7',
      status: 'FAILED',
    });
    expect(enrollmentView([])).to.equal(undefined);
  });

  it('is added to the composed 360', () => {
    expect(composeStudent360({ userId: 'S-1', profile }, [row('ENR-1', 'COMPLETED')], [], undefined).enrollment?.status).to.equal(
      'COMPLETED',
    );
  });
});
