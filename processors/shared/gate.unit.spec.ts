import { expect } from 'chai';
import winston from 'winston';
import type { SchoolEvent } from '../../schemas/generated/events';
import { RuleViolationError } from '../runtime/errors';
import type { Emitted, Position } from '../runtime/types';
import { anEvent } from '../testing/gwt';
import { factKey, FactGate, type Claim, type Need } from './gate';

describe('fact gate (unit)', () => {
  const logged: Array<{ level: string; message: string }> = [];
  const logger = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
  logger.on('data', (info: { level: string; message: string }) => logged.push(info));
  const at = (partition: number, offset: number): Position => ({ topic: 'grades-events', partition, offset });
  const claim = (subject: string, studentUserId = 'S-1'): Claim => ({ studentUserId, sectionId: 'SEC-1', subject });
  const ENROLLED: Need = { fact: factKey('enrolled', 'S-1', 'SEC-1'), rule: 'GRADE_STUDENT_NOT_ENROLLED' };
  const COURSE: Need = { fact: factKey('course', 'SEC-1', 'MATH'), rule: 'GRADE_COURSE_NOT_IN_SECTION' };
  const grade = (eventId: string) => anEvent('grade.recorded', {}, { eventId });

  /** A processor's arrival path in miniature: park on the first unknown need, apply otherwise. */
  const admitting =
    (g: FactGate, needs: Need[], applied: string[]) =>
    (e: SchoolEvent, position: Position): Emitted => {
      const need = g.firstUnknown(needs);
      if (need) g.park(e, claim(`grade:${e.eventId}`), need, position);
      else applied.push(e.eventId);
      return [];
    };

  it('factKey joins kind and parts with a separator ids do not hold', () => {
    expect(factKey('course', 'SEC-1', 'MATH')).to.equal('course\u001fSEC-1\u001fMATH');
    expect(factKey('a', 'b:c')).to.not.equal(factKey('a:b', 'c'));
  });

  it('learns a fact once; firstUnknown answers the first need not known, in the order given', () => {
    const g = new FactGate([COURSE.fact]);
    expect(g.firstUnknown([ENROLLED, COURSE])).to.equal(ENROLLED);
    expect(g.learn(ENROLLED.fact)).to.equal(true);
    expect(g.learn(ENROLLED.fact)).to.equal(false); // grow-only: nothing new to release
    expect(g.firstUnknown([ENROLLED, COURSE])).to.equal(undefined);
  });

  it('releases what waits on a fact in the order read (topic, partition, offset), whatever the order parked', () => {
    const g = new FactGate();
    g.park(grade('c'), claim('grade:C'), ENROLLED, at(1, 0));
    g.park(grade('b'), claim('grade:B'), ENROLLED, at(0, 7));
    g.park(grade('a'), claim('grade:A'), ENROLLED, at(0, 3));
    g.park(grade('other'), claim('grade:O', 'S-2'), { ...ENROLLED, fact: factKey('enrolled', 'S-2', 'SEC-1') }, at(0, 1));
    const applied: string[] = [];
    g.learn(ENROLLED.fact);
    g.release(ENROLLED.fact, admitting(g, [ENROLLED], applied), logger);
    expect(applied).to.deep.equal(['a', 'b', 'c']);
    expect(g.inbox.held().map((r) => r.event.eventId)).to.deep.equal(['other']);
    expect(g.inbox.changes().parked.map((r) => r.event.eventId)).to.deep.equal(['other']); // parked and released in one chunk: never written
  });

  it('a released event waiting on another fact moves to it: one row updated, not deleted', () => {
    const loaded = { key: ENROLLED.fact, event: grade('g1'), ...claim('grade:G'), rule: ENROLLED.rule, position: at(0, 1), refused: false };
    const g = new FactGate([], [loaded]);
    const applied: string[] = [];
    g.learn(ENROLLED.fact);
    g.release(ENROLLED.fact, admitting(g, [ENROLLED, COURSE], applied), logger);
    expect(applied).to.deep.equal([]);
    expect(g.inbox.held().map((r) => [r.key, r.rule])).to.deep.equal([[COURSE.fact, COURSE.rule]]);
    const writes = g.writes();
    expect(writes.map((w) => w.text.trim().split(/\s/)[0])).to.deep.equal(['insert']); // no delete of the moved row
    expect(writes[0]!.text).to.match(/on conflict \(student_user_id, section_id, event_id\) do update set fact = excluded.fact/);
    expect(writes[0]!.values[10]).to.deep.equal([COURSE.fact]);
    g.learn(COURSE.fact);
    g.release(COURSE.fact, admitting(g, [ENROLLED, COURSE], applied), logger);
    expect(applied).to.deep.equal(['g1']);
  });

  it('a follow-on waits behind a parked event; one refused on release stays, marked refused, and holds nothing back', () => {
    const g = new FactGate();
    g.park(grade('g1'), claim('grade:G'), ENROLLED, at(0, 1));
    expect(g.behind('grade:G')?.event.eventId).to.equal('g1');
    expect(g.parkedAbout('grade:G').map((e) => e.eventId)).to.deep.equal(['g1']);
    const refused: SchoolEvent[] = [];
    g.learn(ENROLLED.fact);
    g.release(
      ENROLLED.fact,
      (e) => {
        refused.push(e);
        throw new RuleViolationError('no', 'GRADE_DUPLICATE');
      },
      logger,
    );
    expect(refused).to.have.length(1);
    expect(logged.map((i) => [i.level, i.message])).to.deep.equal([['error', 'parked event refused on release; it stays parked']]);
    expect(g.inbox.held().map((r) => r.refused)).to.deep.equal([true]); // never dropped
    expect(g.behind('grade:G')).to.equal(undefined);
    expect(g.writes()[0]!.values.at(-1)).to.deep.equal([true]); // parked in this chunk: inserted refused
    const storeDown = () => g.release(COURSE.fact, () => { throw new Error('store down'); }, logger); // prettier-ignore
    expect(storeDown).to.not.throw(); // nothing waits on it
    g.park(grade('g2'), claim('grade:H'), COURSE, at(0, 2));
    g.learn(COURSE.fact);
    expect(storeDown).to.throw('store down'); // anything but a refusal fails the chunk (retried), as on arrival
  });
});
