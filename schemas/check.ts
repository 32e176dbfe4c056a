import { loadConfig } from '../lib/config';
import { compare, type CompatIssue } from './compat';
import { EVENT_DEFINITIONS, EVENT_TYPES } from './generated/events';
import { subjectOf } from './subjects';

/**
 * `npm run schemas:check`: compares every schema with the last released version of
 * its subject (the registry's latest) and fails, naming subject and field, on a change
 * that breaks compatibility. Subjects the registry does not have yet are new: fine.
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
): Promise<Array<{ subject: string; status: 'new' | 'unchanged' | 'compatible' | 'incompatible'; issues: CompatIssue[] }>> {
  const out = [];
  for (const { subject, schema } of schemas) {
    const previous = await latestRegistered(registryUrl, subject);
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

if (require.main === module) {
  const schemas = EVENT_TYPES.map((t) => ({ subject: subjectOf(t), schema: EVENT_DEFINITIONS[t].schema }));
  checkAll(loadConfig().registry.url, schemas)
    .then((rows) => {
      let bad = 0;
      for (const r of rows) {
        process.stdout.write(`${r.status.padEnd(13)} ${r.subject}\n`);
        for (const i of r.issues) {
          bad++;
          process.stdout.write(`  ${i.direction}: ${i.message}\n`);
        }
      }
      process.stdout.write(bad ? `${bad} incompatible change(s)\n` : `${rows.length} subjects compatible\n`);
      if (bad) process.exit(1);
    })
    .catch((e: unknown) => {
      process.stderr.write(`schemas:check: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    });
}
