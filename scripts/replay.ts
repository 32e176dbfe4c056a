import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { PG_MIGRATIONS } from '../processors/all';
import { rebuild } from '../processors/replay/rebuild';
import { renderProgress } from '../processors/replay/progress';

const USAGE =
  'usage: npm run replay -- --projection <name> | --all [--from earliest | --from-time <iso>] [--until <iso> [--snapshot <label>]] [--dry-run] [--drop-old]';

function date(v: string | undefined, flag: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new Error(`${flag} must be an ISO-8601 instant, got ${JSON.stringify(v)}`);
  return d;
}

/** `npm run replay`: rebuild Postgres projections from the topics (see processors/replay/rebuild.ts). */
async function main(): Promise<void> {
  const { values } = parseArgs({
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
  const names = values.all ? Object.keys(PG_MIGRATIONS) : (values.projection ?? []);
  if (!names.length) throw new Error(USAGE);
  if (values.from !== undefined && values.from !== 'earliest')
    throw new Error(`--from accepts only "earliest" (or use --from-time); ${USAGE}`);
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const logger = createLogger(config, 'replay');
  const tty = process.stderr.isTTY;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  for (const name of names) {
    let last = 0;
    const r = await rebuild(config, logger, {
      name,
      fromTime: date(values['from-time'], '--from-time'),
      until: date(values.until, '--until'),
      snapshot: values.snapshot,
      dryRun: values['dry-run'],
      dropOld: values['drop-old'],
      signal: abort.signal,
      onProgress: (p) => {
        if (tty) process.stderr.write(`\r${renderProgress(name, p, true)}\u001b[K`);
        else if (Date.now() - last > 5000) {
          last = Date.now();
          process.stderr.write(`${renderProgress(name, p, false)}\n`);
        }
      },
    });
    if (tty) process.stderr.write('\n');
    if (r.plan) process.stdout.write(`${name}: ${r.plan}\n`);
    else
      process.stdout.write(
        `${name}: ${r.records.toLocaleString('en')} records in ${r.seconds.toFixed(1)} s → ${r.switched ? `${r.target} is live (previous kept as ${r.oldSchema ?? 'dropped'})` : `${r.target} (read-only snapshot)`}\n`,
      );
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`\nreplay: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
