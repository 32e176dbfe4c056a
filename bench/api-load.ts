import { seededRandom } from '../lib/rng';
import autocannon from 'autocannon';

/**
 * The load generator of `npm run bench:api`, forked by bench/api.ts so that it shares no event
 * loop with the API (bench/api-server.ts) nor with the processors (bench/api.ts): a busy loop in
 * either would delay the moment autocannon reads a response and inflate the latency it reports.
 *
 * autocannon's `overallRate` is not a steady arrival rate: it gives each connection a quota per
 * second, and a connection sends its quota back to back as soon as its second starts (one timer
 * per connection, all created in the same tick). With 100 connections at 10 req/s each, 100
 * requests would hit the API at once every second and then nothing: a burst that measures
 * queueing, not a 1,000 req/s load. So every connection here is its own autocannon instance
 * (`overallRate` = its share), started 1/connections of a second after the previous one: the
 * seconds of the connections are staggered and the aggregate arrives evenly. Latencies of all
 * instances are collected from their `response` events (exact percentiles, not merged
 * histograms), and each instance sends a fixed `amount` (rate × seconds) and waits for every
 * answer, so no request is left in flight when the run ends.
 */

export interface Teacher {
  id: string;
  token: string;
}
export interface Student {
  id: string;
  token: string;
  section: string;
  /** A parent linked to the student, when the school has one. */
  parentToken?: string;
}
/** What the load needs to address real ids with tokens allowed to read or write them. */
export interface Seed {
  admin: string;
  periodId: string;
  users: string[];
  sections: string[];
  teachers: Teacher[];
  /** Who teaches which course of which section (teacher: index in teachers); only sections with seated students. */
  assignments: Array<{ teacher: number; section: string; course: string }>;
  /** Students actively enrolled (their saga completed). */
  students: Student[];
}
export interface LoadJob {
  kind: 'queries' | 'commands';
  base: string;
  rate: number;
  seconds: number;
  connections: number;
  seed: Seed;
}
export interface LoadResult {
  answered: number;
  /** From the first request to the last answer. */
  seconds: number;
  /** CPU time of this process (the load generator) over the run, in seconds. */
  cpuSeconds: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** eventId of every 202 (commands). */
  accepted: string[];
  /** Latency per route (method and path with ids as {id}). */
  routes: Record<string, { n: number; p50: number; p99: number }>;
}

type Pick = <T>(a: readonly T[]) => T;
type Req = autocannon.Request;

function bySection(seed: Seed): Map<string, Student[]> {
  const out = new Map<string, Student[]>();
  for (const s of seed.students) out.set(s.section, [...(out.get(s.section) ?? []), s]);
  return out;
}

const auth = (token: string, json = false): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  ...(json ? { 'content-type': 'application/json' } : {}),
});
const get = (path: string, token: string): Req => ({ method: 'GET', path, headers: auth(token) });
const post = (path: string, token: string, body: unknown): Req => ({
  method: 'POST',
  path,
  headers: auth(token, true),
  body: JSON.stringify(body),
});

/** The query mix, one sixth each, with the identity a real client would use (so authorization does its lookups). */
function queries(seed: Seed, pick: Pick): () => Req {
  const seated = bySection(seed);
  const kinds: Array<() => Req> = [
    () => get(`/api/v1/users/${pick(seed.users)}`, seed.admin),
    () => get(`/api/v1/academic/sections/${pick(seed.sections)}`, pick(seed.teachers).token),
    () => {
      const s = pick(seed.students);
      return get(`/api/v1/academic/enrollments/student/${s.id}`, s.token);
    },
    () => {
      const s = pick(seed.students);
      return get(`/api/v1/grades/student/${s.id}/period/${seed.periodId}`, s.parentToken ?? s.token);
    },
    () => {
      // A teacher reading a student of a section they teach: the 'taught' rule (two lookups).
      const a = pick(seed.assignments);
      return get(`/api/v1/attendance/student/${pick(seated.get(a.section)!).id}/summary`, seed.teachers[a.teacher]!.token);
    },
    () => {
      const t = pick(seed.teachers);
      return get(`/api/v1/assignments/teacher/${t.id}/courses`, t.token);
    },
    () => {
      // The 360: the users document composed with the grades and attendance projections at query time.
      const s = pick(seed.students);
      return get(`/api/v1/users/${s.id}/student360`, s.parentToken ?? s.token);
    },
  ];
  return () => pick(kinds)();
}

