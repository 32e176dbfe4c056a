import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { verify } from '../processors/replay/verify';

/** `npm run projections:verify -- <name>`: live projection vs a fresh rebuild to the same positions. */
async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name) throw new Error('usage: npm run projections:verify -- <academic|assignments|grades|attendance|users|notifications>');
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const r = await verify(config, createLogger(config, 'verify'), { name });
  if (r.equal) process.stdout.write(`${name}: equal (${r.tables} tables, ${r.rows.toLocaleString('en')} rows)\n`);
  else {
    process.stdout.write(`${name}: DIFFERENT; first differences:\n${r.differences.slice(0, 10).join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`projections:verify: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
