import { systemClock } from '../lib/clock';
import { loadConfig, type Config } from '../lib/config';
import { buildEvent } from '../schemas/envelope';
import type { SchoolEvent } from '../schemas/generated/events';
import { createKafka } from '../lib/clients/kafka';
import { groupLag } from '../scripts/lag';
import { eventually } from '../test/support';
import { isolatedGroups, TestPipeline } from '../test/support/pipeline';
import { CpuWatch, formatCpuSplit } from './lib/cpu';
import { record } from './lib/report';
import { fmt } from './lib/setup';

/**
 * `npm run bench:saga`: enrollments submitted at a steady rate through all six processors
 * (isolated topics, groups and stores), completion latency = the saga's last event time
 * minus submission time. Target on this machine (issue 17): 100 enrollments/s offered for 60 s
 * (6,000 sagas), all end, p99 < 1 s; the same at 200/s printed beside it. Each rate runs on a
 * pipeline of its own. BENCH_SAGA_RATES (comma-separated, default 100,200) and BENCH_SAGA_SECONDS
 * (default 60) size it; BENCH_SAGA_RATE runs one rate only.
 */
const TARGET_RATE = 100;

async function main(): Promise<void> {
  const rates = (process.env.BENCH_SAGA_RATE ?? process.env.BENCH_SAGA_RATES ?? `${TARGET_RATE},200`).split(',').map(Number);
  if (!rates.length || rates.some((r) => !Number.isFinite(r) || r <= 0)) throw new Error('BENCH_SAGA_RATES must be positive numbers');
  const seconds = Number(process.env.BENCH_SAGA_SECONDS ?? 60);
  const config = loadConfig({ LOG_LEVEL: 'error', ...process.env });
  for (const rate of rates) await stage(config, rate, seconds);
}

