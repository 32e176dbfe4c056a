import net from 'node:net';
import pg from 'pg';
import type { Config } from '../../lib/config';
import { createKafka } from '../../lib/clients/kafka';
import { createMongoClient } from '../../lib/clients/mongo';
import { pgUrlForDatabase } from '../../lib/clients/pg';

/** Real readiness: each probe speaks the service's own protocol through the project's clients. */
export type Probe = (config: Config) => Promise<void>;

export const probeKafka: Probe = async (config) => {
  const kafka = createKafka(config, undefined, { connectionTimeout: 1500, requestTimeout: 3000, retry: { retries: 0 } });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('no brokers in metadata');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
};

export const probeRegistry: Probe = async (config) => {
  const res = await fetch(`${config.registry.url.replace(/\/$/, '')}/subjects`, { signal: AbortSignal.timeout(3000) });
  if (res.status !== 200) throw new Error(`GET /subjects answered ${res.status}`);
  const body: unknown = await res.json();
  if (!Array.isArray(body)) throw new Error('GET /subjects did not answer a JSON array');
};

export const probePrometheus: Probe = async (config) => {
  const res = await fetch(`${config.metrics.prometheusUrl.replace(/\/$/, '')}/-/ready`, { signal: AbortSignal.timeout(3000) });
  if (res.status !== 200) throw new Error(`GET /-/ready answered ${res.status}`);
};

/** Jaeger's query API answers (its OTLP receiver starts with it). */
export const probeJaeger: Probe = async (config) => {
  const res = await fetch(`${config.tracing.queryUrl.replace(/\/$/, '')}/api/services`, { signal: AbortSignal.timeout(3000) });
  if (res.status !== 200) throw new Error(`GET /api/services answered ${res.status}`);
};

export const probeMongo: Probe = async (config) => {
  const client = createMongoClient(config, { serverSelectionTimeoutMS: 1500, connectTimeoutMS: 1500 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
};

export const probePostgres: Probe = async (config) => {
  const client = new pg.Client({ connectionString: pgUrlForDatabase(config.pg.url, 'postgres'), connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => undefined);
  }
};

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
