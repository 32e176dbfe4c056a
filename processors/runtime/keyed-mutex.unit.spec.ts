import { expect } from 'chai';
import { KeyedMutex } from './keyed-mutex';

describe('KeyedMutex', () => {
  it('runs work for one key one at a time, in call order, and other keys in parallel', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const step = (key: string, name: string, ms: number) =>
      m.run(key, async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
      });
    await Promise.all([step('a', 'a1', 20), step('a', 'a2', 1), step('b', 'b1', 5)]);
    expect(log.indexOf('end a1')).to.be.below(log.indexOf('start a2'));
    expect(log.indexOf('start b1')).to.be.below(log.indexOf('end a1'));
  });

  it('keeps going after a failure', async () => {
    const m = new KeyedMutex();
    const failed = m.run('k', () => Promise.reject(new Error('boom')));
    const next = m.run('k', () => Promise.resolve(7));
    expect(await failed.catch((e: Error) => e.message)).to.equal('boom');
    expect(await next).to.equal(7);
  });
});
