import { expect } from 'chai';
import { anEvent } from '../testing/gwt';
import { EnrolledFacts, enrolledFact } from './enrolled';

describe('enrollment facts (unit)', () => {
  const completed = (enrollmentId: string, studentUserId: string, sectionId: string) =>
    anEvent('enrollment.completed', { enrollmentId, studentUserId, sectionId, warnings: [] });
  const assigned = (enrollmentId: string, studentUserId: string, sectionId: string) =>
    anEvent('enrollment.section.assigned', { enrollmentId, studentUserId, sectionId });

  it('learns a completed enrollment, and a transfer of a completed one; a section assigned during the saga is no fact', () => {
    const f = new EnrolledFacts();
    expect(f.learn(assigned('E-1', 'S-1', 'SEC-1'))).to.equal(undefined); // step 3 of a running saga
    expect(f.learn(completed('E-1', 'S-1', 'SEC-1'))).to.equal(enrolledFact('S-1', 'SEC-1'));
    expect(f.learn(assigned('E-1', 'S-1', 'SEC-2'))).to.equal(enrolledFact('S-1', 'SEC-2')); // a transfer
    expect(f.learn(completed('E-1', 'S-1', 'SEC-1'))).to.equal(enrolledFact('S-1', 'SEC-1')); // again: written once
    expect(f.writes().map((w) => w.values)).to.deep.equal([
      [
        ['S-1', 'S-1'],
        ['SEC-1', 'SEC-2'],
      ],
      [['E-1']],
    ]);
  });

  it('a completion loaded from the store makes a later section.assigned a transfer; a fact loaded is not written again', () => {
    const f = new EnrolledFacts(new Set([enrolledFact('S-1', 'SEC-1')]), ['E-1']);
    expect(f.learn(assigned('E-1', 'S-1', 'SEC-3'))).to.equal(enrolledFact('S-1', 'SEC-3'));
    expect(f.learn(assigned('E-1', 'S-1', 'SEC-1'))).to.equal(enrolledFact('S-1', 'SEC-1'));
    expect(f.writes().map((w) => w.values)).to.deep.equal([[['S-1'], ['SEC-3']]]); // the new fact only
  });
});
