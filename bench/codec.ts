import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fixedClock } from '../lib/clock';
import { loadConfig } from '../lib/config';
import { createPgPool } from '../lib/clients/pg';
import { createSchemaRegistry } from '../lib/clients/registry';
import { openKeyStore } from '../lib/privacy';
import { EventCodec } from '../schemas/codec';
import { buildEvent } from '../schemas/envelope';
import { EXAMPLE_PAYLOADS } from '../schemas/examples';
import type { EventPayloads, EventType } from '../schemas/generated/events';
import { record } from './lib/report';

/**
 * `npm run bench:codec`: encode and decode throughput of a typical event (grade.recorded)
 * on one core (this process, single-threaded). Needs the registry only to warm the id cache.
 * Personal fields (issue 21): the same paths with encryption off and on, the data keys from the
 * PostgreSQL key store (a throwaway schema, dropped at the end) served from its LRU cache after warm-up.
 */
async function main(): Promise<void> {
  const n = Number(process.env.BENCH_N ?? 1_000_000);
  const nPrivacy = Math.min(n, Number(process.env.BENCH_PRIVACY_N ?? 200_000));
  const config = loadConfig();
  const codec = new EventCodec(createSchemaRegistry(config));
  const clock = fixedClock('2025-03-15T08:30:00.000Z');
  const at = <T extends EventType>(t: T, payload: Partial<EventPayloads[T]> = {}, metadata = {}) =>
    buildEvent(t, { ...EXAMPLE_PAYLOADS[t], ...payload }, { sourceService: 'bench', clock, metadata });
  const event = at('grade.recorded');
  const buf = await codec.encode(event);
  await codec.decode(buf); // warms the writer schema and resolver caches
  const type = codec.typeOf('grade.recorded');
  const id = await codec.schemaId('grade.recorded');

  // Events with personal values: a graded comment plus the request's IP and user agent (3 fields), and a
  // new user (first and last name, e-mail, phone, birth date, IP, user agent: 7 fields).
  const meta = { triggeredBy: 'USR-2025-000777', ipAddress: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' };
  const graded = at('grade.recorded', { comment: 'Solid progress with fractions; review decimals before the test.' }, meta);
  const user = at('user.created', { phone: '+34 600 111 222', birthDate: '2014-05-02' }, meta);
  const schema = `privacy_bench_${crypto.randomBytes(4).toString('hex')}`;
  const pool = createPgPool(config, { max: 2 });
  const rows: Array<[string, number, number | undefined, number, string]> = [];
  try {
    const keys = await openKeyStore({ ...config, privacy: { ...config.privacy, schema } }, pool);
    const sealed = new EventCodec(createSchemaRegistry(config), { encryptor: keys, decryptor: keys });
    const gradedOff = await codec.encode(graded);
    const gradedOn = await sealed.encode(graded);
    const userOn = await sealed.encode(user);
    await sealed.decode(gradedOn);
    await sealed.decode(userOn);
    const note = `${buf.length}-byte grade.recorded, one core`;
    type Row = [string, () => unknown, number | undefined, number, string];
    /** A personal-field row: no target, nPrivacy ops, the event's size and type in the note. */
    const personal = (name: string, fn: () => unknown, bytes: number, what: string): Row => [
      name,
      fn,
      undefined,
      nPrivacy,
      `${bytes}-byte ${what}, one core, data keys from the key store's LRU cache`,
    ];
    const cases: Row[] = [
      ['encode (type-checked Avro + header)', () => codec.encodeWithId(type, id, event), 200_000, n, note],
      ['decode (header + resolve + Avro)', () => codec.decode(buf), 200_000, n, note],
      personal('encode, 3 personal fields, encryption off', () => codec.encode(graded), gradedOff.length, 'grade.recorded'),
      personal('encode, 3 personal fields, encryption on', () => sealed.encode(graded), gradedOn.length, 'grade.recorded'),
      personal('decode, 3 personal fields, encryption off', () => codec.decode(gradedOff), gradedOff.length, 'grade.recorded'),
      personal('decode, 3 personal fields, decryption on', () => sealed.decode(gradedOn), gradedOn.length, 'grade.recorded'),
      personal('encode, 7 personal fields (user.created), encryption on', () => sealed.encode(user), userOn.length, 'user.created'),
      personal('decode, 7 personal fields (user.created), decryption on', () => sealed.decode(userOn), userOn.length, 'user.created'),
    ];
    for (const [name, fn, target, ops, what] of cases) {
      for (let i = 0; i < 50_000; i++) await fn(); // JIT warm-up
      const t0 = performance.now();
      for (let i = 0; i < ops; i++) await fn();
      const s = (performance.now() - t0) / 1000;
      rows.push([name, ops / s, target, ops, what]);
    }
  } finally {
    await pool.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
    await pool.end();
  }
  process.stdout.write(`codec benchmark: ${n} ops each (personal-field rows ${nPrivacy}), event grade.recorded (${buf.length} bytes)\n`);
  process.stdout.write(`| figure | ops/s | target | met | ops | note |\n|---|---|---|---|---|---|\n`);
  for (const [name, ops, target, count, what] of rows) {
    const met = target === undefined ? '-' : ops >= target ? 'yes' : 'no';
    process.stdout.write(
      `| ${name} | ${Math.round(ops).toLocaleString('en')} | ${target?.toLocaleString('en') ?? '-'} | ${met} | ${count.toLocaleString('en')} | ${what} |\n`,
    );
    record({ figure: `codec ${name}`, value: ops, unit: 'ops/s', target, better: 'higher', note: what });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:codec: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
