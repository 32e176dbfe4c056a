import { seededRandom } from '../lib/rng';
import { describeMachine } from '../bench/lib/machine';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { numberFlag, parseCli, runCli } from '../lib/cli';
import { startService, stopService, up } from '../deploy/local/stack';
import { createKafka } from '../lib/clients/kafka';
import { systemClock } from '../lib/clock';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { readToEnd } from '../lib/read-to-end';
import { createProcessors } from '../processors/all';
import { appliedIds } from '../processors/runtime/bookkeeping';
import { DLQ, headerString } from '../processors/runtime/dead-letters';
import type { ProcessorDefinition } from '../processors/runtime/types';
import { verify, type VerifyResult } from '../processors/replay/verify';
import type { SchoolEvent } from '../schemas/generated/events';
import { registerAll } from '../schemas/register';
import { PROCESSOR_NAMES, TestPipeline } from '../test/support/pipeline';
import { DOMAIN_TOPICS, dlqTopic } from '../topics/catalog';
import { checkApplied, type AppliedCheck } from './chaos/applied';
import { faultPlan, type Fault } from './chaos/faults';
import { Workers } from '../test/support/workers';
import { EventCodec } from '../schemas/codec';
import { createSchemaRegistry } from '../lib/clients/registry';
import { groupLag } from './lag';
import { SchoolGenerator } from './school';

