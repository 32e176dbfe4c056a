import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCli, runCli } from '../lib/cli';
import { loadConfig } from '../lib/config';
import { compareWithBreaks, type CompatIssue, type ReviewedBreak } from './compat';
import { EVENT_DEFINITIONS, EVENT_TYPES } from './generated/events';
import { subjectOf } from './subjects';
import { assembleAll, loadLibrary, SCHEMAS_DIR } from './tools/assemble';

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

export type CheckStatus = 'new' | 'unchanged' | 'compatible' | 'accepted' | 'incompatible';

export interface CheckRow {
  subject: string;
  status: CheckStatus;
  issues: CompatIssue[];
  /** `accepted`: the reviewed exceptions (schemas/breaks.json) this change needed. */
  accepted?: ReviewedBreak[];
}

/** The reviewed one-time breaks (schemas/breaks.json): issue 21's personal fields widened by EncryptedString. */
export function loadBreaks(file = path.join(SCHEMAS_DIR, 'breaks.json')): ReviewedBreak[] {
  if (!fs.existsSync(file)) return [];
  const { breaks } = JSON.parse(fs.readFileSync(file, 'utf8')) as { breaks: ReviewedBreak[] };
  for (const b of breaks)
    if (typeof b.subject !== 'string' || typeof b.field !== 'string' || typeof b.reason !== 'string' || !b.reason)
      throw new Error(`${file}: every exception needs subject, field and reason, got ${JSON.stringify(b)}`);
  return breaks;
}

export async function checkAll(
  registryUrl: string,
  schemas: Array<{ subject: string; schema: Record<string, unknown> }>,
  previousOf: (subject: string) => Promise<Record<string, unknown> | undefined> = (subject) => latestRegistered(registryUrl, subject),
  breaks: readonly ReviewedBreak[] = [],
): Promise<CheckRow[]> {
  const encrypted = loadLibrary().library.get('school.common.EncryptedString') ?? {};
  const out: CheckRow[] = [];
  for (const { subject, schema } of schemas) {
    const previous = await previousOf(subject);
    if (!previous) {
      out.push({ subject, status: 'new', issues: [] });
      continue;
    }
    if (JSON.stringify(previous) === JSON.stringify(schema)) {
      out.push({ subject, status: 'unchanged', issues: [] });
      continue;
    }
    const { issues, accepted } = compareWithBreaks(
      schema,
      previous,
      breaks.filter((b) => b.subject === subject),
      encrypted,
    );
    if (accepted.length) out.push({ subject, status: 'accepted', issues, accepted });
    else out.push({ subject, status: issues.length ? 'incompatible' : 'compatible', issues });
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
or the schemas of a git revision. Exit 1 on an incompatible change, naming subject and field. A FORWARD break listed in schemas/breaks.json
(a reviewed one-time exception: a personal field's string branch widened by EncryptedString, issue 21) is
printed and accepted for exactly those fields and that change.
  --against-git REV   compare with the schemas at this revision instead of the registry`;

if (require.main === module)
  runCli('schemas:check', async () => {
    const { values } = parseCli({ name: 'schemas:check', help: HELP, options: { 'against-git': { type: 'string' } } });
    const schemas = EVENT_TYPES.map((t) => ({ subject: subjectOf(t), schema: EVENT_DEFINITIONS[t].schema }));
    const rev = values['against-git'];
    const released = rev ? schemasAtRevision(rev) : undefined;
    const previousOf = released ? (subject: string) => Promise.resolve(released.get(subject)) : undefined;
    process.stdout.write(`comparing with ${rev ? `git revision ${rev}` : 'the registry (latest version of each subject)'}\n`);
    const breaks = loadBreaks();
    const rows = await checkAll(loadConfig().registry.url, schemas, previousOf, breaks);
    let bad = 0;
    let accepted = 0;
    for (const r of rows) {
      process.stdout.write(`${r.status.padEnd(13)} ${r.subject}\n`);
      for (const i of r.issues) {
        bad++;
        process.stdout.write(`  ${i.direction}: ${i.message}\n`);
      }
      for (const b of r.accepted ?? []) {
        accepted++;
        process.stdout.write(`  FORWARD break accepted (schemas/breaks.json): ${b.field} widened by EncryptedString: ${b.reason}\n`);
      }
    }
    if (accepted) process.stdout.write(`${accepted} reviewed FORWARD break(s) accepted: consumers on the old schemas must upgrade first\n`);
    process.stdout.write(bad ? `${bad} incompatible change(s)\n` : `${rows.length} subjects compatible\n`);
    if (bad) process.exitCode = 1;
  });
