import type http from 'node:http';
import { numberFlag, parseCli, runCli, UsageError } from '../lib/cli';
import { createApp } from '../api/app';
import { loadJwtKeys, mintToken } from '../api/auth/jwt';
import { createApiDeps } from '../api/deps';
import { liveLocator } from '../api/locator';
import { systemClock } from '../lib/clock';
import { loadConfig, type Config } from '../lib/config';
import { createKafka } from '../lib/clients/kafka';
import { createMongoClient } from '../lib/clients/mongo';
import { createPgPool } from '../lib/clients/pg';
import { createSchemaRegistry } from '../lib/clients/registry';
import { ConfigError } from '../lib/errors';
import { createLogger } from '../lib/logger';
import { readToEnd } from '../lib/read-to-end';
import { status, up } from '../deploy/local/stack';
import { createProcessors } from '../processors/all';
import { migrateAll } from '../processors/run';
import { ProcessorHost } from '../processors/runtime/host';
import { projectionDb, projectionSchema } from '../processors/runtime/names';
import { quoteIdent } from '../processors/runtime/sql';
import type { ProcessorDefinition } from '../processors/runtime/types';
import { EventCodec } from '../schemas/codec';
import { codecKeys } from '../schemas/codec-keys';
import type { SchoolEvent } from '../schemas/generated/events';
import { createEventProducer, EventPublisher } from '../schemas/publisher';
import { registerAll } from '../schemas/register';
import { DOMAIN_TOPICS, dlqTopic, topicCatalog } from '../topics/catalog';
import { applyTopics } from '../topics/provision';
import { groupLag } from './lag';
import { SchoolGenerator } from './school';

/**
 * `npm run demo`, the README's main job: the local stack, topics, schemas, migrations,
 * every processor under one supervisor, a generated school, enrollments (some failing for
 * real reasons), weeks of grades and attendance, then a summary. Serves until Ctrl-C
 * unless --exit.
 */
const say = (m: string): void => void process.stdout.write(`${m}\n`);

const HELP = `usage: npm run demo -- [--weeks N] [--sections N] [--exit]

The main job on the local stack: starts it (stack:up), creates topics and schemas, runs every processor and
the API, generates a school (enrollments, some failing for real reasons; weeks of grades and attendance),
prints a summary and serves until Ctrl-C.
  --weeks N      weeks of grades and attendance, 1..20 (default 3)
  --sections N   sections of the school, 3..80 (default 8)
  --exit         stop after the summary instead of serving`;

