import { loadJwtKeys, mintToken, ROLES, type Role } from '../api/auth/jwt';
import { numberFlag, parseCli, runCli, UsageError } from '../lib/cli';
import { loadConfig } from '../lib/config';

const HELP = `usage: npm run token -- --sub <userId> --role <${ROLES.join('|')}> [--role …] [--ttl seconds]

A bearer token for the API, signed with the local key (JWT_* settings).
  --sub ID     the user the token speaks for
  --role R     a role (repeatable)
  --ttl S      lifetime in seconds (default API_TOKEN_TTL_SECONDS)`;

runCli('token', async () => {
  const { values } = parseCli({
    name: 'token',
    help: HELP,
    options: { sub: { type: 'string' }, role: { type: 'string', multiple: true }, ttl: { type: 'string' } },
  });
  const roles = values.role ?? [];
  const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (bad.length) throw new UsageError(`unknown role ${bad.join(', ')}; roles: ${ROLES.join(', ')}`);
  if (!values.sub || !roles.length) throw new UsageError('--sub and at least one --role are required');
  const ttl = numberFlag('ttl', values.ttl, 1);
  if (ttl !== undefined && !Number.isInteger(ttl)) throw new UsageError(`--ttl must be whole seconds, got ${values.ttl}`);
  const config = loadConfig();
  const token = await mintToken(
    loadJwtKeys(config),
    config,
    { sub: values.sub, roles: roles as Role[] },
    ttl ?? config.api.tokenTtlSeconds,
  );
  process.stdout.write(`${token}\n`);
});
