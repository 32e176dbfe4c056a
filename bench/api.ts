import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { loadJwtKeys, mintToken, type Role } from '../api/auth/jwt';
import { systemClock } from '../lib/clock';
import { loadConfig } from '../lib/config';
import { createKafka } from '../lib/clients/kafka';
import { SchoolGenerator } from '../scripts/school';
import { groupLag } from '../scripts/lag';
import type { EventPayloads } from '../schemas/generated/events';
import { topicSize } from '../test/support/kafka';
import { TestPipeline } from '../test/support/pipeline';
import type { LoadJob, LoadResult, Seed } from './api-load';
import { record } from './lib/report';
import { fmt } from './lib/setup';

/**
 * `npm run bench:api`: the HTTP API under a fixed request rate from autocannon, on a generated
 * school (isolated topics and stores of a TestPipeline, all six processors running).
 *  1. queries: six GET endpoints over every id of the school, 1,000 req/s for 20 s. Target p99 < 50 ms.
 *  2. commands: grades and attendance marks by the teacher of the section, 500 req/s for 20 s,
 *     measured to the 202 (after the broker acknowledged). Target p99 < 100 ms; every 202 is
 *     exactly one event in its topic.
 *
 * Three processes, so each event loop only does its own work (the CPU cores are shared, as they
 * would be on one machine): this one holds the pipeline (processors, seeding, checks), the API
 * runs in bench/api-server.ts (as `npm run api` does in production), the load in
 * bench/api-load.ts (a load generator sharing the API's or the processors' event loop would both
 * steal the API's CPU and read responses late, inflating the latency it reports). Sizing:
 * BENCH_API_SECTIONS (20 sections of 26 students), BENCH_API_QUERY_RATE, BENCH_API_COMMAND_RATE,
 * BENCH_API_SECONDS, BENCH_API_CONNECTIONS.
 */
const env = process.env;
const SECTIONS = Number(env.BENCH_API_SECTIONS ?? 20);
const QUERY_RATE = Number(env.BENCH_API_QUERY_RATE ?? 1000);
const COMMAND_RATE = Number(env.BENCH_API_COMMAND_RATE ?? 500);
const SECONDS = Number(env.BENCH_API_SECONDS ?? 20);
const CONNECTIONS = Number(env.BENCH_API_CONNECTIONS ?? 100);
/** Per identity per minute: a handful of tokens carry 1,000 req/s here (config default: 600). */
const RATE_LIMIT = 1_000_000;
const COMMAND_TYPES = new Set(['grade.recorded', 'attendance.marked']);

const say = (m: string): void => void process.stdout.write(`${m}\n`);
const ms = (n: number): string => `${n.toFixed(1)} ms`;

let cleanup: (() => Promise<void>) | undefined;
let cleaning: Promise<void> | undefined;
const cleanUp = (): Promise<void> => (cleaning ??= cleanup ? cleanup() : Promise.resolve());
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    process.stderr.write(`bench:api: ${signal}, cleaning up\n`);
    void cleanUp().finally(() => process.exit(130));
  });

