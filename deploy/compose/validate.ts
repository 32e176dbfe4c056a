import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { parseCli, runCli } from '../../lib/cli';
import { loadConfig } from '../../lib/config';
import { ensureComposeSchema } from '../local/install';
import { checkCompose, type ComposeFile } from './check';

const HELP = `usage: npm run compose:validate -- [file]

Validates docker-compose.kafka.yml (or the given file) offline: against the Compose specification's JSON
schema (from compose-go, the loader docker compose uses; cached under STACK_CACHE_DIR on first use), then
the project's own rules: ports on 127.0.0.1, a healthcheck on every service and depends_on waiting for it,
a named volume for every service that keeps data, the native stack's versions (deploy/local/install.ts).`;

runCli('compose:validate', () => {
  const { positionals } = parseCli({ name: 'compose:validate', help: HELP, options: {}, allowPositionals: true });
  const file = path.resolve(positionals[0] ?? 'docker-compose.kafka.yml');
  const doc = parse(fs.readFileSync(file, 'utf8')) as ComposeFile;
  const schemaFile = ensureComposeSchema(loadConfig().stack.cacheDir, (m) => process.stdout.write(`${m}\n`));
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as object);
  const problems = validate(doc) ? [] : (validate.errors ?? []).map((e) => `schema: ${e.instancePath || '/'} ${e.message ?? ''}`);
  problems.push(...checkCompose(doc));
  const rel = path.relative(process.cwd(), file);
  if (problems.length) {
    for (const p of problems) process.stdout.write(`FAIL ${rel}: ${p}\n`);
    process.exitCode = 1;
  } else process.stdout.write(`ok   ${rel}: Compose specification (${path.basename(schemaFile)}) and project rules\n`);
});
