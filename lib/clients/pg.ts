import pg from 'pg';
import type { Config } from '../config';

export function createPgPool(config: Pick<Config, 'pg'>, overrides: pg.PoolConfig = {}): pg.Pool {
  return new pg.Pool({ connectionString: config.pg.url, max: config.pg.poolSize, connectionTimeoutMillis: 5000, ...overrides });
}

/** The same server, another database (the stack creates several: projections, registry, ferretdb). */
export function pgUrlForDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
