import { expect } from 'chai';
import { mapLimit } from './map-limit';

describe('mapLimit', () => {
  it('keeps the order of the items and never has more than the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).to.deep.equal([50, 10, 40, 20, 30, 0, 60]);
    expect(most).to.equal(3);
  });
  it('rejects with the first failure', async () => {
    const failing = mapLimit([1, 2, 3], 2, (n) => (n === 2 ? Promise.reject(new Error('two')) : Promise.resolve(n)));
    const e = await failing.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(String(e)).to.include('two');
  });
});
