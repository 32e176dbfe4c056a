import { expect } from 'chai';
import type { KafkaMessage } from 'kafkajs';
import { DLQ, deadLetterRecord } from './dead-letters';
import { RuleViolationError } from './errors';

describe('dead-letter record headers', () => {
  const message: KafkaMessage = {
    key: Buffer.from('G-1'),
    value: Buffer.from([0, 0, 0, 0, 1]),
    timestamp: '1740000000000',
    attributes: 0,
    offset: '42',
    headers: { eventType: 'grade.recorded' },
  };
  const letter = (error: unknown) =>
    deadLetterRecord({
      message,
      topic: 'grades-events',
      partition: 3,
      group: 'grades',
      error,
      attempts: 1,
      known: {},
      maxRedrives: 3,
      now: new Date(0),
    });

  it('names the broken rule where the error has one, beside the error code', () => {
    const h = letter(new RuleViolationError('grade G-1: score 21 is outside 0..20', 'GRADE_SCORE_RANGE')).headers;
    expect(h[DLQ.rule]).to.equal('GRADE_SCORE_RANGE');
    expect(h[DLQ.errorCode]).to.equal('RULE_VIOLATION');
  });

  it('has no rule header for other failures', () => {
    expect(letter(new RuleViolationError('no code here')).headers).to.not.have.property(DLQ.rule);
    expect(letter(new Error('boom')).headers).to.not.have.property(DLQ.rule);
  });
});
