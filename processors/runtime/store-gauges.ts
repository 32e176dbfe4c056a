import client from 'prom-client';
import type { Db } from 'mongodb';
import type pg from 'pg';
import { quoteIdent } from './sql';
import type { GaugeSeries, MongoGauge, StoreGauge } from './types';

/** Reads a gauge's series from a projection (its SQL in the projection's schema, one read-only transaction). */
export async function readStoreGauge(pool: pg.Pool, schema: string, gauge: StoreGauge): Promise<GaugeSeries[]> {
  const client = await pool.connect();
  try {
    await client.query('begin read only');
    await client.query(`set local search_path to ${quoteIdent(schema)}`);
    const r = await client.query<Record<string, unknown>>(gauge.sql);
    await client.query('commit');
    return r.rows.map((row) => ({
      labels: Object.fromEntries(
        gauge.labels.map((l) => [l, row[l] === null || row[l] === undefined ? '' : String(row[l] as string | number)]),
      ),
      value: Number(row.value),
    }));
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/**
 * Registers gauges each read at every scrape. A store that does not answer keeps the last values (the scrape
 * still answers; the circuit and readiness say the store is down).
 */
function registerGauges<G extends Pick<StoreGauge, 'name' | 'help' | 'labels'>>(
  registry: client.Registry,
  gauges: readonly G[],
  read: (g: G) => Promise<GaugeSeries[]>,
): void {
  for (const g of gauges) {
    const gauge: client.Gauge = new client.Gauge({
      name: g.name,
      help: g.help,
      labelNames: [...g.labels],
      registers: [registry],
      collect: async () => {
        const series = await read(g).catch(() => undefined);
        if (!series) return;
        gauge.reset();
        for (const s of series) gauge.set(s.labels, s.value);
      },
    });
  }
}

/** A PostgreSQL processor's store gauges, read in its schema. */
export function registerStoreGauges(registry: client.Registry, pool: pg.Pool, schema: string, gauges: readonly StoreGauge[]): void {
  registerGauges(registry, gauges, (g) => readStoreGauge(pool, schema, g));
}

/** A Mongo processor's gauges, read from the database `db` answers at the scrape (the projection's live version). */
export function registerMongoGauges(registry: client.Registry, db: () => Promise<Db>, gauges: readonly MongoGauge[]): void {
  registerGauges(registry, gauges, async (g) => g.read(await db()));
}