async function main(): Promise<void> {
  const config = loadConfig({ LOG_LEVEL: 'error', ...env });
  const p = new TestPipeline(config);
  const kafka = createKafka(config);
  const children: ChildProcess[] = [];
  cleanup = async () => {
    await Promise.all(children.map((c) => stopChild(c)));
    // The API child drops its own schema when it stops cleanly; this covers one that did not.
    await p.pool?.query(`drop schema if exists "${p.schema('api')}" cascade`).catch(() => undefined);
    await p.stop();
  };
  await p.start();

  // BENCH_API_CPU_PROF=<dir>: the API process writes a V8 CPU profile there when it stops (where its time goes).
  const profileDir = process.env.BENCH_API_CPU_PROF;
  const server = fork(path.join(__dirname, 'api-server.ts'), [], {
    env: { ...env, BENCH_API_RUN: p.run, BENCH_API_RATE_LIMIT: String(RATE_LIMIT) },
    execArgv: profileDir ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${profileDir}`] : process.execArgv,
  });
  children.push(server);
  const load = fork(path.join(__dirname, 'api-load.ts'));
  children.push(load);
  const listening = firstMessage<{ port: number; keyDir: string }>(server, 'api-server');
  listening.catch(() => undefined); // awaited after seeding; a child that dies before is reported there

  const t0 = Date.now();
  const school = new SchoolGenerator(
    p.run,
    { sections: SECTIONS, studentsPerSection: 26, teachers: SECTIONS * 2, weeks: 1, gradesPerCoursePerWeek: 2 },
    systemClock,
  );
  const setup = school.setup();
  await p.publishMany(setup);
  await drain(p, kafka);
  await p.publishMany(school.enrollments());
  await drain(p, kafka);
  await p.publishMany(school.week(0));
  await drain(p, kafka);
  const sagas = await p.pool.query<{ status: string; n: string }>(
    `select status, count(*) as n from "${p.schema('academic')}".enrollments group by status order by status`,
  );
  say(
    `run ${p.run}: seeded ${fmt(setup.length)} setup events, ${fmt(school.enrollmentIds.length)} enrollment sagas (${sagas.rows.map((r) => `${r.status} ${r.n}`).join(', ')}) and a week of grades and attendance in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );

  const { port, keyDir } = await listening;
  // Who is really seated: the read model, not the generator's intent (an overflow enrollment may take a seat first).
  const seated = await p.pool.query<{ student_user_id: string; section_id: string }>(
    `select student_user_id, section_id from "${p.schema('academic')}".enrollments where active order by enrollment_id`,
  );
  const seed = await seedFor(setup, school, seated.rows, loadJwtKeys({ ...config, api: { ...config.api, jwtKeyDir: keyDir } }), config);
  const job = async (kind: LoadJob['kind'], rate: number, seconds: number): Promise<LoadResult & { cpu: string }> => {
    const api0 = await apiCpu(server);
    const own0 = process.cpuUsage();
    const r = await request(load, { kind, base: `http://127.0.0.1:${port}`, rate, seconds, connections: CONNECTIONS, seed });
    const own = process.cpuUsage(own0);
    const share = (cpuSeconds: number): string => `${Math.round((100 * cpuSeconds) / r.seconds)} %`;
    const cpu = `API ${share((await apiCpu(server)) - api0)}, load generator ${share(r.cpuSeconds)}, processors (bench process) ${share((own.user + own.system) / 1e6)}`;
    return { ...r, cpu };
  };

  say(
    `API in its own process on :${port}; rate limit raised to ${fmt(RATE_LIMIT)} requests/min per identity for the bench (default ${config.api.rateLimitPerMinute})`,
  );
  say(`load: autocannon, ${CONNECTIONS} connections (one instance each, staggered over a second), in its own process`);
  say('warming up (queries 200 req/s, commands 100 req/s, 3 s each; not measured)…');
  await job('queries', 200, 3);
  await job('commands', 100, 3);

  say(
    `queries: ${fmt(QUERY_RATE)} req/s for ${SECONDS} s over ${fmt(seed.users.length)} users, ${seed.sections.length} sections, ${fmt(seed.students.length)} seated students…`,
  );
  const q = await job('queries', QUERY_RATE, SECONDS);

  const topics = ['grades-events', 'attendance-events'].map((t) => p.topic(t));
  const sizeBefore = await sizes(kafka, topics);
  const offsetsBefore = await endOffsets(kafka, topics);
  say(
    `commands: ${fmt(COMMAND_RATE)} req/s for ${SECONDS} s (grades and attendance marks by the section's teachers; processors consuming meanwhile)…`,
  );
  const c = await job('commands', COMMAND_RATE, SECONDS);
  const sizeAfter = await sizes(kafka, topics);
  const window = await readWindow(kafka, topics, offsetsBefore, await endOffsets(kafka, topics));
  const counts = new Map<string, number>();
  let commandEvents = 0;
  for (const r of window)
    if (COMMAND_TYPES.has(r.eventType)) {
      commandEvents++;
      counts.set(r.eventId, (counts.get(r.eventId) ?? 0) + 1);
    }
  const notOnce = c.accepted.filter((id) => counts.get(id) !== 1).length;
  const acceptedSet = new Set(c.accepted);
  const unanswered = [...counts.keys()].filter((id) => !acceptedSet.has(id)).length;
  const grown = sizeAfter - sizeBefore;
  const derived = window.length - commandEvents;

  say(`\nAPI benchmark (rate limit per identity raised to ${fmt(RATE_LIMIT)}/min for the bench; processors running in the bench process)`);
  say(
    `queries: ${fmt(q.answered)} answered in ${q.seconds.toFixed(1)} s, status codes ${JSON.stringify(q.statuses)}, errors ${q.errors}, timeouts ${q.timeouts}, max ${ms(q.max)}; CPU (100 % = one core): ${q.cpu}`,
  );
  say(
    `commands: ${fmt(c.answered)} answered in ${c.seconds.toFixed(1)} s, status codes ${JSON.stringify(c.statuses)}, errors ${c.errors}, timeouts ${c.timeouts}, max ${ms(c.max)}; CPU (100 % = one core): ${c.cpu}`,
  );
  say(
    `events: topics grew by ${fmt(grown)} records (topicSize), of which ${fmt(commandEvents)} grade.recorded/attendance.marked, the rest derived by the processors (${fmt(derived)} when the window was read); ${fmt(c.accepted.length)} 202s, ${notOnce} of them not exactly one event, ${unanswered} command events without a 202`,
  );
  for (const [name, r] of [
    ['queries', q],
    ['commands', c],
  ] as const)
    say(
      `${name} by route: ${Object.entries(r.routes)
        .map(([route, x]) => `${route} p50 ${ms(x.p50)} p99 ${ms(x.p99)} (${fmt(x.n)})`)
        .join('; ')}`,
    );
  say('\n| figure | value | target | met |\n|---|---|---|---|');
  const rows: Array<{
    figure: string;
    value: number;
    text: string;
    unit: string;
    target?: number;
    targetText: string;
    better: 'higher' | 'lower';
    met?: boolean;
  }> = [];
  const stage = (name: string, r: LoadResult, rate: number, p99Target: number): void => {
    const non2xx = Object.entries(r.statuses).reduce((n, [s, k]) => (s.startsWith('2') ? n : n + k), 0) + r.errors + r.timeouts;
    const achieved = r.answered / r.seconds;
    rows.push(
      {
        figure: `${name}: achieved req/s (offered ${fmt(rate)})`,
        value: achieved,
        text: fmt(achieved),
        unit: 'req/s',
        target: rate,
        targetText: `${fmt(rate)} (±3 %)`,
        better: 'higher',
        met: achieved >= rate * 0.97,
      },
      { figure: `${name}: p50 latency`, value: r.p50, text: ms(r.p50), unit: 'ms', targetText: '-', better: 'lower' },
      { figure: `${name}: p95 latency`, value: r.p95, text: ms(r.p95), unit: 'ms', targetText: '-', better: 'lower' },
      {
        figure: `${name}: p99 latency`,
        value: r.p99,
        text: ms(r.p99),
        unit: 'ms',
        target: p99Target,
        targetText: `< ${p99Target} ms`,
        better: 'lower',
      },
      {
        figure: `${name}: non-2xx answers and errors`,
        value: non2xx,
        text: fmt(non2xx),
        unit: 'requests',
        target: 0,
        targetText: '0',
        better: 'lower',
        met: non2xx === 0,
      },
    );
  };
  stage('queries', q, QUERY_RATE, 50);
  stage('commands (to the 202)', c, COMMAND_RATE, 100);
  rows.push({
    figure: 'commands: 202s not matched by exactly one event',
    value: notOnce + unanswered,
    text: `${notOnce + unanswered} of ${fmt(c.accepted.length)}`,
    unit: 'events',
    target: 0,
    targetText: '0',
    better: 'lower',
    met: notOnce + unanswered === 0,
  });
  const note = `${SECTIONS} sections, ${CONNECTIONS} connections, ${SECONDS} s, rate limit raised to ${RATE_LIMIT}/min per identity`;
  for (const r of rows) {
    const met = r.met ?? (r.target === undefined ? undefined : r.value < r.target);
    say(`| ${r.figure} | ${r.text} | ${r.targetText} | ${met === undefined ? '-' : met ? 'yes' : 'no'} |`);
    record({ figure: `api ${r.figure}`, value: r.value, unit: r.unit, target: r.target, better: r.better, met: r.met, note });
  }
}

/** Asks a child to stop and waits for it to exit (SIGKILL after 20 s). */
function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (c.connected) c.send('stop', () => c.disconnect());
    else c.kill('SIGTERM');
  });
}

