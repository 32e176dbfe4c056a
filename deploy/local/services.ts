import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Config } from '../../lib/config';
import { pgUrlForDatabase, withPgClient } from '../../lib/clients/pg';
import { ensureFerretDbLookupIndexes, pipelineLookups } from '../ferretdb/indexes';
import {
  ensureApicurio,
  ensureFerretDb,
  ensureJaeger,
  ensureKafka,
  ensurePostgres,
  ensurePrometheus,
  ensurePrometheusWeb,
} from './install';
import { probeJaeger, probeKafka, probeMongo, probePostgres, probePrometheus, probeRegistry, type Probe } from './probes';

export interface Paths {
  root: string; // .stack
  cache: string;
}

export interface Service {
  name: string;
  endpoint(config: Config): { host: string; port: number };
  probe: Probe;
  /** Installs if missing and spawns the server; returns the pid to record. */
  start(config: Config, paths: Paths, log: (m: string) => void): Promise<number>;
  /** Signal that stops the server quickly and cleanly. */
  stopSignal: NodeJS.Signals;
  /** Started only when asked for (`stack:up --with tracing`); `status` does not fail without it. */
  optional?: string;
}

export function logFile(paths: Paths, name: string): string {
  return path.join(paths.root, 'logs', `${name}.log`);
}

function hostPort(hostport: string, defPort: number): { host: string; port: number } {
  const i = hostport.lastIndexOf(':');
  return i < 0 ? { host: hostport, port: defPort } : { host: hostport.slice(0, i), port: Number(hostport.slice(i + 1)) };
}

function urlHostPort(url: string, defPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port ? Number(u.port) : defPort };
}

/** Spawns a detached server whose output goes to its log file; it outlives this script. */
function spawnServer(
  paths: Paths,
  name: string,
  cmd: string,
  args: string[],
  opts: { cwd?: string; uid?: number; gid?: number } = {},
): number {
  fs.mkdirSync(path.join(paths.root, 'logs'), { recursive: true });
  const out = fs.openSync(logFile(paths, name), 'a');
  const child = spawn(cmd, args, { cwd: opts.cwd, detached: true, stdio: ['ignore', out, out], uid: opts.uid, gid: opts.gid });
  fs.closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not spawn ${cmd}`);
  return child.pid;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** postgres and initdb refuse to run as root; run them as the Debian package's postgres user. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('running as root but there is no "postgres" user to run PostgreSQL as');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export const postgres: Service = {
  name: 'postgres',
  endpoint: (c) => urlHostPort(c.pg.url, 5432),
  probe: probePostgres,
  stopSignal: 'SIGINT', // "fast" shutdown: rolls back open transactions, exits cleanly
  start(config, paths, log) {
    const bin = ensurePostgres(log);
    const data = path.join(paths.root, 'postgres', 'data');
    const run = path.join(paths.root, 'postgres', 'run');
    const user = postgresUser();
    for (const d of [path.dirname(data), run]) {
      fs.mkdirSync(d, { recursive: true });
      if (user) fs.chownSync(d, user.uid, user.gid);
    }
    if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
      log(`initdb ${data}`);
      const r = spawnSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'], {
        encoding: 'utf8',
        uid: user?.uid,
        gid: user?.gid,
      });
      if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr}`);
    }
    const { port } = this.endpoint(config);
    // Tuned for a throwaway local stack: durability of a test cluster is not worth fsync latency.
    const args = [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${run}`,
      '-c',
      'max_connections=300',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'shared_buffers=256MB',
    ];
    return Promise.resolve(spawnServer(paths, 'postgres', path.join(bin, 'postgres'), args, user ?? {}));
  },
};

/** Databases the stack needs on the PostgreSQL server, created when missing. */
export async function ensureDatabases(config: Config, names: string[]): Promise<void> {
  await withPgClient(pgUrlForDatabase(config.pg.url, 'postgres'), async (client) => {
    for (const name of names) {
      const r = await client.query('select 1 from pg_database where datname = $1', [name]);
      if (r.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '""')}"`);
    }
  });
}

