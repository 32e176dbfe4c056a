import { expect } from 'chai';
import winston from 'winston';
import type { SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import type { Position } from '../runtime/types';
import { anEvent } from '../testing/gwt';
import { EnrolledGate, enrolledKey, type Claim } from './enrolled';

describe('enrolled-student gate (unit)', () => {
  const logged: unknown[] = [];
  const logger = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
  logger.on('data', (info: unknown) => logged.push(info));
  const completed = (enrollmentId: string, studentUserId: string, sectionId: string) =>
    anEvent('enrollment.completed', { enrollmentId, studentUserId, sectionId, warnings: [] });
  const assigned = (enrollmentId: string, studentUserId: string, sectionId: string) =>
    anEvent('enrollment.section.assigned', { enrollmentId, studentUserId, sectionId });
  const at = (partition: number, offset: number): Position => ({ topic: 'grades-events', partition, offset });
  const claim = (subject: string, studentUserId = 'S-1', sectionId = 'SEC-1'): Claim => ({
    studentUserId,
    sectionId,
    subject,
    rule: 'GRADE_STUDENT_NOT_ENROLLED',
  });
  const grade = (eventId: string) => anEvent('grade.recorded', {}, { eventId });

  it('learns a completed enrollment, and a transfer of a completed one; a section assigned during the saga is no fact', () => {
    const g = new EnrolledGate();
    expect(g.learn(assigned('E-1', 'S-1', 'SEC-1'))).to.equal(undefined); // step 3 of a running saga
    expect(g.knows('S-1', 'SEC-1')).to.equal(false);
    expect(g.learn(completed('E-1', 'S-1', 'SEC-1'))).to.equal(enrolledKey('S-1', 'SEC-1'));
    expect(g.learn(assigned('E-1', 'S-1', 'SEC-2'))).to.equal(enrolledKey('S-1', 'SEC-2')); // a transfer
    // Grow-only: both stay known, and learning again makes nothing new to release.
    expect([g.knows('S-1', 'SEC-1'), g.knows('S-1', 'SEC-2')]).to.deep.equal([true, true]);
    expect(g.learn(completed('E-1', 'S-1', 'SEC-1'))).to.equal(undefined);
    const writes = g.writes().map((w) => w.values);
    expect(writes).to.deep.equal([
      [
        ['S-1', 'S-1'],
        ['SEC-1', 'SEC-2'],
      ],
      [['E-1']],
    ]);
  });

  it('a completion loaded from the store makes a later section.assigned a transfer', () => {
    const g = new EnrolledGate([], ['E-1']);
    expect(g.learn(assigned('E-1', 'S-1', 'SEC-3'))).to.equal(enrolledKey('S-1', 'SEC-3'));
    expect(g.writes().map((w) => w.text)).to.have.length(1); // the fact only: the completion is stored already
  });

  it('releases what waits on a fact in the order read (topic, partition, offset), whatever the order parked', () => {
    const g = new EnrolledGate();
    g.park(grade('c'), claim('grade:C'), at(1, 0));
    g.park(grade('b'), claim('grade:B'), at(0, 7));
    g.park(grade('a'), claim('grade:A'), at(0, 3));
    g.park(grade('other'), claim('grade:O', 'S-2'), at(0, 1));
    const applied: string[] = [];
    const key = g.learn(completed('E-1', 'S-1', 'SEC-1'));
    g.release(key, (e) => (applied.push(e.eventId), []), logger);
    expect(applied).to.deep.equal(['a', 'b', 'c']);
    expect(g.inbox.held().map((r) => r.event.eventId)).to.deep.equal(['other']);
    expect(g.inbox.changes().parked.map((r) => r.event.eventId)).to.deep.equal(['other']); // parked and released in one chunk: never written
  });

  it('a follow-on finds the parked event it waits behind; an event refused on release stays parked and nothing waits behind it', () => {
    const g = new EnrolledGate();
    const first = grade('g1');
    g.park(first, claim('grade:G'), at(0, 1));
    expect(g.behind('grade:G')?.event.eventId).to.equal('g1');
    expect(g.parkedAbout('grade:G').map((e) => e.eventId)).to.deep.equal(['g1']);
    const refused: SchoolEvent[] = [];
    g.release(
      g.learn(completed('E-1', 'S-1', 'SEC-1')),
      (e) => {
        refused.push(e);
        throw new RuleViolationError('no', 'GRADE_DUPLICATE');
      },
      logger,
    );
    expect(refused).to.have.length(1);
    expect(logged.map((i) => [(i as { level: string }).level, (i as { message: string }).message])).to.deep.equal([
      ['error', 'parked event refused on release; it stays parked'],
    ]);
    expect(g.inbox.held()).to.have.length(1); // never dropped
    expect(g.behind('grade:G')).to.equal(undefined);
    expect(() =>
      g.release(
        enrolledKey('S-1', 'SEC-1'),
        () => {
          throw new Error('store down');
        },
        logger,
      ),
    ).to.throw('store down'); // anything but a refusal fails the chunk (retried), as on arrival
  });
});
