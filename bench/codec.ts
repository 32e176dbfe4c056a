import { performance } from 'node:perf_hooks';
import { fixedClock } from '../lib/clock';
import { loadConfig } from '../lib/config';
import { createSchemaRegistry } from '../lib/clients/registry';
import { EventCodec } from '../schemas/codec';
import { buildEvent } from '../schemas/envelope';
import { EXAMPLE_PAYLOADS } from '../schemas/examples';
import { record } from './lib/report';

/**
 * `npm run bench:codec`: encode and decode throughput of a typical event (grade.recorded)
 * on one core (this process, single-threaded). Needs the registry only to warm the id cache.
 */
async function main(): Promise<void> {
  const n = Number(process.env.BENCH_N ?? 1_000_000);
  const codec = new EventCodec(createSchemaRegistry(loadConfig()));
  const event = buildEvent('grade.recorded', EXAMPLE_PAYLOADS['grade.recorded'], {
    sourceService: 'bench',
    clock: fixedClock('2025-03-15T08:30:00.000Z'),
  });
  const buf = await codec.encode(event);
  await codec.decode(buf); // warms the writer schema and resolver caches
  const type = codec.typeOf('grade.recorded');
  const id = await codec.schemaId('grade.recorded');

  const rows: Array<[string, number, number]> = [];
  for (const [name, fn] of [
    ['encode (type-checked Avro + header)', () => codec.encodeWithId(type, id, event)],
    ['decode (header + resolve + Avro)', () => codec.decode(buf)],
  ] as Array<[string, () => unknown]>) {
    for (let i = 0; i < 50_000; i++) await fn(); // JIT warm-up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    const s = (performance.now() - t0) / 1000;
    rows.push([name, n / s, 200_000]);
  }
  process.stdout.write(`codec benchmark: ${n} ops each, event grade.recorded (${buf.length} bytes)\n`);
  process.stdout.write(`| figure | ops/s | target | met |\n|---|---|---|---|\n`);
  for (const [name, ops, target] of rows) {
    process.stdout.write(
      `| ${name} | ${Math.round(ops).toLocaleString('en')} | ${target.toLocaleString('en')} | ${ops >= target ? 'yes' : 'no'} |\n`,
    );
    record({
      figure: `codec ${name}`,
      value: ops,
      unit: 'ops/s',
      target,
      better: 'higher',
      note: `${buf.length}-byte grade.recorded, one core`,
    });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:codec: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
