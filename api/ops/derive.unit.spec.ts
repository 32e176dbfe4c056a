import { expect } from 'chai';
import { isStale, parseDeadLetterId, processorState, toJson } from './derive';

describe('ops: processor status', () => {
  const fresh = { circuit: 'closed' as const, stale: false };
  it('is down with no instance, or only stale ones (whatever their circuit)', () => {
    expect(processorState(0, [])).to.equal('down');
    expect(processorState(0, [{ circuit: 'open', stale: true }])).to.equal('down');
  });
  it('is circuit-open when a fresh instance has an open circuit, before lag counts', () => {
    expect(processorState(5000, [fresh, { circuit: 'open', stale: false }])).to.equal('circuit-open');
    expect(processorState(0, [{ circuit: 'half-open', stale: false }])).to.equal('ok');
  });
  it('is lagging above 1000 records, ok at 1000', () => {
    expect(processorState(1001, [fresh])).to.equal('lagging');
    expect(processorState(1000, [fresh, { circuit: 'open', stale: true }])).to.equal('ok');
  });
  it('calls a heartbeat stale after three intervals', () => {
    expect(isStale(15_000, 5000)).to.equal(false);
    expect(isStale(15_001, 5000)).to.equal(true);
  });
});

describe('ops: dead-letter ids', () => {
  it('parses <topic>:<partition>:<offset>, normalising the numbers', () => {
    expect(parseDeadLetterId('user-events.dlq:2:17')).to.deep.equal({
      id: 'user-events.dlq:2:17',
      topic: 'user-events.dlq',
      partition: 2,
      offset: '17',
    });
    expect(parseDeadLetterId('e2e_ab.user-events.parked:007:0042')?.id).to.equal('e2e_ab.user-events.parked:7:42');
    expect(parseDeadLetterId('t:0:9223372036854775807')?.offset).to.equal('9223372036854775807');
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'user-events.dlq', 'user-events.dlq:1', 'a:b:c', 'x:1:-1', 'a b:1:2', 'a/b:1:2', 'a:1:2:3', 'a:1234567890:1'])
      expect(parseDeadLetterId(bad), bad).to.equal(undefined);
  });
});

describe('ops: decoded events as JSON', () => {
  it('turns Buffers, bigints and Dates into strings, deeply', () => {
    expect(toJson({ a: Buffer.from([1, 255]), b: [10n, new Date(0)], c: { d: null, e: 'x', f: 1.5 } })).to.deep.equal({
      a: '01ff',
      b: ['10', '1970-01-01T00:00:00.000Z'],
      c: { d: null, e: 'x', f: 1.5 },
    });
  });
});
