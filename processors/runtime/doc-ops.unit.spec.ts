import { expect } from 'chai';
import { applyToDoc, CoalescedUpdate, type Doc, type DocUpdate } from './doc-ops';

const u = (ops: Omit<DocUpdate, 'collection' | 'id'>): DocUpdate => ({ collection: 'c', id: 'x', ...ops });

/** What the server would hold after applying the coalesced update to `before` (same in-memory semantics). */
function serverSide(before: Doc, update: Record<string, Record<string, unknown>>): Doc {
  const doc = structuredClone(before);
  const each = (v: unknown): unknown[] => (v as { $each: unknown[] }).$each;
  for (const [p, v] of Object.entries(update.$set ?? {})) applyToDoc(doc, u({ set: { [p]: v } }));
  for (const [p, v] of Object.entries(update.$addToSet ?? {})) for (const x of each(v)) applyToDoc(doc, u({ addToSet: { [p]: x } }));
  for (const [p, v] of Object.entries(update.$inc ?? {})) applyToDoc(doc, u({ inc: { [p]: v as number } }));
  for (const [p, v] of Object.entries(update.$push ?? {})) for (const x of each(v)) applyToDoc(doc, u({ push: { [p]: x } }));
  return doc;
}

describe('document updates of a Mongo fold', () => {
  it('applies $set on dotted paths, $addToSet without duplicates, $inc from nothing, $push in order', () => {
    const doc: Doc = { _id: 'x', profile: { status: 'ACTIVE' }, parents: ['P1'] };
    applyToDoc(doc, u({ set: { 'profile.status': 'DEACTIVATED', 'a.b.c': 1 }, addToSet: { parents: 'P1' }, inc: { n: 2 } }));
    applyToDoc(doc, u({ addToSet: { parents: 'P2' }, inc: { n: 3 }, push: { h: { s: 1 } } }));
    applyToDoc(doc, u({ push: { h: { s: 2 } } }));
    expect(doc).to.deep.equal({
      _id: 'x',
      profile: { status: 'DEACTIVATED' },
      a: { b: { c: 1 } },
      parents: ['P1', 'P2'],
      n: 5,
      h: [{ s: 1 }, { s: 2 }],
    });
  });

  it('coalesces a chunk of updates into one: last $set wins, $each for sets and pushes, summed $inc', () => {
    const c = new CoalescedUpdate();
    const updates = [
      u({ set: { name: 'a' }, inc: { n: 1 }, addToSet: { tags: 't1' }, push: { h: 1 } }),
      u({ set: { name: 'b' }, inc: { n: 2 }, addToSet: { tags: 't1' }, push: { h: 2 } }),
      u({ addToSet: { tags: 't2' } }),
    ];
    const folded: Doc = { _id: 'x' };
    for (const x of updates) {
      c.add(x);
      applyToDoc(folded, x);
    }
    const update = c.toUpdate(folded);
    expect(update).to.deep.equal({
      $set: { name: 'b' },
      $inc: { n: 3 },
      $addToSet: { tags: { $each: ['t1', 't2'] } },
      $push: { h: { $each: [1, 2] } },
    });
    expect(serverSide({ _id: 'x' }, update)).to.deep.equal(folded);
  });

  it('sets the folded top-level field where two updates touch one path or a path and its parent', () => {
    const before: Doc = { _id: 'x', profile: { status: 'ACTIVE', email: 'e' }, n: 1, other: 'kept' };
    const updates = [
      u({ set: { profile: { status: 'ACTIVE', email: 'f' } } }),
      u({ set: { 'profile.status': 'DEACTIVATED' } }),
      u({ set: { n: 5 } }),
      u({ inc: { n: 1 } }),
    ];
    const c = new CoalescedUpdate();
    const folded = structuredClone(before);
    for (const x of updates) {
      c.add(x);
      applyToDoc(folded, x);
    }
    const update = c.toUpdate(folded);
    expect(update).to.deep.equal({ $set: { profile: { status: 'DEACTIVATED', email: 'f' }, n: 6 } });
    expect(serverSide(before, update)).to.deep.equal(folded);
  });

  it('is idempotent (may be written without reading the document) only with $set and $addToSet on unrelated paths', () => {
    const of = (...updates: DocUpdate[]): CoalescedUpdate => {
      const c = new CoalescedUpdate();
      for (const x of updates) c.add(x);
      return c;
    };
    const setAndAdd = of(u({ set: { a: 1, 'b.c': 2 } }), u({ addToSet: { tags: 't' } }), u({ set: { a: 3 } }));
    expect(setAndAdd.idempotent()).to.equal(true);
    const update = setAndAdd.toUpdate({ _id: 'x' });
    const once = serverSide({ _id: 'x', tags: ['s'] }, update);
    expect(serverSide(once, update)).to.deep.equal(once);
    expect(of(u({ inc: { n: 1 } })).idempotent()).to.equal(false);
    expect(of(u({ push: { log: 'x' } })).idempotent()).to.equal(false);
    expect(of(u({ set: { profile: {} } }), u({ set: { 'profile.status': 'A' } })).idempotent()).to.equal(false);
  });
});