export function projectionsDatabase(config: Config): string {
  return new URL(config.pg.url).pathname.replace(/^\//, '') || 'postgres';
}

export const ferretdb: Service = {
  name: 'ferretdb',
  endpoint: (c) => urlHostPort(c.mongo.url, 27017),
  probe: probeMongo,
  stopSignal: 'SIGTERM',
  async start(config, paths, log) {
    const bin = ensureFerretDb(paths.cache, log);
    await ensureDatabases(config, ['ferretdb']);
    // Lookups by _id and by each declared field served by indexes (deploy/ferretdb/lookup-indexes.sql says why).
    await ensureFerretDbLookupIndexes(pgUrlForDatabase(config.pg.url, 'ferretdb'), pipelineLookups());
    const state = path.join(paths.root, 'ferretdb');
    fs.mkdirSync(state, { recursive: true });
    const { host, port } = this.endpoint(config);
    return spawnServer(paths, 'ferretdb', bin, [
      `--listen-addr=${host}:${port}`,
      '--handler=postgresql',
      `--postgresql-url=${pgUrlForDatabase(config.pg.url, 'ferretdb')}`,
      `--state-dir=${state}`,
      '--telemetry=disable',
      '--debug-addr=-',
      '--log-level=WARN',
    ]);
  },
};

export const registry: Service = {
  name: 'registry',
  endpoint: (c) => urlHostPort(c.registry.url, 8081),
  probe: probeRegistry,
  stopSignal: 'SIGTERM',
  async start(config, paths, log) {
    const jar = ensureApicurio(paths.cache, log);
    await ensureDatabases(config, ['registry']);
    const { host, port } = this.endpoint(config);
    const pgu = new URL(config.pg.url);
    const jdbc = `jdbc:postgresql://${pgu.hostname}:${pgu.port || 5432}/registry`;
    // SQL storage on our PostgreSQL so that schema ids survive restarts: records in Kafka outlive the registry process.
    return spawnServer(
      paths,
      'registry',
      'java',
      [
        '-Xms128m',
        '-Xmx512m',
        `-Dquarkus.http.host=${host}`,
        `-Dquarkus.http.port=${port}`,
        '-Dapicurio.storage.kind=sql',
        '-Dapicurio.storage.sql.kind=postgresql',
        `-Dapicurio.datasource.url=${jdbc}`,
        `-Dapicurio.datasource.username=${decodeURIComponent(pgu.username) || 'postgres'}`,
        `-Dapicurio.datasource.password=${decodeURIComponent(pgu.password) || 'unused-trust-auth'}`,
        // Small pool, validated before use: survives a PostgreSQL restart (fault-injection tests do that).
        '-Dapicurio.datasource.jdbc.initial-size=2',
        '-Dapicurio.datasource.jdbc.min-size=2',
        '-Dapicurio.datasource.jdbc.max-size=20',
        '-Dquarkus.datasource.postgresql.jdbc.validation-query-sql=select 1',
        '-Dquarkus.datasource.postgresql.jdbc.foreground-validation-interval=1S',
        '-Dquarkus.datasource.postgresql.jdbc.background-validation-interval=10S',
        '-Dapicurio.rest.deletion.artifact.enabled=true',
        '-Dapicurio.rest.deletion.artifact-version.enabled=true',
        '-Dapicurio.rest.deletion.group.enabled=true',
        '-Dquarkus.log.level=WARN',
        '-Dquarkus.log.category."io.apicurio".level=INFO',
        '-jar',
        jar,
      ],
      { cwd: path.dirname(jar) },
    );
  },
};

export const kafka: Service = {
  name: 'kafka',
  endpoint: (c) => hostPort(c.kafka.brokers[0] ?? '127.0.0.1:9092', 9092),
  probe: probeKafka,
  stopSignal: 'SIGTERM',
  start(config, paths, log) {
    const lib = ensureKafka(paths.cache, log, config.stack.kafkaVersion || undefined);
    const dir = path.join(paths.root, 'kafka');
    const data = path.join(dir, 'data');
    fs.mkdirSync(dir, { recursive: true });
    const { host, port } = this.endpoint(config);
    const controllerPort = port + 1;
    const props = path.join(dir, 'server.properties');
    fs.writeFileSync(
      props,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@${host}:${controllerPort}`,
        `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://${host}:${port}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${data}`,
        `num.partitions=${config.topics.partitions}`,
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=12',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        'auto.create.topics.enable=false',
        'delete.topic.enable=true',
        '',
      ].join('\n'),
    );
    const log4j = path.join(dir, 'log4j.properties');
    fs.writeFileSync(
      log4j,
      'log4j.rootLogger=WARN, stdout\nlog4j.logger.kafka.server.KafkaServer=INFO\nlog4j.logger.kafka.server.KafkaRaftServer=INFO\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n',
    );
    // Kafka 4 reads log4j2's configuration instead (same levels and layout).
    const log4j2 = path.join(dir, 'log4j2.properties');
    fs.writeFileSync(
      log4j2,
      'rootLogger.level=WARN\nrootLogger.appenderRef.stdout.ref=STDOUT\nappender.stdout.type=Console\nappender.stdout.name=STDOUT\nappender.stdout.layout.type=PatternLayout\nappender.stdout.layout.pattern=[%d] %p %m (%c)%n\nlogger.raft.name=kafka.server.KafkaRaftServer\nlogger.raft.level=INFO\n',
    );
    const cp = `${lib}/*`;
    if (!fs.existsSync(path.join(data, 'meta.properties'))) {
      // 16 random bytes, base64url (Kafka's cluster id form). A leading '-' would read as an option: avoid it.
      const clusterId = crypto.randomBytes(16).toString('base64url').replace(/^-/, 'A');
      log(`formatting Kafka storage ${data} (cluster ${clusterId})`);
      const r = spawnSync(
        'java',
        [
          '-cp',
          cp,
          `-Dlog4j.configuration=file:${log4j}`,
          `-Dlog4j2.configurationFile=${log4j2}`,
          'kafka.tools.StorageTool',
          'format',
          `--cluster-id=${clusterId}`,
          '--config',
          props,
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`kafka storage format failed: ${r.stdout}${r.stderr}`);
    }
    return Promise.resolve(
      spawnServer(paths, 'kafka', 'java', [
        '-Xms512m',
        '-Xmx1g',
        '-XX:+UseG1GC',
        '-cp',
        cp,
        `-Dlog4j.configuration=file:${log4j}`,
        `-Dlog4j2.configurationFile=${log4j2}`,
        'kafka.Kafka',
        props,
      ]),
    );
  },
};

/** The processors' and the API's targets beside the fixed ports: a process elsewhere writes a file here (file_sd). */
export const prometheusTargetsDir = (paths: Paths): string => path.join(paths.root, 'prometheus', 'targets');

/**
 * Prometheus with the project's rules (deploy/observability/alerts.yaml), scraping every 5 s the processors
 * (the ops port `npm run processors` and the demo use) and the API, plus any target file in
 * prometheusTargetsDir. Debian's package, unpacked under the cache.
 */
export const prometheus: Service = {
  name: 'prometheus',
  endpoint: (c) => urlHostPort(c.metrics.prometheusUrl, 9090),
  probe: probePrometheus,
  stopSignal: 'SIGTERM',
  start(config, paths, log) {
    const bin = ensurePrometheus(paths.cache, log);
    const web = ensurePrometheusWeb(paths.cache, log);
    const dir = path.join(paths.root, 'prometheus');
    const targets = prometheusTargetsDir(paths);
    fs.mkdirSync(targets, { recursive: true });
    const job = (name: string, port: number, files: string) => ({
      job_name: name,
      static_configs: [{ targets: [`127.0.0.1:${port}`] }],
      file_sd_configs: [{ files: [path.join(targets, files)], refresh_interval: '5s' }],
    });
    const conf = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(
      conf,
      stringify({
        global: { scrape_interval: '5s', evaluation_interval: '5s' },
        rule_files: [path.resolve(__dirname, '..', 'observability', 'alerts.yaml')],
        scrape_configs: [
          job('school-processors', config.metrics.port, 'processors-*.json'),
          job('school-api', config.api.port, 'api-*.json'),
        ],
      }),
    );
    const { host, port } = this.endpoint(config);
    return Promise.resolve(
      spawnServer(paths, 'prometheus', bin, [
        `--config.file=${conf}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        '--storage.tsdb.retention.time=2d',
        `--web.listen-address=${host}:${port}`,
        `--web.local-assets=${web}/`,
        '--log.level=warn',
      ]),
    );
  },
};

/** The OTLP/HTTP port Jaeger receives spans on (4318, OTLP's default), and where processors send them. */
export const JAEGER_OTLP_PORT = 4318;

/**
 * Jaeger all-in-one (optional: `stack:up --with tracing`, and the tracing e2e test starts it): OTLP on
 * 127.0.0.1:4318 (gRPC 4317), query API and UI on the tracing query URL (16686), spans kept in memory.
 */
export const jaeger: Service = {
  name: 'jaeger',
  endpoint: (c) => urlHostPort(c.tracing.queryUrl, 16686),
  probe: probeJaeger,
  stopSignal: 'SIGTERM',
  optional: 'tracing',
  start(_config, paths, log) {
    return Promise.resolve(spawnServer(paths, 'jaeger', ensureJaeger(paths.cache, log), []));
  },
};

/** Start order matters: the registry and FerretDB keep their data in PostgreSQL. */
export const SERVICES: Service[] = [postgres, kafka, registry, ferretdb, prometheus, jaeger];
