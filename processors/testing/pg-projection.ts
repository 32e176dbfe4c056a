import type pg from 'pg';
import { systemClock } from '../../lib/clock';
import { createPgPool } from '../../lib/clients/pg';
import type { Config } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { migrate } from '../../lib/migrate';
import { randomName } from '../../test/support';
import { PostgresStore } from '../runtime/postgres-store';
import type { Ready } from '../runtime/store';
import type { Emitted, Position, PostgresProcessor, ProjectContext } from '../runtime/types';

export interface ThrowawayStore {
  s: PostgresStore;
  schema: string;
}

/**
 * A Postgres projection on throwaway schemas of the real PostgreSQL, for projection specs: registers the
 * suite's before/after hooks (pool, dropping every schema it made) and applies records in chunks as the
 * runtime does, with nothing published.
 */
export function throwawayProjection(config: Config, def: PostgresProcessor, migrations: string) {
  const logger = createLogger(config, 'it');
  let pool: pg.Pool | undefined;
  const schemas: string[] = [];
  before(() => {
    pool = createPgPool(config);
  });
  after(async () => {
    for (const s of schemas) await pool!.query(`drop schema if exists "${s}" cascade`);
    await pool!.end();
  });
  const ctx = (position: Position): ProjectContext => ({ processor: def.name, clock: systemClock, logger, position, replaying: false });
  /** A fresh schema name, dropped after the suite. */
  const schemaName = (): string => {
    const schema = randomName(`it_${def.name}`).replace(/-/g, '_');
    schemas.push(schema);
    return schema;
  };
  /** A migrated schema with the runtime's store on it. */
  const store = async (): Promise<ThrowawayStore> => {
    const schema = schemaName();
    await migrate(pool!, schema, migrations);
    const s = new PostgresStore(pool!, schema, def, def.name);
    await s.init();
    return { s, schema };
  };
  /** Applies records in chunks of `size`; every event the chunks emitted. */
  const apply = async ({ s }: ThrowawayStore, records: Ready[], size: number): Promise<Emitted> => {
    const out: Emitted = [];
    for (let i = 0; i < records.length; i += size) out.push(...(await s.applyChunk(records.slice(i, i + size), ctx, undefined)).emitted);
    return out;
  };
  return { pool: (): pg.Pool => pool!, ctx, schemaName, store, apply };
}
