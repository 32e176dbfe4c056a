import pg from 'pg';
import type { Config } from '../config';
import type { Logger } from '../logger';

/**
 * A pg pool that survives its server going away: idle clients that lose their
 * connection emit 'error' on the pool, which would otherwise crash the process.
 * The pool drops such clients; callers see the failure on their next query.
 */
export function createPgPool(config: Pick<Config, 'pg'>, overrides: pg.PoolConfig = {}, logger?: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString: config.pg.url, max: config.pg.poolSize, connectionTimeoutMillis: 5000, ...overrides });
  pool.on('error', (e) => logger?.warn('idle PostgreSQL client lost its connection', { error: e.message }));
  return pool;
}

/** One short-lived connection for a one-off job (creating databases, setup SQL), always closed after. */
export async function withPgClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The same server, another database (the stack creates several: projections, registry, ferretdb). */
export function pgUrlForDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
