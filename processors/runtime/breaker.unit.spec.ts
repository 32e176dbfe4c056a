import { expect } from 'chai';
import { seededRandom } from '../../lib/rng';
import { backoffMs, CircuitBreaker } from './breaker';
import { classify, isContention } from './errors';
import { EventValidationError, RegistryUnavailableError } from '../../lib/errors';

describe('circuit breaker', () => {
  let t = 0;
  const make = (): CircuitBreaker => new CircuitBreaker({ failures: 5, openMs: 30000, halfOpenCalls: 3, now: () => t });
  beforeEach(() => {
    t = 0;
  });

  it('opens after 5 consecutive failures, not before', () => {
    const b = make();
    for (let i = 0; i < 4; i++) b.failure();
    expect(b.current).to.equal('closed');
    b.failure();
    expect(b.current).to.equal('open');
    expect(b.waitMs()).to.equal(30000);
  });

  it('a success resets the failure count', () => {
    const b = make();
    for (let i = 0; i < 4; i++) b.failure();
    b.success();
    for (let i = 0; i < 4; i++) b.failure();
    expect(b.current).to.equal('closed');
  });

  it('probes after 30 s and closes after 3 half-open successes', () => {
    const b = make();
    for (let i = 0; i < 5; i++) b.failure();
    t = 29999;
    expect(b.current).to.equal('open');
    t = 30000;
    expect(b.current).to.equal('half-open');
    b.success();
    b.success();
    expect(b.current).to.equal('half-open');
    b.success();
    expect(b.current).to.equal('closed');
  });

  it('re-opens on a failure while half-open', () => {
    const b = make();
    for (let i = 0; i < 5; i++) b.failure();
    t = 30000;
    b.success();
    b.failure();
    expect(b.current).to.equal('open');
    expect(b.waitMs()).to.equal(30000);
  });
});

describe('backoff and failure classes', () => {
  it('doubles from 1 s up to the 16 s cap, each delay in the upper half of its step', () => {
    const attempts = [1, 2, 3, 4, 5, 6, 7];
    expect(attempts.map((a) => backoffMs(a, 1000, 16000, () => 0))).to.deep.equal([500, 1000, 2000, 4000, 8000, 8000, 8000]);
    expect(attempts.map((a) => backoffMs(a, 1000, 16000, () => 1))).to.deep.equal([1000, 2000, 4000, 8000, 16000, 16000, 16000]);
  });

  it('spreads the retries of instances that failed together (jitter)', () => {
    const rnd = seededRandom(7);
    const delays = Array.from({ length: 200 }, () => backoffMs(3, 1000, 16000, rnd));
    expect(Math.min(...delays)).to.be.at.least(2000);
    expect(Math.max(...delays)).to.be.at.most(4000);
    expect(new Set(delays).size, 'distinct delays among 200 instances').to.be.greaterThan(150);
    // Default source: Math.random, not a constant.
    expect(new Set(Array.from({ length: 50 }, () => backoffMs(5, 1000, 16000))).size).to.be.greaterThan(1);
  });

  it('treats connection failures as transient and record problems as permanent', () => {
    expect(classify(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).to.equal('transient');
    expect(classify(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).to.equal(
      'transient',
    );
    expect(classify(Object.assign(new Error('duplicate key'), { code: '23505' }))).to.equal('permanent');
    expect(classify(new RegistryUnavailableError('down'))).to.equal('transient');
    expect(classify(new EventValidationError('bad', ['payload.x']))).to.equal('permanent');
    expect(classify(new TypeError('handler bug'))).to.equal('permanent');
  });

  it('treats lock contention as transient but not as the store being down', () => {
    const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    expect(classify(deadlock)).to.equal('transient');
    expect(isContention(deadlock)).to.equal(true);
    expect(isContention(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).to.equal(false);
  });
});
