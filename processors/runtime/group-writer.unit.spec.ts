import { expect } from 'chai';
import { GroupWriter, MergedFailure } from './group-writer';
import type { ChunkResult, Ready } from './store';

const chunk = (partition: number, from: number, n: number): Ready[] =>
  Array.from({ length: n }, (_, i) => ({ position: { topic: 't', partition, offset: from + i }, event: undefined }));

/** A store call that records what it was given and answers each record with its offset as outcome. */
function recordingWrite() {
  const calls: Ready[][] = [];
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  return {
    calls,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
    write: async (records: Ready[]): Promise<ChunkResult> => {
      calls.push(records);
      await gate;
      return { outcomes: records.map((r) => String(r.position.offset) as never), emitted: [] };
    },
  };
}

describe('GroupWriter (one writer per processor instance)', () => {
  it('merges the chunks handed in while a call runs into the next call, in order, and gives each its own outcomes', async () => {
    const w = recordingWrite();
    const writer = new GroupWriter(w.write, 100);
    w.hold();
    const first = writer.submit(chunk(0, 0, 2));
    const second = writer.submit(chunk(1, 10, 3));
    const third = writer.submit(chunk(2, 20, 1));
    w.release();
    w.hold();
    await first;
    w.release();
    expect((await first).outcomes).to.deep.equal(['0', '1']);
    expect((await second).outcomes).to.deep.equal(['10', '11', '12']);
    expect((await third).outcomes).to.deep.equal(['20']);
    expect(w.calls.map((c) => c.map((r) => r.position.offset))).to.deep.equal([
      [0, 1],
      [10, 11, 12, 20],
    ]);
  });

  it('never merges beyond its bound', async () => {
    const w = recordingWrite();
    const writer = new GroupWriter(w.write, 4);
    w.hold();
    const all = [
      writer.submit(chunk(0, 0, 1)),
      writer.submit(chunk(1, 0, 3)),
      writer.submit(chunk(2, 0, 2)),
      writer.submit(chunk(3, 0, 2)),
    ];
    w.release();
    await Promise.all(all);
    expect(w.calls.map((c) => c.length)).to.deep.equal([1, 3, 4]);
  });

  it('a merged call that fails reports a MergedFailure to every chunk in it; a chunk alone gets the error itself', async () => {
    const boom = new Error('poison in one of them');
    let hold: () => void = () => undefined;
    const gate = new Promise<void>((r) => (hold = r));
    let call = 0;
    const writer = new GroupWriter(async () => {
      if (call++ === 0) await gate;
      throw boom;
    }, 100);
    const alone = writer.submit(chunk(0, 0, 1));
    const a = writer.submit(chunk(1, 0, 1));
    const b = writer.submit(chunk(2, 0, 1));
    hold();
    const results = await Promise.allSettled([alone, a, b]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : 'ok'))).to.deep.equal([
      'Error',
      'MergedFailure',
      'MergedFailure',
    ]);
    expect(((results[1] as PromiseRejectedResult).reason as MergedFailure).cause).to.equal(boom);
  });
});
