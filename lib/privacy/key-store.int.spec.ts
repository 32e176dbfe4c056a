import { expect } from 'chai';
import crypto from 'node:crypto';
import type pg from 'pg';
import { testConfig } from '../../test/support';
import { createPgPool } from '../clients/pg';
import { KeyUnwrapError, SubjectErasedError, UnknownKekError } from './errors';
import { decryptField, encryptField, type EncryptedValue, type FieldContext } from './field-cipher';
import { LocalKek, type KeyEncryptionKey } from './kek';
import { PgDataKeyStore } from './key-store';

/** The data-key store on throwaway schemas of the real PostgreSQL. */
describe('data keys in PostgreSQL (get-or-create, erase, rewrap; real PostgreSQL)', function () {
  this.timeout(60000);
  const config = testConfig();
  const pools: pg.Pool[] = [];
  const schemas: string[] = [];
  const kekA = new LocalKek(crypto.randomBytes(32));
  const kekB = new LocalKek(crypto.randomBytes(32));
  const pool = (): pg.Pool => {
    const p = createPgPool(config, { max: 4 });
    pools.push(p);
    return p;
  };
  const newSchema = (): string => {
    const s = `privacy_test_${crypto.randomBytes(5).toString('hex')}`;
    schemas.push(s);
    return s;
  };
  const open = (schema: string, kek: KeyEncryptionKey, previousKeks: KeyEncryptionKey[] = [], p = pool()) =>
    PgDataKeyStore.open({ pool: p, schema, kek, previousKeks, cacheSize: 100 });
  const fail = <T>(p: Promise<T>): Promise<unknown> =>
    p.then(
      () => expect.fail('expected a failure'),
      (e: unknown) => e,
    );
  /** What a reader does with a value from the wire: the key it names, then the field's context. */
  const read = async (store: PgDataKeyStore, ctx: FieldContext, v: EncryptedValue): Promise<string> =>
    decryptField(await store.keyForReading(v.subject, v.keyId), ctx, v);
  const seal = async (store: PgDataKeyStore, subject: string, text: string) => {
    const ctx = { subject, eventId: crypto.randomUUID(), fieldPath: 'payload.firstName' };
    return { ctx, value: encryptField(await store.keyForWriting(subject), ctx, text), text };
  };

  after(async () => {
    const p = pools[0] ?? pool();
    for (const s of schemas) await p.query(`drop schema if exists "${s}" cascade`);
    await Promise.all(pools.map((x) => x.end()));
  });

  it('get-or-create is stable: the same key again, from the cache and from a fresh store', async () => {
    const schema = newSchema();
    const store = await open(schema, kekA);
    const k1 = await store.keyForWriting('USR-1');
    const k2 = await store.keyForWriting('USR-1');
    const fresh = await (await open(schema, kekA)).keyForWriting('USR-1');
    expect(k1.material).to.have.length(32);
    for (const k of [k2, fresh]) {
      expect(k.keyId).to.equal(k1.keyId);
      expect(k.material.equals(k1.material)).to.equal(true);
    }
    expect((await store.keyForWriting('USR-2')).keyId).not.to.equal(k1.keyId);
    const { rows } = await pools[0]!.query<{ wrapped: Buffer }>(`select wrapped from "${schema}".data_keys where subject = 'USR-1'`);
    expect(rows[0]!.wrapped.includes(k1.material)).to.equal(false); // only wrapped at rest
  });

  it('two pools racing get-or-create make one key per subject, and both get it', async () => {
    const schema = newSchema();
    // Holds each subject's wrap until both stores have made a candidate key: both inserts race, one loses.
    const waiting = new Map<string, Array<() => void>>();
    let wraps = 0;
    const barrier: KeyEncryptionKey = {
      id: kekA.id,
      unwrap: (w, aad) => kekA.unwrap(w, aad),
      wrap: async (key, aad) => {
        wraps++;
        const subject = (JSON.parse(aad.toString()) as string[])[1]!;
        const q = waiting.get(subject) ?? [];
        waiting.set(subject, q);
        await new Promise<void>((resolve) => {
          q.push(resolve);
          if (q.length === 2) q.forEach((r) => r());
        });
        return kekA.wrap(key, aad);
      },
    };
    const [s1, s2] = [await open(schema, barrier), await open(schema, barrier)];
    const subjects = Array.from({ length: 25 }, (_, i) => `USR-RACE-${i}`);
    const [a, b] = await Promise.all([
      Promise.all(subjects.map((s) => s1.keyForWriting(s))),
      Promise.all(subjects.map((s) => s2.keyForWriting(s))),
    ]);
    expect(wraps).to.equal(50); // every subject: two candidates
    subjects.forEach((_, i) => {
      expect(a[i]!.keyId).to.equal(b[i]!.keyId);
      expect(a[i]!.material.equals(b[i]!.material)).to.equal(true);
    });
    expect(await s1.status()).to.deep.equal({ subjects: 25, active: 25, erased: 0, byKek: { [kekA.id]: 25 } });
  });

  it('erase shreds the key: existing ciphertexts fail with SubjectErasedError, and no new key is made', async () => {
    const schema = newSchema();
    const store = await open(schema, kekA);
    const ana = await seal(store, 'USR-ANA', 'Ana');
    const bob = await seal(store, 'USR-BOB', 'Bob');
    expect(await read(store, ana.ctx, ana.value)).to.equal('Ana');
    expect(await store.erase('USR-ANA')).to.equal(true);
    expect(await store.erase('USR-ANA')).to.equal(false); // already erased
    for (const s of [store, await open(schema, kekA)]) {
      const e = await fail(read(s, ana.ctx, ana.value));
      expect(e).to.be.instanceOf(SubjectErasedError).and.include({ code: 'PRIVACY_SUBJECT_ERASED', retriable: false, subject: 'USR-ANA' });
      expect(await fail(s.keyForWriting('USR-ANA'))).to.be.instanceOf(SubjectErasedError);
      expect(await read(s, bob.ctx, bob.value)).to.equal('Bob'); // others untouched
    }
    expect(await store.erase('USR-NEVER-SEEN')).to.equal(true); // a tombstone: never gets a key later
    expect(await fail(store.keyForWriting('USR-NEVER-SEEN'))).to.be.instanceOf(SubjectErasedError);
    const { rows } = await pools[0]!.query(`select wrapped, kek_id from "${schema}".data_keys where subject = 'USR-ANA'`);
    expect(rows).to.deep.equal([{ wrapped: null, kek_id: null }]);
    expect(await store.status()).to.deep.equal({ subjects: 3, active: 1, erased: 2, byKek: { [kekA.id]: 1 } });
  });

  it('another process erases: a store that cached the key reads it until PRIVACY_KEY_CACHE_TTL_MS passes, then SubjectErasedError', async () => {
    const schema = newSchema();
    let t = 1_000_000;
    const now = (): number => t;
    const eraser = await open(schema, kekA);
    const reader = await PgDataKeyStore.open({ pool: pool(), schema, kek: kekA, cacheSize: 100, cacheTtlMs: 60_000, now });
    const forever = await PgDataKeyStore.open({ pool: pool(), schema, kek: kekA, cacheSize: 100, now });
    const ana = await seal(eraser, 'USR-TTL', 'Ana');
    expect(await read(reader, ana.ctx, ana.value)).to.equal('Ana');
    expect(await read(forever, ana.ctx, ana.value)).to.equal('Ana');
    await eraser.erase('USR-TTL');
    t += 59_000;
    expect(await read(reader, ana.ctx, ana.value)).to.equal('Ana'); // still cached: the erasure event is not built
    expect((await reader.keyForWriting('USR-TTL')).subject).to.equal('USR-TTL');
    t += 1_000;
    expect(await fail(read(reader, ana.ctx, ana.value))).to.be.instanceOf(SubjectErasedError);
    expect(await fail(reader.keyForWriting('USR-TTL'))).to.be.instanceOf(SubjectErasedError);
    expect(await read(forever, ana.ctx, ana.value)).to.equal('Ana'); // TTL 0: until evicted
  });

  it('rewrap moves every key to the new KEK: every ciphertext stays readable, kek_id changes, events untouched', async () => {
    const schema = newSchema();
    const store = await open(schema, kekA);
    const sealed = await Promise.all(Array.from({ length: 12 }, (_, i) => seal(store, `USR-${i}`, `name ${i}`)));
    await store.erase('USR-0');
    expect(await store.rewrap(kekB, 5)).to.deep.equal({ rewrapped: 11 }); // several batches; the erased one skipped
    expect(store.currentKekId).to.equal(kekB.id);
    expect((await store.status()).byKek).to.deep.equal({ [kekB.id]: 11 });
    const onlyB = await open(schema, kekB); // the old KEK is gone: nothing may still need it
    for (const s of sealed.slice(1)) expect(await read(onlyB, s.ctx, s.value)).to.equal(s.text);
    expect(await fail(read(onlyB, sealed[0]!.ctx, sealed[0]!.value))).to.be.instanceOf(SubjectErasedError);
    expect(await store.rewrap(kekB)).to.deep.equal({ rewrapped: 0 }); // idempotent
    expect(await fail((await open(schema, kekA)).keyForWriting('USR-1'))).to.be.instanceOf(UnknownKekError);
    // A store told about both (PRIVACY_KEK_PREVIOUS during a rotation) reads either.
    expect(await read(await open(schema, kekA, [kekB]), sealed[1]!.ctx, sealed[1]!.value)).to.equal('name 1');
  });

  it('a wrapped key moved to another subject’s row does not unwrap (KeyUnwrapError)', async () => {
    const schema = newSchema();
    const store = await open(schema, kekA);
    await store.keyForWriting('USR-X');
    await store.keyForWriting('USR-Y');
    await pools[0]!.query(
      `update "${schema}".data_keys set wrapped = (select wrapped from "${schema}".data_keys where subject = 'USR-X') where subject = 'USR-Y'`,
    );
    expect(await fail((await open(schema, kekA)).keyForWriting('USR-Y'))).to.be.instanceOf(KeyUnwrapError);
  });
});
