import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseCli, runCli } from '../lib/cli';

const KAFKA4 = '4.1.2';

const HELP = `usage: npm run test:kafka4 -- [--keep] [--version V]

Runs the integration and end-to-end tiers against a second local stack whose broker is Apache Kafka 4
(default ${KAFKA4}, jars from Maven Central) instead of the pinned 3.9: its own directory (.stack/kafka4) and
ports (Kafka 19092, PostgreSQL 15432, FerretDB 37017, registry 18081), so the main stack can stay up. The
stack is stopped at the end unless --keep. Exit 1 when a tier fails.
  --keep         leave the Kafka 4 stack running
  --version V    another Kafka 4 version`;

runCli('test:kafka4', () => {
  const { values } = parseCli({
    name: 'test:kafka4',
    help: HELP,
    options: { keep: { type: 'boolean', default: false }, version: { type: 'string', default: KAFKA4 } },
  });
  const env = {
    ...process.env,
    STACK_DIR: path.join('.stack', 'kafka4'),
    STACK_KAFKA_VERSION: values.version,
    KAFKA_BROKERS: '127.0.0.1:19092',
    PG_URL: 'postgres://postgres@127.0.0.1:15432/school',
    MONGO_URL: 'mongodb://127.0.0.1:37017/',
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
  };
  const npm = (...args: string[]): number => spawnSync('npm', ['run', ...args], { stdio: 'inherit', env }).status ?? 1;
  const results: Array<[string, number]> = [];
  try {
    if (npm('stack:up') !== 0) throw new Error(`the Kafka ${values.version} stack did not start (logs in .stack/kafka4/logs)`);
    for (const tier of ['test:int', 'test:e2e']) results.push([tier, npm(tier)]);
  } finally {
    if (!values.keep) npm('stack:down');
  }
  const summary = results.map(([t, code]) => `${t} ${code === 0 ? 'passed' : `FAILED (exit ${code})`}`).join(', ');
  process.stdout.write(`\ntest:kafka4: Apache Kafka ${values.version}: ${summary}\n`);
  if (results.some(([, code]) => code !== 0)) process.exitCode = 1;
});