async function apiCpu(server: ChildProcess): Promise<number> {
  const answer = firstMessage<{ cpuSeconds: number }>(server, 'api-server');
  server.send('cpu');
  return (await answer).cpuSeconds;
}

function firstMessage<T>(c: ChildProcess, name: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`${name} exited (${code}) before answering`));
    c.once('exit', onExit);
    c.once('message', (m) => {
      c.off('exit', onExit);
      resolve(m as T);
    });
  });
}

async function request(load: ChildProcess, job: LoadJob): Promise<LoadResult> {
  const answer = firstMessage<{ ok?: LoadResult; error?: string }>(load, 'api-load');
  load.send(job);
  const a = await answer;
  if (!a.ok) throw new Error(`api-load: ${a.error}`);
  return a.ok;
}

/** Ids and tokens of the generated school: who may read or write what (the permission rules' subjects). */
async function seedFor(
  setup: ReturnType<SchoolGenerator['setup']>,
  school: SchoolGenerator,
  seated: Array<{ student_user_id: string; section_id: string }>,
  keys: ReturnType<typeof loadJwtKeys>,
  config: ReturnType<typeof loadConfig>,
): Promise<Seed> {
  const token = (sub: string, role: Role): Promise<string> => mintToken(keys, config, { sub, roles: [role] });
  const payloads = <T extends keyof EventPayloads>(type: T): Array<EventPayloads[T]> =>
    setup.filter((e) => e.eventType === type).map((e) => e.payload as EventPayloads[T]);
  const users = payloads('user.created');
  const teacherIds = users.filter((u) => u.userType === 'TEACHER').map((u) => u.userId);
  const teachers = await Promise.all(teacherIds.map(async (id) => ({ id, token: await token(id, 'teacher') })));
  const parentOf = new Map(payloads('student.parent.linked').map((l) => [l.studentUserId, l.parentUserId]));
  const students = await Promise.all(
    seated.map(async ({ student_user_id: id, section_id: section }) => {
      const parent = parentOf.get(id);
      return {
        id,
        token: await token(id, 'student'),
        section,
        parentToken: parent ? await token(parent, 'parent') : undefined,
      };
    }),
  );
  const seatedSections = new Set(students.map((s) => s.section));
  return {
    admin: await token('USR-ADMIN-001', 'admin'),
    periodId: `${school.year}-T1`,
    users: users.map((u) => u.userId),
    sections: [...school.sectionIds],
    teachers,
    assignments: payloads('teacher.assigned.to.course')
      .filter((a) => seatedSections.has(a.sectionId))
      .map((a) => ({ teacher: teacherIds.indexOf(a.teacherUserId), section: a.sectionId, course: a.courseId })),
    students,
  };
}

