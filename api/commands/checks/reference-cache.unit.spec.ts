import { expect } from 'chai';
import { ReferenceCache } from './reference-cache';

describe('ReferenceCache (rules reference data across commands)', () => {
  let t = 0;
  const now = () => t;
  let reads = 0;
  const read = (v: string | undefined) => () => {
    reads++;
    return Promise.resolve(v);
  };
  beforeEach(() => {
    t = 1000;
    reads = 0;
  });

  it('answers a found value from memory until its time is up, then reads again', async () => {
    const c = new ReferenceCache(2000, now);
    expect(await c.get('section:A', read('A1'))).to.equal('A1');
    t += 1999;
    expect(await c.get('section:A', read('A2'))).to.equal('A1');
    t += 1;
    expect(await c.get('section:A', read('A3'))).to.equal('A3');
    expect(reads).to.equal(2);
  });

  it('never keeps "not found": the next command reads again', async () => {
    const c = new ReferenceCache(2000, now);
    expect(await c.get('section:NEW', read(undefined))).to.equal(undefined);
    expect(await c.get('section:NEW', read('NEW'))).to.equal('NEW');
    expect(reads).to.equal(2);
  });

  it('a grow-only set: a cached member answers from memory, any other is read fresh (and never refused from memory)', async () => {
    const c = new ReferenceCache(2000, now);
    let children = ['S-1'];
    let listReads = 0;
    const list = () => {
      listReads++;
      return Promise.resolve(children);
    };
    expect(await c.holds('children:P', 'S-1', list)).to.equal(true);
    expect(await c.holds('children:P', 'S-1', list)).to.equal(true);
    expect(listReads).to.equal(1);
    children = ['S-1', 'S-2']; // linked meanwhile
    expect(await c.holds('children:P', 'S-2', list)).to.equal(true);
    expect(await c.holds('children:P', 'S-3', list)).to.equal(false);
    expect(listReads).to.equal(3);
    t += 2000;
    expect(await c.holds('children:P', 'S-1', list)).to.equal(true);
    expect(listReads).to.equal(4); // expired: read again
  });

  it('with ttl 0 reads every time; bounded by maxEntries', async () => {
    const off = new ReferenceCache(0, now);
    await off.get('k', read('v'));
    await off.get('k', read('v'));
    expect(reads).to.equal(2);
    const small = new ReferenceCache(2000, now, 2);
    for (const k of ['a', 'b', 'c']) await small.get(k, read(k));
    expect(await small.get('a', read('a2'))).to.equal('a2'); // flushed when the third arrived
  });
});
