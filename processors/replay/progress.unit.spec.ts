import { expect } from 'chai';
import { progressOf, progressPrinter, renderProgress } from './progress';

describe('replay progress (pure)', () => {
  const start = new Map([
    ['t:0', 0],
    ['t:1', 10],
  ]);
  const target = new Map([
    ['t:0', 100],
    ['t:1', 30],
  ]);

  it('counts done against total per partition from the start offsets, clamped to the target', () => {
    const p = progressOf(
      start,
      target,
      new Map([
        ['t:0', 50],
        ['t:1', 99],
      ]),
      10,
    );
    expect(p.partitions).to.deep.equal([
      { partition: 't:0', done: 50, total: 100 },
      { partition: 't:1', done: 20, total: 20 },
    ]);
    expect(p).to.include({ done: 70, total: 120, ratePerSec: 7 });
    expect(p.etaSec).to.be.closeTo(50 / 7, 1e-9);
    expect(progressOf(start, target, new Map(), 0).etaSec).to.equal(undefined);
  });

  it('prints a bar redrawn in place on a TTY, and plain lines at most every five seconds otherwise', () => {
    const p = progressOf(start, target, new Map([['t:0', 50]]), 10);
    const written: string[] = [];
    const stream = (isTTY: boolean) => ({ isTTY, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream;

    const tty = progressPrinter('users', stream(true));
    tty.print(p);
    tty.print(p);
    tty.end();
    expect(written).to.deep.equal([`\r${renderProgress('users', p, true)}\u001b[K`, `\r${renderProgress('users', p, true)}\u001b[K`, '\n']);
    expect(written[0]).to.include('[###').and.include('50/120');

    written.length = 0;
    const logs = progressPrinter('users', stream(false));
    logs.print(p);
    logs.print(p); // within five seconds: not printed again
    logs.end();
    expect(written).to.deep.equal([`${renderProgress('users', p, false)}\n`]);
    expect(written[0]).to.include('t:0 50/100, t:1 0/20');
  });
});