/** Half grades, half attendance marks, by the teacher of the section and course, for a student seated there. */
function commands(seed: Seed, pick: Pick, rand: () => number): () => Req {
  const seated = bySection(seed);
  const evals = ['EXAM', 'QUIZ', 'HOMEWORK', 'PROJECT', 'PARTICIPATION'] as const;
  const marks = ['PRESENT', 'PRESENT', 'PRESENT', 'LATE', 'ABSENT'] as const;
  const firstMonday = Date.UTC(2025, 2, 3);
  return () => {
    const a = pick(seed.assignments);
    const student = pick(seated.get(a.section)!).id;
    const token = seed.teachers[a.teacher]!.token;
    if (rand() < 0.5)
      return post('/api/v1/grades', token, {
        studentUserId: student,
        sectionId: a.section,
        courseId: a.course,
        periodId: seed.periodId,
        evaluationType: pick(evals),
        score: Math.round(rand() * 20),
        maxScore: 20,
        comment: null,
      });
    const day = firstMonday + (Math.floor(rand() * 17) * 7 + Math.floor(rand() * 5)) * 86_400_000; // a weekday of term 1
    return post('/api/v1/attendance/marks', token, {
      studentUserId: student,
      sectionId: a.section,
      date: new Date(day).toISOString().slice(0, 10),
      status: pick(marks),
    });
  };
}

/** `GET grades/student/{id}/period/{id}`: every path segment with a digit is an id. */
const routeOf = (r: Req): string =>
  `${r.method} ${(r.path ?? '')
    .split('/')
    .slice(3)
    .map((seg) => (/\d/.test(seg) ? '{id}' : seg))
    .join('/')}`;

function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const rand = seededRandom(job.kind === 'queries' ? 7 : 11);
  const pick: Pick = (a) => a[Math.floor(rand() * a.length)]!;
  const next = job.kind === 'queries' ? queries(job.seed, pick) : commands(job.seed, pick, rand);
  const perConnection = job.rate / job.connections;
  if (!Number.isInteger(perConnection)) throw new Error(`rate ${job.rate} is not a multiple of ${job.connections} connections`);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const accepted: string[] = [];
  let errors = 0;
  let last = 0;
  let timeouts = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const byRoute = new Map<string, number[]>();
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      // One connection per instance and no pipelining: the answer is to the request set up last.
      let route = '';
      const instance = autocannon(
        {
          url: job.base,
          connections: 1,
          overallRate: perConnection,
          amount: perConnection * job.seconds,
          timeout: 10,
          requests: [
            {
              setupRequest: (req: Req) => {
                const r = { ...req, ...next() };
                route = routeOf(r);
                return r;
              },
              onResponse: (status: number, body: string) => {
                if (status === 202) accepted.push(String((JSON.parse(body) as { eventId: string }).eventId));
              },
            },
          ],
        },
        (err: unknown, r: autocannon.Result) => {
          if (err) return reject(err instanceof Error ? err : new Error('autocannon failed', { cause: err }));
          errors += r.errors - r.timeouts;
          timeouts += r.timeouts;
          resolve();
        },
      );
      instance.on('response', (_client, status: number, _bytes, ms: number) => {
        latencies.push(ms);
        const list = byRoute.get(route);
        if (list) list.push(ms);
        else byRoute.set(route, [ms]);
        last = performance.now();
        statuses[status] = (statuses[status] ?? 0) + 1;
      });
    });
  const started: Array<Promise<void>> = [];
  for (let i = 0; i < job.connections; i++) {
    started.push(one());
    await new Promise((r) => setTimeout(r, 1000 / job.connections));
  }
  await Promise.all(started);
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return {
    answered: latencies.length,
    // An instance ends a second after its last answer (the next second's quota finds nothing left to send).
    seconds: (last - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? NaN,
    statuses,
    errors,
    timeouts,
    accepted,
    routes: Object.fromEntries(
      [...byRoute].map(([route, l]) => {
        l.sort((a, b) => a - b);
        return [route, { n: l.length, p50: percentile(l, 0.5), p99: percentile(l, 0.99) }];
      }),
    ),
  };
}

// Forked by bench/api.ts: one job per message, answered with its result; gone with the parent.
if (require.main === module && process.send) {
  const answer = (m: unknown): void => void (process.connected && process.send!(m, (e: Error | null) => e && process.exit(1)));
  process.on('message', (job: unknown) => {
    if (typeof job !== 'object') return; // 'stop': the parent disconnects next
    runLoad(job as LoadJob).then(
      (r) => answer({ ok: r }),
      (e: unknown) => answer({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