async function sizes(kafka: Kafka, topics: string[]): Promise<number> {
  let n = 0;
  for (const t of topics) n += await topicSize(kafka, t);
  return n;
}

async function endOffsets(kafka: Kafka, topics: string[]): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out = new Map<string, number>();
    for (const t of topics) for (const o of await admin.fetchTopicOffsets(t)) out.set(`${t}:${o.partition}`, Number(o.high));
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** eventType and eventId (headers) of every record between two sets of end offsets. */
async function readWindow(
  kafka: Kafka,
  topics: string[],
  from: Map<string, number>,
  to: Map<string, number>,
): Promise<Array<{ eventType: string; eventId: string }>> {
  const out: Array<{ eventType: string; eventId: string }> = [];
  const pending = new Set([...to].filter(([k, end]) => end > (from.get(k) ?? 0)).map(([k]) => k));
  if (!pending.size) return out;
  const consumer = kafka.consumer({ groupId: `bench-api-check-${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachMessage: ({ topic, partition, message }) => {
        const key = `${topic}:${partition}`;
        const offset = Number(message.offset);
        if (offset >= (from.get(key) ?? 0) && offset < (to.get(key) ?? 0))
          out.push({ eventType: String(message.headers?.eventType ?? ''), eventId: String(message.headers?.eventId ?? '') });
        if (offset >= (to.get(key) ?? 0) - 1 && pending.delete(key) && !pending.size) done();
        return Promise.resolve();
      },
    });
    await Promise.race([
      finished,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`reading the command window timed out (${[...pending].join(', ')} left)`)), 120_000),
      ),
    ]);
    return out;
  } finally {
    await consumer.disconnect();
  }
}

/** Until every processor group has no lag twice in a row (one second apart). */
async function drain(p: TestPipeline, kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const groups = p.host.runners.map((r) => ({ name: r.def.name, groupId: r.group, topics: r.def.topics.map((t) => p.topic(t)) }));
    for (let quiet = 0; quiet < 2;) {
      await new Promise((r) => setTimeout(r, 1000));
      quiet = Object.values(await groupLag(admin, groups)).every((l) => l === 0) ? quiet + 1 : 0;
    }
  } finally {
    await admin.disconnect();
  }
}

main()
  .then(
    () => cleanUp(),
    async (e: unknown) => {
      process.stderr.write(`bench:api: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      await cleanUp().catch((err: unknown) => process.stderr.write(`bench:api: cleanup: ${String(err)}\n`));
      process.exit(1);
    },
  )
  .then(() => process.exit(0))
  .catch((e: unknown) => {
    process.stderr.write(`bench:api: cleanup: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
