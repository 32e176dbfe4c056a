import { parseArgs } from 'node:util';
import { loadJwtKeys, mintToken, ROLES, type Role } from '../api/auth/jwt';
import { loadConfig } from '../lib/config';

/** `npm run token -- --sub USR-1 --role admin [--role teacher] [--ttl 900]`: a bearer token signed with the local key. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sub: { type: 'string' }, role: { type: 'string', multiple: true }, ttl: { type: 'string' } } });
  const roles = values.role ?? [];
  const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (!values.sub || !roles.length || bad.length) {
    throw new Error(
      `usage: npm run token -- --sub <userId> --role <${ROLES.join('|')}> [--role …] [--ttl seconds]${bad.length ? ` (unknown role ${bad.join(', ')})` : ''}`,
    );
  }
  const config = loadConfig();
  const ttl = values.ttl ? Number(values.ttl) : config.api.tokenTtlSeconds;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new Error(`--ttl must be a positive number of seconds, got ${values.ttl}`);
  process.stdout.write(`${await mintToken(loadJwtKeys(config), config, { sub: values.sub, roles: roles as Role[] }, ttl)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`token: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
