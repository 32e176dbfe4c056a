import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCli, runCli } from '../lib/cli';
import { loadConfig } from '../lib/config';
import { compare, type CompatIssue } from './compat';
import { EVENT_DEFINITIONS, EVENT_TYPES } from './generated/events';
import { subjectOf } from './subjects';
import { assembleAll } from './tools/assemble';

/**
 * `npm run schemas:check`: compares every schema with the last released version of
 * its subject (the registry's latest) and fails, naming subject and field, on a change
 * that breaks compatibility. Subjects the registry does not have yet are new: fine.
 * `--against-git <rev>` compares with the schemas committed at a revision instead.
 */
export async function latestRegistered(registryUrl: string, subject: string): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(`${registryUrl.replace(/\/$/, '')}/subjects/${encodeURIComponent(subject)}/versions/latest`, {
    signal: AbortSignal.timeout(10000),
  });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`registry answered ${res.status} for ${subject}`);
  const body = (await res.json()) as { schema: string };
  return JSON.parse(body.schema) as Record<string, unknown>;
}

export async function checkAll(
  registryUrl: string,
  schemas: Array<{ subject: string; schema: Record<string, unknown> }>,
  previousOf: (subject: string) => Promise<Record<string, unknown> | undefined> = (subject) => latestRegistered(registryUrl, subject),
): Promise<Array<{ subject: string; status: 'new' | 'unchanged' | 'compatible' | 'incompatible'; issues: CompatIssue[] }>> {
  const out = [];
  for (const { subject, schema } of schemas) {
    const previous = await previousOf(subject);
    if (!previous) {
      out.push({ subject, status: 'new' as const, issues: [] });
      continue;
    }
    if (JSON.stringify(previous) === JSON.stringify(schema)) {
      out.push({ subject, status: 'unchanged' as const, issues: [] });
      continue;
    }
    const issues = compare(schema, previous);
    out.push({ subject, status: issues.length ? ('incompatible' as const) : ('compatible' as const), issues });
  }
  return out;
}

/** The schemas as committed at a git revision: the sources of that revision, assembled. */
export function schemasAtRevision(rev: string): Map<string, Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'));
  try {
    const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
    const archive = execFileSync('git', ['-C', root, 'archive', rev, 'schemas'], { maxBuffer: 64 * 1024 * 1024 });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    return new Map(assembleAll(path.join(dir, 'schemas')).map((e) => [`${e.topic}-${e.recordName}`, e.schema]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const HELP = `usage: npm run schemas:check -- [--against-git <revision>]

Checks every event schema of this checkout for FULL compatibility (old readers read new data, new readers
read old data) with the last released version of its subject: the schema registry's latest (REGISTRY_URL),
or the schemas of a git revision. Exit 1 on an incompatible change, naming subject and field.
  --against-git REV   compare with the schemas at this revision instead of the registry`;

if (require.main === module)
  runCli('schemas:check', async () => {
    const { values } = parseCli({ name: 'schemas:check', help: HELP, options: { 'against-git': { type: 'string' } } });
    const schemas = EVENT_TYPES.map((t) => ({ subject: subjectOf(t), schema: EVENT_DEFINITIONS[t].schema }));
    const rev = values['against-git'];
    const released = rev ? schemasAtRevision(rev) : undefined;
    const previousOf = released ? (subject: string) => Promise.resolve(released.get(subject)) : undefined;
    process.stdout.write(`comparing with ${rev ? `git revision ${rev}` : 'the registry (latest version of each subject)'}\n`);
    const rows = await checkAll(loadConfig().registry.url, schemas, previousOf);
    let bad = 0;
    for (const r of rows) {
      process.stdout.write(`${r.status.padEnd(13)} ${r.subject}\n`);
      for (const i of r.issues) {
        bad++;
        process.stdout.write(`  ${i.direction}: ${i.message}\n`);
      }
    }
    process.stdout.write(bad ? `${bad} incompatible change(s)\n` : `${rows.length} subjects compatible\n`);
    if (bad) process.exitCode = 1;
  });