/** One rate, offered for `seconds`, on a fresh pipeline: prints its figures and records them. */
async function stage(config: Config, rate: number, seconds: number): Promise<void> {
  const n = rate * seconds;
  const p = new TestPipeline(config);
  await p.start();
  try {
    const year = `${p.run}-Y`;
    const sections = Math.ceil(n / 200);
    const setup: SchoolEvent[] = [];
    const ev = <T extends Parameters<typeof buildEvent>[0]>(
      type: T,
      payload: Parameters<typeof buildEvent<T>>[1],
      correlationId?: string,
    ): SchoolEvent => buildEvent(type, payload, { sourceService: 'bench', clock: systemClock, correlationId }) as SchoolEvent;
    setup.push(
      ev('academic.year.started', {
        academicYearId: year,
        name: 'Y',
        startDate: '2025-03-03',
        endDate: '2025-12-19',
        gradingPeriods: [{ periodId: `${year}-T1`, name: 'T1', startDate: '2025-03-03', endDate: '2025-07-11' }],
      }),
    );
    for (let s = 0; s < sections; s++) {
      const sectionId = `SEC-${p.run}-${s}`;
      setup.push(ev('section.created', { sectionId, academicYearId: year, name: `S${s}`, gradeLevel: 5, capacity: 200, homeroom: null }));
      setup.push(ev('course.assigned', { sectionId, courseId: 'CRS-MATH', courseName: 'Math', weeklyHours: 5 }));
      setup.push(
        ev('schedule.created', {
          scheduleId: `SCH-${p.run}-${s}`,
          sectionId,
          courseId: 'CRS-MATH',
          teacherUserId: `T-${s}`,
          dayOfWeek: 'MONDAY',
          startMinute: 480,
          endMinute: 570,
          room: null,
        }),
      );
    }
    for (let i = 0; i < n; i++) {
      setup.push(
        ev('user.created', {
          userId: `USR-${p.run}-${i}`,
          userType: 'STUDENT',
          firstName: `S${i}`,
          lastName: 'B',
          email: `s${i}@bench.example`,
          phone: null,
          birthDate: null,
          roles: ['STUDENT'],
        }),
      );
    }
    await p.publishMany(setup);
    await eventually(
      () =>
        p.db
          .collection('users')
          .findOne({ _id: `USR-${p.run}-${n - 1}` as never })
          .then((d) => d ?? undefined),
      'users projected',
      300000,
      500,
    );
    await eventually(
      async () =>
        ((await p.pool.query(`select count(*)::int n from "${p.schema('attendance')}".section_schedules`)).rows[0] as { n: number }).n ===
          sections || undefined,
      'schedules projected',
      300000,
      500,
    );

    // Each group's lag (committed vs end offsets) once a second until every saga ended: the saga runs at the
    // speed of its slowest hop, and that hop is the group whose lag grows.
    const groups = isolatedGroups(config, p.run, ['users', 'academic', 'grades', 'attendance', 'notifications', 'assignments']);
    const admin = createKafka(config).admin();
    await admin.connect();
    const maxLag: Record<string, number> = {};
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await new Promise((r) => setTimeout(r, 1000));
        for (const [g, lag] of Object.entries(await groupLag(admin, groups).catch(() => ({})))) maxLag[g] = Math.max(maxLag[g] ?? 0, lag);
      }
    })();
    const cpuWatch = new CpuWatch(new Map([[process.pid, 'bench + all processors']]));
    cpuWatch.start();
    process.stdout.write(`submitting ${fmt(n)} enrollments at ${rate}/s…\n`);
    const submitted = new Map<string, number>();
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const enrollmentId = `ENR-${p.run}-${i}`;
      submitted.set(enrollmentId, Date.now());
      await p.publisher.publish(
        ev(
          'student.enrolled',
          {
            enrollmentId,
            studentUserId: `USR-${p.run}-${i}`,
            sectionId: `SEC-${p.run}-${i % sections}`,
            academicYearId: year,
            enrollmentDate: '2025-03-03',
            enrollmentType: 'REGULAR',
            previousInstitution: null,
          },
          enrollmentId,
        ),
      );
    }
    const submitSeconds = (Date.now() - t0) / 1000;
    const rows = await eventually(
      async () => {
        const r = await p.pool.query<{ enrollment_id: string; status: string; updated_at: Date }>(
          `select enrollment_id, status, updated_at from "${p.schema('academic')}".enrollments where status in ('COMPLETED', 'FAILED')`,
        );
        return r.rows.length >= n ? r.rows : undefined;
      },
      'every saga to end',
      Number(process.env.BENCH_SAGA_WAIT_MS ?? 300000),
      500,
    ).catch(async (e: unknown) => {
      const r = await p.pool.query(
        `select status, current_step, count(*)::int n from "${p.schema('academic')}".enrollments group by 1, 2 order by 3 desc`,
      );
      process.stdout.write(`sagas when giving up: ${JSON.stringify(r.rows)}\n`);
      const m = await p.host.metrics.registry.metrics();
      process.stdout.write(
        m
          .split('\n')
          .filter((l) => /^processor_(events_total|consumer_lag|retries|dead)/.test(l) && /users|academic/.test(l))
          .join('\n') + '\n',
      );
      throw e;
    });
    sampling = false;
    await sampler;
    process.stdout.write(`CPU while sagas ran: ${formatCpuSplit(cpuWatch.stop())}\n`);
    await admin.disconnect();
    const retries = (await p.host.metrics.registry.metrics()).split('\n').filter((l) => /^school_events_retries_total/.test(l));
    process.stdout.write(`max consumer lag sampled per group (records): ${JSON.stringify(maxLag)}\n${retries.join('\n')}\n`);
    const end = Math.max(...rows.map((r) => r.updated_at.getTime()));
    const lat = rows.map((r) => r.updated_at.getTime() - (submitted.get(r.enrollment_id) ?? 0)).sort((a, b) => a - b);
    const pct = (q: number): number => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!;
    const completed = rows.filter((r) => r.status === 'COMPLETED').length;
    const sustained = n / ((end - t0) / 1000);
    process.stdout.write(
      `\nsaga benchmark: ${fmt(n)} enrollments offered at ${rate}/s over ${submitSeconds.toFixed(1)} s (${completed} completed)\n`,
    );
    process.stdout.write('| figure | value | target | met |\n|---|---|---|---|\n');
    process.stdout.write(
      `| enrollments/s (submitted → all sagas ended) | ${sustained.toFixed(1)} | ${rate} | ${sustained >= rate * 0.98 ? 'yes' : 'no'} |\n`,
    );
    process.stdout.write(`| completion latency p50 | ${pct(0.5)} ms | - | - |\n`);
    process.stdout.write(`| completion latency p95 | ${pct(0.95)} ms | - | - |\n`);
    process.stdout.write(
      `| completion latency p99 | ${pct(0.99)} ms | ${rate === TARGET_RATE ? `< 1000 ms | ${pct(0.99) < 1000 ? 'yes' : 'no'}` : '- | -'} |\n`,
    );
    const note = `${fmt(n)} enrollments offered at ${rate}/s, ${completed} completed`;
    // The target rate keeps the figures' historic names (and the targets); other rates are printed beside them.
    const targeted = rate === TARGET_RATE;
    const at = targeted ? '' : ` at ${rate}/s offered`;
    // met as printed above: the rate target allows 2% for the last sagas' tail.
    record({
      figure: `saga enrollments/s (submitted → all ended)${at}`,
      value: sustained,
      unit: 'enrollments/s',
      ...(targeted && { target: TARGET_RATE, met: sustained >= TARGET_RATE * 0.98 }),
      better: 'higher',
      note,
    });
    for (const q of [0.5, 0.95])
      record({ figure: `saga completion latency p${q * 100}${at}`, value: pct(q), unit: 'ms', better: 'lower', note });
    record({
      figure: `saga completion latency p99${at}`,
      value: pct(0.99),
      unit: 'ms',
      ...(targeted && { target: 1000 }),
      better: 'lower',
      note,
    });
  } finally {
    await p.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:saga: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
