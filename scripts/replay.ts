import { parseCli, runCli, timeFlag, UsageError } from '../lib/cli';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { PROCESSOR_NAMES } from '../processors/all';
import { rebuild } from '../processors/replay/rebuild';
import { progressPrinter } from '../processors/replay/progress';

const HELP = `usage: npm run replay -- --projection <name> | --all [--from earliest | --from-time <iso>] [--until <iso> [--snapshot <label>]] [--dry-run] [--drop-old]

Rebuilds projections from the topics into a new version, verifies it caught up, and switches it live.
  --projection NAME   a projection (repeatable): ${PROCESSOR_NAMES.join(', ')}
  --all               every projection (${PROCESSOR_NAMES.join(', ')})
  --from earliest     from the start of the topics (default)
  --from-time ISO     from the first records at or after this time
  --until ISO         stop at this time and keep a read-only snapshot instead of switching
  --snapshot LABEL    name of that snapshot
  --dry-run           print the plan only
  --drop-old          drop the previous version after the switch`;

/** `npm run replay`: rebuild Postgres projections from the topics (see processors/replay/rebuild.ts). */
runCli('replay', async () => {
  const { values } = parseCli({
    name: 'replay',
    help: HELP,
    options: {
      projection: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      from: { type: 'string' },
      'from-time': { type: 'string' },
      until: { type: 'string' },
      snapshot: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'drop-old': { type: 'boolean' },
    },
  });
  const names = values.all ? [...PROCESSOR_NAMES] : (values.projection ?? []);
  if (!names.length) throw new UsageError('give --projection <name> or --all');
  const unknown = names.filter((n) => !PROCESSOR_NAMES.includes(n));
  if (unknown.length) throw new UsageError(`unknown projection ${unknown.join(', ')}; known: ${PROCESSOR_NAMES.join(', ')}`);
  if (values.from !== undefined && values.from !== 'earliest') throw new UsageError('--from accepts only "earliest" (or use --from-time)');
  const fromTime = timeFlag('from-time', values['from-time']);
  const until = timeFlag('until', values.until);
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const logger = createLogger(config, 'replay');
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  for (const name of names) {
    const progress = progressPrinter(name);
    const r = await rebuild(config, logger, {
      name,
      fromTime,
      until,
      snapshot: values.snapshot,
      dryRun: values['dry-run'],
      dropOld: values['drop-old'],
      signal: abort.signal,
      onProgress: progress.print,
    });
    progress.end();
    if (r.plan) process.stdout.write(`${name}: ${r.plan}\n`);
    else
      process.stdout.write(
        `${name}: ${r.records.toLocaleString('en')} records in ${r.seconds.toFixed(1)} s → ${r.switched ? `${r.target} is live (previous kept as ${r.oldSchema ?? 'dropped'})` : `${r.target} (read-only snapshot)`}\n`,
      );
  }
});