async function main(): Promise<void> {
  const { values } = parseCli({
    name: 'demo',
    help: HELP,
    options: {
      exit: { type: 'boolean', default: false },
      weeks: { type: 'string', default: '3' },
      sections: { type: 'string', default: '8' },
    },
  });
  const weeks = numberFlag('weeks', values.weeks, 1)!;
  const sections = numberFlag('sections', values.sections, 3)!;
  if (!(weeks <= 20 && Number.isInteger(weeks)) || !(sections <= 80 && Number.isInteger(sections)))
    throw new UsageError('--weeks must be a whole number 1..20 and --sections 3..80');
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const logger = createLogger(config, 'demo');

  say('== 1/7 local stack');
  await up(config);
  say('== 2/7 topics, schemas, migrations');
  const kafka = createKafka(config, logger);
  const admin = kafka.admin();
  await admin.connect();
  const changes = await applyTopics(admin, topicCatalog(config));
  say(`topics: ${changes.filter((c) => c.action !== 'unchanged').length} changed, ${changes.length} in the catalog`);
  say(`schemas: ${(await registerAll(config.registry.url)).length} subjects registered`);
  await migrateAll(config, logger);
  say('migrations: applied');

  say('== 3/7 processors');
  const defs = createProcessors(config, logger);
  const host = new ProcessorHost(defs, config, logger);
  let stopping = false;
  const closers: Array<() => Promise<void>> = [];
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      for (const c of closers) await c().catch(() => undefined);
      await host.stop().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  await host.start();
  say(`${defs.map((d) => d.name).join(', ')} running; /metrics, /health, /ready on :${host.port}`);
  const keys = loadJwtKeys(config);
  const api = await createApiDeps(config, logger, systemClock, keys, liveLocator(config));
  const server = await new Promise<http.Server>((resolve, reject) => {
    const srv = createApp(api.deps).listen(config.api.port, '127.0.0.1', () => resolve(srv));
    srv.once('error', (e) => reject(new ConfigError(`API port ${config.api.port} is taken (${e.message}); set API_PORT`)));
  });
  closers.push(async () => {
    await new Promise((r) => server.close(r));
    await api.close();
  });
  say(`HTTP API on http://127.0.0.1:${config.api.port} (interactive docs at /docs, operator console at /console)`);

  const producer = createEventProducer(kafka);
  await producer.connect();
  // Encrypted as the API's events are (PRIVACY_ENCRYPT): the demo's topics hold no personal value in plaintext.
  const keysPool = createPgPool(config, { max: 2 });
  closers.push(() => keysPool.end());
  const publisher = new EventPublisher(producer, new EventCodec(createSchemaRegistry(config), await codecKeys(config, keysPool)));
  const tag = `D${new Date().toISOString().slice(5, 19).replace(/[-:T]/g, '')}`;
  const school = new SchoolGenerator(
    tag,
    { sections, studentsPerSection: 30, teachers: Math.max(4, Math.ceil(sections * 2.5)), weeks, gradesPerCoursePerWeek: 1 },
    systemClock,
  );
  let maxLag = 0;
  let published = 0;
  const publish = async (events: SchoolEvent[]): Promise<void> => {
    for (let i = 0; i < events.length; i += 1000) await publisher.publish(...events.slice(i, i + 1000));
    published += events.length;
  };
  const settle = async (what: string): Promise<void> => {
    const t0 = Date.now();
    let quiet = 0;
    while (quiet < 2) {
      await new Promise((r) => setTimeout(r, 1000));
      const lag = await groupLag(
        admin,
        defs.map((d) => ({ name: d.name, groupId: d.name, topics: d.topics })),
      );
      const total = Object.values(lag).reduce((s, x) => s + x, 0);
      maxLag = Math.max(maxLag, ...Object.values(lag));
      quiet = total === 0 ? quiet + 1 : 0;
      say(
        `   ${what}: ${((Date.now() - t0) / 1000).toFixed(0)} s, lag ${Object.entries(lag)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
    }
  };

  say(`== 4/7 a school (run ${tag}): ${sections} sections, ${sections * 30} students, parents, teachers, courses, schedules`);
  await publish(school.setup());
  await settle('projecting the school');
  say(`== 5/7 ${sections * 30 + Math.ceil(sections * 30 * 0.05) + 3} enrollments (sagas)`);
  await publish(school.enrollments());
  await settle('sagas');
  school.seatAs(await completedEnrollments(config, tag));
  say(`== 6/7 ${weeks} week(s) of grades and daily attendance`);
  for (let w = 0; w < weeks; w++) {
    await publish(school.week(w));
    say(`   week ${w + 1}: ${published} events published so far`);
  }
  await settle('grades and attendance');
  await producer.disconnect();
  // A few commands a hurried user gets wrong, through the API as a client would send them.
  const rejected = await mistakes(
    `http://127.0.0.1:${config.api.port}`,
    await mintToken(keys, config, { sub: 'USR-DEMO-ADMIN', roles: ['admin'] }),
    school,
  );

  say('== 7/7 summary');
  await summary(config, tag, school, defs, maxLag, published, rejected);
  say('\nstack status:');
  await status(config);
  const token = await mintToken(keys, config, { sub: 'USR-DEMO-ADMIN', roles: ['admin'] });
  const student = school.enrollmentIds.length ? await firstCompletedStudent(config, tag) : undefined;
  say(
    `\nTry the API (the token is valid for ${Math.round(config.api.tokenTtlSeconds / 60)} minutes; mint more with npm run token -- --sub <id> --role admin):`,
  );
  say(`  export TOKEN=${token}`);
  say(
    `  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${config.api.port}/api/v1/academic/enrollments?status=FAILED\\&limit=5`,
  );
  if (student) say(`  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${config.api.port}/api/v1/users/${student}/student360`);
  if (values.exit) await stop(0);
  say('\nserving; Ctrl-C to stop');
}

/** The live read models the summary reads. */
const ACADEMIC = quoteIdent(projectionSchema('academic'));
const GRADES = quoteIdent(projectionSchema('grades'));

/** Who sits where once the sagas ended: grades and marks go only to a student's section of a COMPLETED enrollment. */
async function completedEnrollments(config: Config, tag: string): Promise<Array<{ student: string; section: string }>> {
  const pool = createPgPool(config);
  try {
    const r = await pool.query<{ student: string; section: string }>(
      `select student_user_id student, section_id section from ${ACADEMIC}.enrollments
       where enrollment_id like $1 and status = 'COMPLETED' order by enrollment_id`,
      [`ENR-${tag}-%`],
    );
    return r.rows;
  } finally {
    await pool.end();
  }
}

async function firstCompletedStudent(config: Config, tag: string): Promise<string | undefined> {
  const pool = createPgPool(config);
  try {
    const r = await pool.query<{ s: string }>(
      `select student_user_id s from ${ACADEMIC}.enrollments where enrollment_id like $1 and status = 'COMPLETED' order by enrollment_id limit 1`,
      [`ENR-${tag}-%`],
    );
    return r.rows[0]?.s;
  } finally {
    await pool.end();
  }
}

/** A date in the future for any clock (ATTENDANCE_DATE_IN_FUTURE). */
const nextYear = (): string => `${new Date().getUTCFullYear() + 1}-03-18`;

/**
 * Sends commands that break the school's rules (docs/invariants.md) through the API: a score above its maximum,
 * an absurd maximum, a zero-minute tardiness, a grade and a mark for a student in a section they are not
 * enrolled in, a grade in a period of no year of the school, a mark dated next year. Answers how many were
 * refused, by rule code (all of them should be: nothing is published).
 */
async function mistakes(base: string, token: string, school: SchoolGenerator): Promise<Map<string, number>> {
  const [a, b] = [school.seated[0], school.seated.find((x) => x.section !== school.seated[0]?.section)];
  const byRule = new Map<string, number>();
  if (!a || !b) return byRule;
  const grade = {
    studentUserId: a.student,
    sectionId: a.section,
    courseId: 'CRS-MATH',
    periodId: `${school.year}-T1`,
    evaluationType: 'QUIZ',
    score: 12,
    maxScore: 20,
    comment: null,
  };
  const tries: Array<[string, Record<string, unknown>]> = [
    ['/api/v1/grades', { ...grade, score: 25 }],
    ['/api/v1/grades', { ...grade, maxScore: 5000 }],
    ['/api/v1/grades', { ...grade, sectionId: b.section }],
    ['/api/v1/attendance/marks', { studentUserId: a.student, sectionId: b.section, date: '2025-03-18', status: 'PRESENT' }],
    ['/api/v1/attendance/tardiness', { studentUserId: a.student, sectionId: a.section, date: '2025-03-18', minutesLate: 0 }],
    ['/api/v1/grades', { ...grade, periodId: `${school.year}-T9` }],
    ['/api/v1/attendance/marks', { studentUserId: a.student, sectionId: a.section, date: nextYear(), status: 'PRESENT' }],
  ];
  for (const [url, body] of tries) {
    const r = await fetch(`${base}${url}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const problem = (await r.json().catch(() => ({}))) as { errors?: Array<{ rule?: string }> };
    const rule = r.status < 400 ? `accepted (${r.status})` : (problem.errors?.find((e) => e.rule)?.rule ?? `HTTP ${r.status}`);
    byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
  }
  return byRule;
}

async function summary(
  config: Config,
  tag: string,
  school: SchoolGenerator,
  defs: ProcessorDefinition[],
  maxLag: number,
  published: number,
  rejected: Map<string, number>,
): Promise<void> {
  const pool = createPgPool(config);
  const mongo = createMongoClient(config);
  await mongo.connect();
  try {
    const rows = (
      await pool.query<{ status: string; failed_step: string | null; reason: string | null; n: string }>(
        `select status, failed_step, regexp_replace(coalesce(failure_reason, ''), '[A-Z]+-${tag}-[0-9A-Z]+', '<id>', 'g') reason, count(*) n
         from ${ACADEMIC}.enrollments where enrollment_id like $1 group by 1, 2, 3 order by 1, 4 desc`,
        [`ENR-${tag}-%`],
      )
    ).rows;
    say('\n| enrollments | step | reason | count |\n|---|---|---|---|');
    for (const r of rows) say(`| ${r.status} | ${r.failed_step ?? '-'} | ${r.reason || '-'} | ${r.n} |`);
    const avg = (
      await pool.query<{ n: string; mean: number | null; below: string }>(
        `select count(*) n, round(avg(average)::numeric, 2)::float mean, count(*) filter (where average < $2) below from ${GRADES}.period_averages where student_user_id like $1`,
        [`USR-${tag}-%`, config.rules.passingAverage],
      )
    ).rows[0];
    const kafka = createKafka(config);
    const codec = new EventCodec(createSchemaRegistry(config));
    const count = async (topic: string, types: string[]): Promise<number> => {
      let n = 0;
      for (const r of await readToEnd(kafka, [topic])) {
        if (!r.value) continue;
        const { event } = await codec.decode(r.value).catch(() => ({ event: undefined }));
        if (event && types.includes(event.eventType) && JSON.stringify(event.payload).includes(tag)) n++;
      }
      return n;
    };
    const notifications = await mongo
      .db(projectionDb(config))
      .collection<{ _id: string; status: string }>('notifications')
      .aggregate<{ _id: string; n: number }>([
        { $match: { recipientUserId: { $regex: `^USR-${tag}-` } } },
        { $group: { _id: '$status', n: { $sum: 1 } } },
      ])
      .toArray();
    const deadLetters = await readToEnd(kafka, DOMAIN_TOPICS.map(dlqTopic));
    const dead = deadLetters.length;
    const deadByRule = new Map<string, number>();
    for (const r of deadLetters) {
      const rule = r.headers?.['dlq.rule']?.toString() ?? r.headers?.['dlq.error.code']?.toString() ?? 'unknown';
      deadByRule.set(rule, (deadByRule.get(rule) ?? 0) + 1);
    }
    const byCount = (m: Map<string, number>): string =>
      [...m]
        .sort(([x], [y]) => x.localeCompare(y))
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || '-';
    say('\n| figure | value |\n|---|---|');
    say(`| events published by the demo | ${published} |`);
    say(`| enrollments submitted | ${school.enrollmentIds.length} |`);
    say(
      `| period averages (student x course) | ${avg?.n ?? 0}, mean ${avg?.mean ?? '-'}, ${avg?.below ?? 0} below ${config.rules.passingAverage} |`,
    );
    say(`| performance alerts | ${await count('grades-events', ['student.performance.alert'])} |`);
    say(`| attendance alerts | ${await count('attendance-events', ['attendance.pattern.alert'])} |`);
    say(
      `| schedule conflicts / workload updates | ${await count('assignment-events', ['schedule.conflict.detected'])} / ${await count('assignment-events', ['workload.updated'])} |`,
    );
    say(`| notifications by status | ${notifications.map((x) => `${x._id} ${x.n}`).join(', ') || '-'} |`);
    say(`| rejected commands by rule (API, nothing published) | ${byCount(rejected)} |`);
    say(`| dead letters (all topics, all time) | ${dead}${dead ? ` (${byCount(deadByRule)})` : ''} |`);
    say(`| max consumer lag observed (records, one group) | ${maxLag} |`);
    say(`| processors | ${defs.map((d) => d.name).join(', ')} |`);
    say(
      `| metrics and alerts | Prometheus ${config.metrics.prometheusUrl} (alerts: /classic/alerts; it scrapes the processors and the API) |`,
    );
    say(
      `| operator console | http://127.0.0.1:${config.api.port}/console (lag, dead letters, sagas and their traces; the admin token below) |`,
    );
  } finally {
    await pool.end();
    await mongo.close();
  }
}

runCli('demo', main);
