import { expect } from 'chai';
import { composeStudent360 } from './student360';

describe('student 360 composed at query time', () => {
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
  const doc = { userId: 'S-1', profile, parents: ['P-1'] };

  it('nests averages by period and course and counts only the statuses that occurred', () => {
    const s = composeStudent360(
      doc,
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

  it('leaves both out when the projections know nothing of the student yet', () => {
    expect(composeStudent360(doc, [], undefined)).to.deep.equal(doc);
    expect(composeStudent360(doc, [], { present: 0, absent: 0, late: 0, excused: 0 })).to.deep.equal(doc);
  });
});
