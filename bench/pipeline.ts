import { systemClock } from '../lib/clock';
import { loadConfig } from '../lib/config';
import { createKafka } from '../lib/clients/kafka';
import { SchoolGenerator } from '../scripts/school';
import type { SchoolEvent } from '../schemas/generated/events';
import { groupLag } from '../scripts/lag';
import { TestPipeline } from '../test/support/pipeline';
import { record } from './lib/report';
import { fmt, pipelineSize } from './lib/setup';

/**
 * `npm run bench:pipeline`: a generated school (default 2,000+ students in 80 sections,
 * 150 teachers, a term of daily attendance and grades: about 1,000,000 events) offered
 * at a steady rate to all six processors (isolated topics, groups, stores). Prints
 * events/s per processor and end to end, and the maximum consumer lag sampled each second.
 * Target on this machine: >= 10,000 events/s with lag under 1,000.
 */
async function main(): Promise<void> {
  const { size, rate } = pipelineSize();
  const { weeks, sections } = size;
  const p = new TestPipeline(loadConfig({ LOG_LEVEL: 'error', ...process.env }));
  await p.start();
  const admin = createKafka(p.config).admin();
  await admin.connect();
  try {
    const school = new SchoolGenerator(p.run, size, systemClock);
    const batches: SchoolEvent[][] = [school.setup(), school.enrollments()];
    // The setup must be projected before the sagas read it (other topics are not ordered against them).
    const t0 = Date.now();
    await p.publishMany(batches[0]!);
    await drain(p, admin, () => undefined);
    await p.publishMany(batches[1]!);
    await drain(p, admin, () => undefined);
    process.stdout.write(
      `setup and ${fmt(school.enrollmentIds.length)} sagas projected in ${((Date.now() - t0) / 1000).toFixed(0)} s; offering ${weeks} weeks at ${fmt(rate)} events/s…\n`,
    );
    const before = await consumed(p, admin);
    let maxLag = 0;
    let offered = 0;
    const start = Date.now();
    for (let w = 0; w < weeks; w++) {
      const events = school.week(w);
      for (let i = 0; i < events.length; i += 1000) {
        const due = start + (offered / rate) * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        await p.publisher.publish(...events.slice(i, i + 1000));
        offered += Math.min(1000, events.length - i);
      }
      maxLag = Math.max(maxLag, await lagNow(p, admin));
      process.stdout.write(`  week ${w + 1}/${weeks}: ${fmt(offered)} offered, lag ${fmt(await lagNow(p, admin))}\n`);
    }
    const offerSeconds = (Date.now() - start) / 1000;
    // When each group was last seen behind: its own catch-up time shows which processor is the ceiling.
    const lastBehind: Record<string, number> = {};
    await drain(
      p,
      admin,
      (lag) => (maxLag = Math.max(maxLag, lag)),
      (name) => (lastBehind[name] = Date.now()),
    );
    const seconds = (Date.now() - start) / 1000;
    const after = await consumed(p, admin);
    process.stdout.write(
      `\npipeline benchmark: ${fmt(offered)} events offered in ${offerSeconds.toFixed(0)} s, all processors caught up after ${seconds.toFixed(0)} s\n`,
    );
    process.stdout.write('| figure | value | target | met |\n|---|---|---|---|\n');
    const note = `${fmt(offered)} events (${weeks} weeks, ${sections} sections) offered at up to ${fmt(rate)}/s`;
    for (const name of Object.keys(after)) {
      // Over its own catch-up time (sampled each second), so the slowest processor stands out.
      const caughtUp = ((lastBehind[name] ?? start) - start) / 1000 + 1;
      const perSecond = ((after[name] ?? 0) - (before[name] ?? 0)) / caughtUp;
      process.stdout.write(
        `| ${name}: records consumed/s (caught up after about ${caughtUp.toFixed(0)} s) | ${fmt(perSecond)} | - | - |\n`,
      );
      record({ figure: `pipeline ${name}: records consumed/s`, value: perSecond, unit: 'records/s', better: 'higher', note });
    }
    process.stdout.write(
      `| end to end: offered events/s until every processor caught up | ${fmt(offered / seconds)} | 10,000 | ${offered / seconds >= 10000 ? 'yes' : 'no'} |\n`,
    );
    process.stdout.write(
      `| max consumer lag sampled (one group, records) | ${fmt(maxLag)} | < 1,000 | ${maxLag < 1000 ? 'yes' : 'no'} |\n`,
    );
    record({
      figure: 'pipeline end to end: events/s until every processor caught up',
      value: offered / seconds,
      unit: 'events/s',
      target: 10000,
      better: 'higher',
      yardstick: 'kafka',
      note,
    });
    record({ figure: 'pipeline max consumer lag sampled', value: maxLag, unit: 'records', target: 1000, better: 'lower', note });
  } finally {
    await admin.disconnect();
    await p.stop();
  }
}

type Admin = ReturnType<ReturnType<typeof createKafka>['admin']>;

/** Per processor group: committed offsets summed over its topics. */
async function consumed(p: TestPipeline, admin: Admin): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of p.host.runners) {
    const offsets = await admin.fetchOffsets({ groupId: r.group, topics: r.def.topics.map((t) => p.topic(t)) });
    out[r.def.name] = offsets.flatMap((t) => t.partitions).reduce((s, x) => s + Math.max(0, Number(x.offset)), 0);
  }
  return out;
}

/** Each group's lag right now. */
const lags = (p: TestPipeline, admin: Admin): Promise<Record<string, number>> =>
  groupLag(
    admin,
    p.host.runners.map((r) => ({ name: r.def.name, groupId: r.group, topics: r.def.topics.map((t) => p.topic(t)) })),
  );

/** The largest lag of any one group right now. */
const lagNow = async (p: TestPipeline, admin: Admin): Promise<number> => Math.max(0, ...Object.values(await lags(p, admin)));

/** Samples every second until every group has caught up twice in a row; `behind` is told each group still lagging. */
async function drain(
  p: TestPipeline,
  admin: Admin,
  onLag: (lag: number) => void,
  behind: (name: string) => void = () => undefined,
): Promise<void> {
  let quiet = 0;
  while (quiet < 2) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await lags(p, admin);
    for (const [name, lag] of Object.entries(now)) if (lag > 0) behind(name);
    const lag = Math.max(0, ...Object.values(now));
    onLag(lag);
    quiet = lag === 0 ? quiet + 1 : 0;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:pipeline: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
