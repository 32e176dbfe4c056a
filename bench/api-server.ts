import { loadConfig } from '../lib/config';
import { createPgPool } from '../lib/clients/pg';
import { ApiHarness } from '../test/support/api';
import { TestPipeline } from '../test/support/pipeline';

/**
 * The API under test of `npm run bench:api`, forked by bench/api.ts: the same ApiHarness the
 * e2e tests use, on the isolated topics and stores of the parent's TestPipeline (BENCH_API_RUN),
 * in a process of its own as in production (`npm run api`), so neither the processors nor the
 * load generator run on its event loop. The rate limit per identity is raised
 * (BENCH_API_RATE_LIMIT): a few tokens carry the whole load, which real clients would spread
 * over many more identities. Sends { port, keyDir } once listening; stops (dropping its schema)
 * on 'stop', SIGTERM/SIGINT, or when the parent goes away.
 */
async function main(): Promise<void> {
  const run = process.env.BENCH_API_RUN;
  if (!run) throw new Error('BENCH_API_RUN (the TestPipeline run id) is required');
  const config = loadConfig({ LOG_LEVEL: 'error', ...process.env });
  // The parent's pipeline naming (schemas, topics, database) without starting a second pipeline:
  // a TestPipeline that is never started, carrying the parent's run id.
  const names = Object.assign(Object.create(TestPipeline.prototype) as TestPipeline, { run, config, pool: createPgPool(config) });
  const api = new ApiHarness(names, { rateLimitPerMinute: Number(process.env.BENCH_API_RATE_LIMIT ?? config.api.rateLimitPerMinute) });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= api
      .stop()
      .catch((e: unknown) => void process.stderr.write(`api-server: stop: ${e instanceof Error ? e.message : String(e)}\n`))
      .finally(() => names.pool.end().catch(() => undefined))
      .finally(() => process.exit(0)));
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  process.on('disconnect', () => void stop());
  process.on('message', (m) => {
    if (m === 'stop') void stop();
    // CPU time of the API process so far (seconds), for the bench's account of who used the cores.
    if (m === 'cpu' && process.connected) {
      const c = process.cpuUsage();
      process.send!({ cpuSeconds: (c.user + c.system) / 1e6 });
    }
  });
  await api.start();
  process.send?.({ port: Number(new URL(api.base).port), keyDir: api.keyDir });
}

main().catch((e: unknown) => {
  process.stderr.write(`api-server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
