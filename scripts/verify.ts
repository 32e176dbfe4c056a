import { parseCli, runCli, UsageError } from '../lib/cli';
import { loadConfig } from '../lib/config';
import { createLogger } from '../lib/logger';
import { PROCESSOR_NAMES as PROJECTIONS } from '../processors/all';
import { verify } from '../processors/replay/verify';

const HELP = `usage: npm run projections:verify -- <${PROJECTIONS.join('|')}>

Rebuilds the projection from the topics into a throwaway snapshot up to the live positions and compares
it with the live one, row by row (documents for the Mongo projections). Exit 1 when they differ.`;

runCli('projections:verify', async () => {
  const { positionals } = parseCli({ name: 'projections:verify', help: HELP, options: {}, allowPositionals: true });
  const [name, ...rest] = positionals;
  if (!name || rest.length) throw new UsageError('give exactly one projection');
  if (!PROJECTIONS.includes(name)) throw new UsageError(`unknown projection ${name}; known: ${PROJECTIONS.join(', ')}`);
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const r = await verify(config, createLogger(config, 'verify'), { name });
  if (r.equal) process.stdout.write(`${name}: equal (${r.tables} tables, ${r.rows.toLocaleString('en')} rows)\n`);
  else {
    process.stdout.write(`${name}: DIFFERENT; first differences:\n${r.differences.slice(0, 10).join('\n')}\n`);
    process.exitCode = 1;
  }
});