const say = (m: string): void => void process.stdout.write(`${m}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `npm run chaos [-- --events N --enrollments M --fault-every S --max-minutes T --keep-on-failure]`: a long mixed load
 * through all six processors (each its own process, isolated topics and stores, loopback only)
 * while faults are injected; then every projection is verified against a rebuild from the topics
 * and dead letters are matched against the injected poison. Exit 0 only when nothing was lost
 * or applied twice and the dead letters are exactly the poison.
 */
const HELP = `usage: npm run chaos -- [--events N] [--enrollments M] [--fault-every S] [--max-minutes T] [--keep-on-failure]

A long mixed load through all six processors (each its own process; isolated topics, groups and stores on
the loopback stack) while broker, database and process faults are injected every S seconds; then every
projection is verified against a rebuild and the dead letters against the injected poison. Exit 0 only
when nothing was lost or applied twice. Writes bench/results/chaos-<date>.md.
  --events N          events to publish (default 1000000)
  --enrollments M     enrollment sagas among them (default 2000)
  --fault-every S     seconds between faults (default 20)
  --max-minutes T     give up after T minutes (default 120)
  --keep-on-failure   keep the run's topics and stores when it fails`;

async function main(): Promise<void> {
  const { values } = parseCli({
    name: 'chaos',
    help: HELP,
    options: {
      events: { type: 'string', default: '1000000' },
      enrollments: { type: 'string', default: '2000' },
      'fault-every': { type: 'string', default: '20' },
      'max-minutes': { type: 'string', default: '120' },
      'keep-on-failure': { type: 'boolean', default: false },
    },
  });
  const [target, enrollments, faultEvery, maxMinutes] = (['events', 'enrollments', 'fault-every', 'max-minutes'] as const).map((f) =>
    numberFlag(f, values[f], 1)!,
  ) as [number, number, number, number];
  const deadline = Date.now() + maxMinutes * 60_000;
  const config = loadConfig({ LOG_LEVEL: 'error', ...process.env });
  if (!config.kafka.brokers.every((b) => /^(127\.0\.0\.1|localhost):/.test(b))) throw new Error('chaos only targets a loopback stack');
  const logger = createLogger(config, 'chaos');
  const defs = createProcessors(config, logger);
  const stored = defs.filter((x) => x.store !== 'none');
  await up(config);
  await registerAll(config.registry.url);
  const run = `chaos_${crypto.randomBytes(4).toString('hex')}`;
  const p = new TestPipeline(config, PROCESSOR_NAMES, run);
  await p.start();
  const logDir = path.resolve(config.stack.dir, 'logs', 'chaos');
  const workers = new Workers(run, PROCESSOR_NAMES, logDir);
  const admin = createKafka(config).admin();
  await admin.connect();
  const rand = seededRandom(20261124);
  const injected: Array<{ fault: Fault; detail: string; at: number }> = [];
  const poison: Array<{ topic: string; partition: number; offset: string }> = [];
  const t0 = Date.now();
  const interrupt = (): void => {
    say('interrupted: stopping workers and removing the run');
    void workers
      .stopAll()
      .then(() => p.deleteAll())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    await workers.startAll();
    say(
      `chaos run ${run}: 6 processors in their own processes (logs in ${logDir}); target ${target.toLocaleString('en')} events, ${enrollments} enrollments`,
    );
    const sections = Math.max(3, Math.ceil(enrollments / (26 * 1.05)));
    const school = new SchoolGenerator(
      run,
      { sections, studentsPerSection: 26, teachers: Math.ceil(sections * 2), weeks: 40, gradesPerCoursePerWeek: 5 },
      systemClock,
    );
    let published = 0;
    // Spread the load over the first faults, so they hit processors under load rather than a backlog.
    const rate = Math.max(200, target / (8 * faultEvery));
    let paced = false;
    const publish = async (events: SchoolEvent[]): Promise<void> => {
      for (let i = 0; i < events.length; i += 500) {
        if (paced) await sleep((500 / rate) * 1000);
        // A broker restart fails sends; retry until accepted (the same event ids: consumers dedupe).
        for (let attempt = 1; ; attempt++) {
          try {
            await p.publisher.publish(...events.slice(i, i + 500));
            break;
          } catch (e) {
            if (Date.now() > deadline) throw e;
            await sleep(Math.min(5000, 250 * attempt));
          }
        }
        published += Math.min(500, events.length - i);
      }
    };
    await publish(school.setup());
    await drain(admin, defs, run, deadline);
    paced = true;
    const load = (async () => {
      await publish(school.enrollments());
      for (let w = 0; w < 40 && published < target; w++) await publish(school.week(w));
    })();
    let loadDone = false;
    void load.then(
      () => (loadDone = true),
      () => (loadDone = true),
    );
    const plan = faultPlan(Math.ceil(target / 2000 / faultEvery));
    for (const fault of plan) {
      if (loadDone && injected.length >= 8) break;
      await sleep(faultEvery * 1000);
      injected.push({ fault, detail: await inject(fault), at: Math.round((Date.now() - t0) / 1000) });
      const last = injected[injected.length - 1]!;
      say(`  ${last.at} s: ${last.fault} (${last.detail}); ${published.toLocaleString('en')} events published`);
    }
    await load;
    say(
      `load done: ${published.toLocaleString('en')} events, ${school.enrollmentIds.length} enrollments; waiting for every processor to catch up`,
    );
    await drain(admin, defs, run, deadline);
    await workers.stopAll();

    const codec = new EventCodec(createSchemaRegistry(config));
    const applied: Array<[string, AppliedCheck]> = [];
    for (const d of stored) {
      const group = `${run}-${d.name}`;
      const markers = () =>
        appliedIds(
          d.store === 'postgres'
            ? { store: 'postgres', pool: p.pool, schema: p.schema(d.name) }
            : { store: 'mongo', pool: p.pool, db: p.db },
          group,
        );
      applied.push([
        d.name,
        await checkApplied(
          createKafka(config),
          codec,
          d,
          d.topics.map((t) => p.topic(t)),
          markers,
        ),
      ]);
    }
    const results: Array<[string, VerifyResult]> = [];
    for (const d of stored) {
      const live = d.store === 'postgres' ? p.schema(d.name) : p.db.databaseName;
      results.push([
        d.name,
        await verify(config, logger, { name: d.name, live, liveGroup: `${run}-${d.name}`, topicName: (t) => p.topic(t) }),
      ]);
    }
    const consumers = new Map(
      DOMAIN_TOPICS.map((t) => [p.topic(t), defs.filter((d) => d.topics.includes(t)).map((d) => `${run}-${d.name}`)]),
    );
    const expected = new Set(
      poison.flatMap((x) => (consumers.get(x.topic) ?? []).map((g) => `${x.topic}:${x.partition}:${x.offset}:${g}`)),
    );
    const found = new Set<string>();
    const other: string[] = [];
    for (const r of await readToEnd(
      createKafka(config),
      DOMAIN_TOPICS.map((t) => dlqTopic(p.topic(t))),
    )) {
      const id = `${headerString(r.headers, DLQ.sourceTopic)}:${headerString(r.headers, DLQ.sourcePartition)}:${headerString(r.headers, DLQ.sourceOffset)}:${headerString(r.headers, DLQ.group)}`;
      if (expected.has(id)) found.add(id);
      else other.push(`${id} ${headerString(r.headers, DLQ.errorCode)}: ${headerString(r.headers, DLQ.errorMessage)}`);
    }
    const lost = applied.reduce((a, [, v]) => a + v.lost + v.unknown, 0);
    const onlyRebuilt = results.reduce((a, [, v]) => a + v.onlyRebuilt, 0);
    const onlyLive = results.reduce((a, [, v]) => a + v.onlyLive, 0);
    const byKind = new Map<string, number>();
    for (const f of injected) byKind.set(f.fault, (byKind.get(f.fault) ?? 0) + 1);
    const minutes = ((Date.now() - t0) / 60000).toFixed(1);
    const table = ['| figure | value |', '|---|---|'];
    const row = (m: string): void => void table.push(m);
    row(`| events published | ${published.toLocaleString('en')} |`);
    row(`| enrollments (sagas) | ${school.enrollmentIds.length.toLocaleString('en')} |`);
    for (const [k, n] of byKind) row(`| faults: ${k} | ${n} |`);
    for (const [name, v] of applied)
      row(
        `| ${name}: handled events / applied once / lost / redelivered records | ${v.expected.toLocaleString('en')} / ${(v.expected - v.lost).toLocaleString('en')} / ${v.lost + v.unknown} / ${v.redelivered} |`,
      );
    for (const [name, v] of results)
      row(
        `| projection ${name} vs rebuild from the topics | ${v.equal ? 'equal' : 'DIFFERENT'} (${v.rows.toLocaleString('en')} rows in ${v.tables} tables) |`,
      );
    row(`| lost (handled events never applied) | ${lost} |`);
    row(`| applied twice or diverged (rows only in the live projection) | ${onlyLive} |`);
    row(`| missing or diverged (rows only in the rebuild) | ${onlyRebuilt} |`);
    row(`| dead letters of injected poison (expected / found) | ${expected.size} / ${found.size} |`);
    row(`| other dead letters | ${other.length} |`);
    say(`\nchaos report (${minutes} min)\n\n${table.join('\n')}`);
    for (const [name, v] of results) for (const d of v.differences.slice(0, 5)) say(`  ${name}: ${d}`);
    for (const o of other.slice(0, 10)) say(`  dead letter not injected: ${o}`);
    const ok = lost === 0 && onlyLive === 0 && onlyRebuilt === 0 && found.size === expected.size && other.length === 0;
    const verdict = ok ? 'chaos: OK — zero lost, zero applied twice, dead letters exactly the injected poison' : 'chaos: FAILED';
    say(`\n${verdict}`);
    say(`report written to ${writeReport(process.argv.slice(2), minutes, injected, [...table, '', verdict])}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    await workers.stopAll();
    await admin.deleteGroups(PROCESSOR_NAMES.map((n) => `${run}-${n}`)).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    // The run is over: a signal from now on must not delete a run kept for inspection.
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    if (values['keep-on-failure'] && process.exitCode !== 0) {
      await p.close();
      say(`kept run ${run} (topics, schemas and collections) for inspection`);
    } else await p.deleteAll().catch((e: unknown) => say(`cleanup: ${String(e)}`));
  }

  async function inject(fault: Fault): Promise<string> {
    switch (fault) {
      case 'kill -9 processor':
        return workers.killOne(rand);
      case 'poison record': {
        const topic = p.topic(DOMAIN_TOPICS[Math.floor(rand() * DOMAIN_TOPICS.length)]!);
        const [meta] = await p.producer.send({
          topic,
          acks: -1,
          messages: [{ key: `poison-${poison.length}`, value: crypto.randomBytes(40) }],
        });
        poison.push({ topic, partition: meta!.partition, offset: meta!.baseOffset ?? '0' });
        return `${topic}:${meta!.partition}@${meta!.baseOffset}`;
      }
      case 'restart kafka':
      case 'restart postgres':
      case 'restart ferretdb': {
        const service = fault.split(' ')[1]!;
        await stopService(config, service);
        await sleep(3000);
        await startService(config, service);
        return `${service} down 3 s`;
      }
      default: {
        const never: never = fault;
        throw new Error(`unknown fault ${String(never)}`);
      }
    }
  }
}

/** The report as bench/results/chaos-<date>.md, next to the benchmark report. */
function writeReport(
  args: string[],
  minutes: string,
  injected: Array<{ fault: Fault; detail: string; at: number }>,
  table: string[],
): string {
  const date = new Date().toISOString().slice(0, 10);
  const file = path.resolve(__dirname, '..', 'bench', 'results', `chaos-${date}.md`);
  const faults = injected.map((f) => `- ${f.at} s: ${f.fault} (${f.detail})`);
  const m = describeMachine();
  const text = [
    `# Chaos report ${date}`,
    '',
    `\`npm run chaos -- ${args.join(' ')}\` on ${m.cores} cores (${m.cpu}), ${m.ramGiB.toFixed(0)} GiB, ${m.os}; ${minutes} min.`,
    '',
    '## Faults injected',
    '',
    ...faults,
    '',
    '## Result',
    '',
    ...table,
    '',
  ].join('\n');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** Waits until no group of the run has lag, three checks in a row. */
async function drain(
  admin: ReturnType<ReturnType<typeof createKafka>['admin']>,
  defs: ProcessorDefinition[],
  run: string,
  deadline: number,
): Promise<void> {
  let quiet = 0;
  while (quiet < 3) {
    if (Date.now() > deadline) throw new Error('chaos: --max-minutes exceeded before the processors caught up');
    await sleep(2000);
    try {
      const lag = await groupLag(
        admin,
        defs.map((d) => ({ name: d.name, groupId: `${run}-${d.name}`, topics: d.topics.map((t) => `${run}.${t}`) })),
      );
      quiet = Object.values(lag).every((x) => x === 0) ? quiet + 1 : 0;
    } catch {
      quiet = 0; // the broker may be restarting
    }
  }
}

runCli('chaos', main);
