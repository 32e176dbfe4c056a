import { APICURIO_VERSION, KAFKA_VERSION, POSTGRES_MAJOR } from '../local/install';

interface Service {
  image?: string;
  ports?: Array<string | { host_ip?: string }>;
  healthcheck?: { test?: unknown; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: Array<string | { type?: string; source?: string }>;
}

export interface ComposeFile {
  services?: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** The images whose versions the native stack pins (deploy/local/install.ts), by repository. */
export const PINNED: Record<string, string> = {
  'apache/kafka': KAFKA_VERSION,
  'apicurio/apicurio-registry': APICURIO_VERSION,
  postgres: POSTGRES_MAJOR,
};

/** Services that keep data: each must keep it in a named volume (or all of them none). */
const STATEFUL = ['kafka', 'postgres', 'mongo'];

/**
 * What the Compose schema cannot say about our compose file: ports on loopback only, a healthcheck on every
 * service and every dependency waiting for it, a named volume for every service that keeps data, and the
 * native stack's versions. Returns one message per problem.
 */
export function checkCompose(doc: ComposeFile): string[] {
  const problems: string[] = [];
  const services = doc.services ?? {};
  const declared = new Set(Object.keys(doc.volumes ?? {}));
  for (const [name, s] of Object.entries(services)) {
    for (const p of s.ports ?? []) {
      const loopback = typeof p === 'string' ? p.startsWith('127.0.0.1:') : p.host_ip === '127.0.0.1';
      if (!loopback) problems.push(`${name}: port ${JSON.stringify(p)} is not bound to 127.0.0.1`);
    }
    if (!s.healthcheck?.test || s.healthcheck.disable) problems.push(`${name}: no healthcheck`);
    const deps = s.depends_on ?? [];
    const conditions: Array<[string, string | undefined]> = Array.isArray(deps)
      ? deps.map((d) => [d, undefined])
      : Object.entries(deps).map(([d, how]) => [d, how.condition]);
    for (const [dep, condition] of conditions)
      if (condition !== 'service_healthy') problems.push(`${name}: depends_on ${dep} without condition: service_healthy`);
    const named = (s.volumes ?? [])
      .map((v) => (typeof v === 'string' ? v.split(':')[0]! : v.type === 'volume' ? (v.source ?? '') : ''))
      .filter((v) => v && !v.startsWith('.') && !v.startsWith('/'));
    for (const v of named) if (!declared.has(v)) problems.push(`${name}: volume ${v} is not declared`);
    if (STATEFUL.includes(name) && !named.length) problems.push(`${name}: keeps data but has no named volume (down/up would lose it)`);
    const [repo, tag] = (s.image ?? '').split(':');
    const pinned = repo ? PINNED[repo] : undefined;
    if (pinned && tag !== pinned) problems.push(`${name}: ${repo}:${tag ?? 'latest'}, the native stack runs ${pinned}`);
  }
  for (const name of STATEFUL) if (!services[name]) problems.push(`${name}: missing`);
  return problems;
}
