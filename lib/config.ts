import convict from 'convict';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors';

// Custom formats: convict's built-ins do not cover host:port lists or URLs with a given scheme.
convict.addFormat({
  name: 'broker-list',
  validate(value: unknown) {
    if (!Array.isArray(value) || value.length === 0) throw new Error('must be a non-empty comma-separated list of host:port');
    for (const v of value) {
      if (typeof v !== 'string' || !/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(v)) {
        throw new Error(`must be host:port entries, got ${JSON.stringify(v)}`);
      }
    }
  },
  coerce: (v: string) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
});

function urlFormat(name: string, schemes: string[], optional = false): void {
  convict.addFormat({
    name,
    validate(value: unknown) {
      if (optional && value === '') return;
      let u: URL;
      try {
        u = new URL(String(value));
      } catch {
        throw new Error(`must be a URL with scheme ${schemes.join(' or ')}`);
      }
      if (!schemes.includes(u.protocol.replace(/:$/, ''))) throw new Error(`must use scheme ${schemes.join(' or ')}`);
    },
  });
}
urlFormat('http-url', ['http', 'https']);
urlFormat('http-url-or-empty', ['http', 'https'], true);
/**
 * A span of the day written `HH:MM-HH:MM` (24:00 is the day's end), as minutes after midnight; undefined if it is
 * none or ends before it starts (then convict's message shows the value as written).
 */
export function parseDaySpan(v: string): { startMinute: number; endMinute: number } | undefined {
  const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(v.trim());
  if (!m) return undefined;
  const [h1, m1, h2, m2] = m.slice(1).map(Number) as [number, number, number, number];
  if (m1 > 59 || m2 > 59 || h1 > 23 || h2 > 24 || (h2 === 24 && m2 !== 0)) return undefined;
  const span = { startMinute: h1 * 60 + m1, endMinute: h2 * 60 + m2 };
  return span.startMinute < span.endMinute ? span : undefined;
}
convict.addFormat({
  name: 'day-span',
  validate(value: unknown) {
    const v = value as { startMinute?: unknown; endMinute?: unknown } | null;
    const ok =
      typeof v === 'object' &&
      v !== null &&
      Number.isInteger(v.startMinute) &&
      Number.isInteger(v.endMinute) &&
      (v.startMinute as number) >= 0 &&
      (v.startMinute as number) < (v.endMinute as number) &&
      (v.endMinute as number) <= 1440;
    if (!ok) throw new Error('must be HH:MM-HH:MM within 00:00-24:00, the start before the end (e.g. 07:00-18:30)');
  },
  coerce: (v: string): unknown => parseDaySpan(v) ?? v,
});
convict.addFormat({
  name: 'evaluation-weights',
  validate(value: unknown) {
    const types = ['EXAM', 'PROJECT', 'QUIZ', 'HOMEWORK', 'PARTICIPATION'];
    if (typeof value !== 'object' || value === null) throw new Error(`must be a JSON object with a weight for each of ${types.join(', ')}`);
    for (const t of types) {
      const w = (value as Record<string, unknown>)[t];
      if (typeof w !== 'number' || !(w >= 0)) throw new Error(`must give ${t} a weight >= 0`);
    }
  },
  coerce: (v: string): unknown => {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  },
});
convict.addFormat({
  name: 'ratio',
  validate(value: unknown) {
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new Error('must be a number from 0 to 1');
  },
  coerce: (v: string) => Number(v),
});
convict.addFormat({
  name: 'positive-number',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new Error('must be a finite number > 0');
  },
  coerce: (v: string): unknown => Number(v),
});
convict.addFormat({
  name: 'positive-int',
  validate(value: unknown) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new Error('must be an integer > 0');
  },
  coerce: (v: string): unknown => Number(v),
});
// A key-encryption key: the base64 of exactly 32 bytes, or empty (then a local file; lib/privacy/kek.ts).
convict.addFormat({
  name: 'kek-base64-or-empty',
  validate(value: unknown) {
    if (value === '') return;
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0)
      throw new Error('must be base64 (e.g. openssl rand -base64 32)');
    const bytes = Buffer.from(value, 'base64').length;
    if (bytes !== 32) throw new Error(`must be the base64 of 32 bytes (AES-256), got ${bytes} bytes`);
  },
});
urlFormat('mongo-url', ['mongodb']);
urlFormat('pg-url', ['postgres', 'postgresql']);

const schema = {
  env: { doc: 'Runtime environment', format: ['development', 'test', 'production'], default: 'development', env: 'NODE_ENV' },
  log: {
    level: { doc: 'Log level', format: ['error', 'warn', 'info', 'debug'], default: 'info', env: 'LOG_LEVEL' },
    format: {
      doc: "Log lines: 'json' (one object per line, for collectors), 'text' (for people), 'auto' = text when stderr is a terminal, else json",
      format: ['auto', 'json', 'text'],
      default: 'auto',
      env: 'LOG_FORMAT',
    },
  },
  kafka: {
    brokers: {
      doc: 'Kafka bootstrap brokers (host:port, comma-separated)',
      format: 'broker-list',
      default: ['127.0.0.1:9092'],
      env: 'KAFKA_BROKERS',
    },
    clientId: { doc: 'Kafka client id prefix', format: String, default: 'school-events', env: 'KAFKA_CLIENT_ID' },
    connectionTimeoutMs: { doc: 'Kafka connection timeout', format: 'nat', default: 3000, env: 'KAFKA_CONNECTION_TIMEOUT_MS' },
    requestTimeoutMs: { doc: 'Kafka request timeout', format: 'nat', default: 30000, env: 'KAFKA_REQUEST_TIMEOUT_MS' },
  },
  registry: {
    url: {
      doc: 'Confluent-compatible schema registry base URL',
      format: 'http-url',
      default: 'http://127.0.0.1:8081/apis/ccompat/v7',
      env: 'SCHEMA_REGISTRY_URL',
    },
  },
  mongo: {
    url: { doc: 'MongoDB-protocol server URL', format: 'mongo-url', default: 'mongodb://127.0.0.1:27017/', env: 'MONGO_URL' },
    db: { doc: 'Mongo database for read models', format: String, default: 'school', env: 'MONGO_DB' },
    maxPoolSize: {
      doc: 'Connections per process to the MongoDB-protocol server (requests beyond wait in the driver). FerretDB v1 stops answering when requests from all clients exceed its PostgreSQL pool (50 by default); see docs/decisions.md',
      format: 'nat',
      default: 16,
      env: 'MONGO_MAX_POOL_SIZE',
    },
    liveCheckMs: {
      doc: "How often processors and the API re-read which version of a Mongo projection is live (a rebuild's switch reaches them within this)",
      format: 'nat',
      default: 1000,
      env: 'MONGO_LIVE_CHECK_MS',
    },
  },
  pg: {
    url: { doc: 'PostgreSQL URL for read models', format: 'pg-url', default: 'postgres://postgres@127.0.0.1:5432/school', env: 'PG_URL' },
    poolSize: { doc: 'PostgreSQL pool size', format: 'nat', default: 10, env: 'PG_POOL_SIZE' },
  },
  topics: {
    partitions: { doc: 'Partitions per domain topic', format: 'nat', default: 6, env: 'TOPIC_PARTITIONS' },
    replicationFactor: { doc: 'Replication factor of every topic', format: 'nat', default: 1, env: 'TOPIC_REPLICATION_FACTOR' },
  },
  api: {
    port: { doc: 'HTTP API port', format: 'port', default: 8080, env: 'API_PORT' },
    jwtIssuer: { doc: 'Required JWT issuer (iss)', format: String, default: 'sistema-educativo-prs1', env: 'API_JWT_ISSUER' },
    jwtAudience: { doc: 'Required JWT audience (aud)', format: String, default: 'microservices', env: 'API_JWT_AUDIENCE' },
    jwtPublicKey: {
      doc: 'PEM public key (Ed25519 or RSA) that verifies tokens; empty = the local key pair in API_JWT_KEY_DIR (generated once)',
      format: String,
      default: '',
      env: 'API_JWT_PUBLIC_KEY',
      sensitive: true,
    },
    jwtKeyDir: { doc: 'Directory of the local JWT key pair (git-ignored)', format: String, default: '.stack/jwt', env: 'API_JWT_KEY_DIR' },
    tokenTtlSeconds: {
      doc: 'Lifetime of tokens minted by npm run token (source design: 15 min)',
      format: 'nat',
      default: 900,
      env: 'API_TOKEN_TTL_SECONDS',
    },
    bodyLimitBytes: { doc: 'Largest accepted request body (413 above)', format: 'nat', default: 65536, env: 'API_BODY_LIMIT_BYTES' },
    referenceCacheMs: {
      doc: "How long the command rules keep a section's year and courses and a year's dates and periods they found, and authorization a parent's linked children (0: read every time)",
      format: 'nat',
      default: 2000,
      env: 'API_REFERENCE_CACHE_MS',
    },
    rateLimitPerMinute: {
      doc: 'Requests per identity (or IP without a token) per minute (429 above)',
      format: 'nat',
      default: 600,
      env: 'API_RATE_LIMIT_PER_MINUTE',
    },
    corsOrigins: {
      doc: 'Allowed CORS origins, comma-separated (empty = none)',
      format: Array,
      default: [] as string[],
      env: 'API_CORS_ORIGINS',
    },
    idempotencyTtlMs: {
      doc: 'How long Idempotency-Key answers are kept',
      format: 'nat',
      default: 86_400_000,
      env: 'API_IDEMPOTENCY_TTL_MS',
    },
    maxWaitSeconds: { doc: 'Upper bound of Prefer: wait=N (read-your-writes)', format: 'nat', default: 10, env: 'API_MAX_WAIT_SECONDS' },
    validateResponses: {
      doc: 'Validate responses against openapi.yaml too (a mismatch is logged and answered 500)',
      format: Boolean,
      default: true,
      env: 'API_VALIDATE_RESPONSES',
    },
    timeouts: {
      users: { doc: 'Timeout of users reads, ms (DOMAIN.md)', format: 'nat', default: 2000, env: 'API_TIMEOUT_USERS_MS' },
      auth: {
        doc: 'Timeout of identity lookups (parents, teacher sections), ms',
        format: 'nat',
        default: 1000,
        env: 'API_TIMEOUT_AUTH_MS',
      },
      academic: { doc: 'Timeout of academic reads, ms', format: 'nat', default: 3000, env: 'API_TIMEOUT_ACADEMIC_MS' },
      assignments: { doc: 'Timeout of assignments reads, ms', format: 'nat', default: 2500, env: 'API_TIMEOUT_ASSIGNMENTS_MS' },
      grades: { doc: 'Timeout of grades reads, ms', format: 'nat', default: 5000, env: 'API_TIMEOUT_GRADES_MS' },
      attendance: { doc: 'Timeout of attendance reads, ms', format: 'nat', default: 1500, env: 'API_TIMEOUT_ATTENDANCE_MS' },
      notifications: { doc: 'Timeout of notifications reads, ms', format: 'nat', default: 10000, env: 'API_TIMEOUT_NOTIFICATIONS_MS' },
      publish: {
        doc: 'Timeout of publishing a command event (broker ack), ms',
        format: 'nat',
        default: 5000,
        env: 'API_TIMEOUT_PUBLISH_MS',
      },
      events: {
        doc: "Timeout of the API's own store (idempotency keys, command log, event status), ms",
        format: 'nat',
        default: 2000,
        env: 'API_TIMEOUT_EVENTS_MS',
      },
      ops: {
        doc: 'Timeout of the admin ops endpoints (broker offsets, reading dead-letter topics, redrives, heartbeats), ms',
        format: 'positive-int',
        default: 20000,
        env: 'API_TIMEOUT_OPS_MS',
      },
    },
  },
  metrics: {
    port: { doc: "First port for processors' /metrics, /health, /ready", format: 'port', default: 9464, env: 'METRICS_PORT' },
    prometheusUrl: {
      doc: 'Prometheus of the local stack (stack:up starts it with the alert rules; it scrapes the processors and the API)',
      format: 'http-url',
      default: 'http://127.0.0.1:9090',
      env: 'PROMETHEUS_URL',
    },
  },
  runtime: {
    batchSize: { doc: 'Max records applied in one store transaction', format: 'nat', default: 500, env: 'RUNTIME_BATCH_SIZE' },
    partitionsConcurrency: {
      doc: 'Partitions processed in parallel per processor',
      format: 'nat',
      default: 6,
      env: 'RUNTIME_PARTITIONS_CONCURRENCY',
    },
    writer: {
      doc: "Store writes: 'auto' = as each processor declares (one writer for those whose partitions lock the same keys); 'partition' = every processor writes each partition's chunks in their own transaction, in parallel; 'instance' = every processor has one writer, merging the chunks partitions hand in meanwhile into one transaction (group commit)",
      format: ['auto', 'partition', 'instance'],
      default: 'auto',
      env: 'RUNTIME_WRITER',
    },
    commitIntervalMs: {
      doc: "Longest the broker holds a fetch to fill it up to fetchMinBytes (Kafka's fetch.max.wait.ms): with fetchMinBytes, the time bound of a chunk, as Kafka Streams' commit.interval.ms",
      format: 'nat',
      default: 100,
      env: 'RUNTIME_COMMIT_INTERVAL_MS',
    },
    fetchMinBytes: {
      doc: 'Bytes a fetch waits for (at most commitIntervalMs) before the broker answers: fewer, larger chunks at moderate rates, that much more latency at low ones',
      format: 'nat',
      default: 1,
      env: 'RUNTIME_FETCH_MIN_BYTES',
    },
    retryInitialMs: {
      doc: 'First retry step for a transient failure (doubles each attempt; the delay is a random point in the upper half of the step)',
      format: 'nat',
      default: 1000,
      env: 'RUNTIME_RETRY_INITIAL_MS',
    },
    retryMaxMs: {
      doc: 'Largest retry delay; retries never give up on a transient failure',
      format: 'nat',
      default: 16000,
      env: 'RUNTIME_RETRY_MAX_MS',
    },
    breakerFailures: { doc: 'Consecutive store failures that open the circuit', format: 'nat', default: 5, env: 'BREAKER_FAILURES' },
    breakerOpenMs: { doc: 'How long an open circuit waits before probing', format: 'nat', default: 30000, env: 'BREAKER_OPEN_MS' },
    breakerHalfOpenCalls: {
      doc: 'Successful probe calls that close the circuit',
      format: 'nat',
      default: 3,
      env: 'BREAKER_HALF_OPEN_CALLS',
    },
    shutdownTimeoutMs: { doc: 'Bound on a graceful stop (SIGTERM/SIGINT)', format: 'nat', default: 15000, env: 'SHUTDOWN_TIMEOUT_MS' },
    maxRedrives: {
      doc: 'Redrives after which a dead letter that fails again is parked',
      format: 'nat',
      default: 3,
      env: 'DLQ_MAX_REDRIVES',
    },
    sessionTimeoutMs: { doc: 'Kafka consumer session timeout', format: 'nat', default: 30000, env: 'KAFKA_SESSION_TIMEOUT_MS' },
    heartbeatMs: {
      doc: "How often each live processor records its readiness and circuit in public.processor_heartbeats (the API's ops status; stale after 3 intervals)",
      format: 'positive-int',
      default: 5000,
      env: 'RUNTIME_HEARTBEAT_MS',
    },
  },
  rules: {
    passingAverage: {
      doc: 'Average (0-100) below which a student.performance.alert is raised',
      format: Number,
      default: 55,
      env: 'RULE_PASSING_AVERAGE',
    },
    averageDropPoints: {
      doc: 'Drop of a period average (points) that raises a SHARP_DROP alert',
      format: Number,
      default: 15,
      env: 'RULE_AVERAGE_DROP_POINTS',
    },
    evaluationWeights: {
      doc: 'Weights per evaluation type for period averages (JSON object)',
      format: 'evaluation-weights',
      default: { EXAM: 0.4, PROJECT: 0.25, QUIZ: 0.15, HOMEWORK: 0.15, PARTICIPATION: 0.05 },
      env: 'RULE_EVALUATION_WEIGHTS',
    },
    maxScore: {
      doc: 'Largest maxScore a grade may have (rule GRADE_MAX_SCORE, docs/invariants.md)',
      format: 'positive-number',
      default: 1000,
      env: 'RULE_MAX_SCORE',
    },
    schoolDay: {
      doc: 'The school day, HH:MM-HH:MM: every schedule slot lies within it (rule SCHEDULE_SLOT_INVALID, docs/invariants.md)',
      format: 'day-span',
      default: { startMinute: 0, endMinute: 1440 },
      env: 'RULE_SCHOOL_DAY',
    },
    maxWeeklyHours: {
      doc: 'Teacher weekly hours above which workload.updated is flagged overloaded',
      format: 'nat',
      default: 30,
      env: 'RULE_MAX_WEEKLY_HOURS',
    },
    absencesInWindow: {
      doc: 'Unjustified absences within the window that raise an attendance alert',
      format: 'nat',
      default: 3,
      env: 'RULE_ABSENCES_IN_WINDOW',
    },
    absenceWindowDays: {
      doc: 'Rolling window (calendar days) for the absence rule',
      format: 'nat',
      default: 14,
      env: 'RULE_ABSENCE_WINDOW_DAYS',
    },
    tardiesPerMonth: {
      doc: 'Tardies in one calendar month that raise an attendance alert',
      format: 'nat',
      default: 4,
      env: 'RULE_TARDIES_PER_MONTH',
    },
    parkedStaleMs: {
      doc: 'An event grades or attendance keeps parked (student not enrolled yet) longer than this counts as stale in their parked gauges; it stays parked (docs/invariants.md)',
      format: 'nat',
      default: 86_400_000,
      env: 'RULE_PARKED_STALE_MS',
    },
  },
  saga: {
    deadlineMs: {
      doc: 'A saga with no progress for this long fails and compensates',
      format: 'nat',
      default: 120000,
      env: 'SAGA_DEADLINE_MS',
    },
    checkIntervalMs: {
      doc: 'How often the academic processor checks saga deadlines',
      format: 'nat',
      default: 5000,
      env: 'SAGA_CHECK_INTERVAL_MS',
    },
  },
  notifications: {
    smtpUrl: {
      doc: 'SMTP server for the EMAIL channel (empty: EMAIL falls back to the log channel)',
      format: String,
      default: '',
      env: 'SMTP_URL',
    },
    from: { doc: 'Sender address of emails', format: String, default: 'no-reply@school.example', env: 'NOTIFICATION_FROM' },
    webhookUrl: { doc: 'Default URL of the WEBHOOK channel', format: String, default: '', env: 'NOTIFICATION_WEBHOOK_URL' },
    timeoutMs: {
      doc: 'Per-attempt delivery timeout (DOMAIN.md: notifications 10000 ms)',
      format: 'nat',
      default: 10000,
      env: 'NOTIFICATION_TIMEOUT_MS',
    },
    maxAttempts: {
      doc: 'Delivery attempts before notification.failed is final',
      format: 'nat',
      default: 3,
      env: 'NOTIFICATION_MAX_ATTEMPTS',
    },
    concurrency: {
      doc: 'Notifications delivered at once within a chunk (each to its own recipient; a redelivered one is never sent twice)',
      format: 'nat',
      default: 16,
      env: 'NOTIFICATION_CONCURRENCY',
    },
  },
  tracing: {
    endpoint: {
      doc: 'OTLP/HTTP endpoint for traces (spans go to <endpoint>/v1/traces); empty: tracing off',
      format: 'http-url-or-empty',
      default: '',
      env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    },
    serviceName: {
      doc: "Service name of this process's spans (default: school-events-api, or school-events-<processor>)",
      format: String,
      default: '',
      env: 'OTEL_SERVICE_NAME',
    },
    sampleRatio: {
      doc: 'Share of the traces started here (an API request without a sampled traceparent) that are recorded; processors follow the decision carried by each event',
      format: 'ratio',
      default: 1,
      env: 'OTEL_TRACES_SAMPLER_ARG',
    },
    queryUrl: {
      doc: "The tracing backend's query API and UI (Jaeger in the local stack: stack:up --with tracing)",
      format: 'http-url',
      default: 'http://127.0.0.1:16686',
      env: 'TRACING_QUERY_URL',
    },
  },
  privacy: {
    kek: {
      doc: 'Key-encryption key wrapping the per-person data keys: base64 of 32 random bytes (openssl rand -base64 32); empty = the local key in PRIVACY_KEK_FILE (generated once; refused in production)',
      format: 'kek-base64-or-empty',
      default: '',
      env: 'PRIVACY_KEK',
      sensitive: true,
    },
    kekPrevious: {
      doc: 'The key-encryption key being rotated away from (npm run privacy -- keys rotate re-wraps its data keys with PRIVACY_KEK); empty outside a rotation',
      format: 'kek-base64-or-empty',
      default: '',
      env: 'PRIVACY_KEK_PREVIOUS',
      sensitive: true,
    },
    kekFile: {
      doc: 'The local key-encryption key, generated on first use when PRIVACY_KEK is empty (git-ignored, never committed)',
      format: String,
      default: '.stack/privacy/kek',
      env: 'PRIVACY_KEK_FILE',
    },
    schema: { doc: 'PostgreSQL schema of the data keys (table data_keys)', format: String, default: 'privacy', env: 'PRIVACY_SCHEMA' },
    encrypt: {
      doc: "Write personal fields encrypted under each person's data key (issue 21; the API and processors). Readers decrypt whenever they have key access, whatever this says; false writes plaintext (the step before downstream readers have the new schemas: docs/decisions.md)",
      format: Boolean,
      default: true,
      env: 'PRIVACY_ENCRYPT',
    },
    keyCacheSize: {
      doc: 'Unwrapped data keys kept in memory per process (least recently used evicted first)',
      format: 'positive-int',
      default: 10000,
      env: 'PRIVACY_KEY_CACHE_SIZE',
    },
    keyCacheTtlMs: {
      doc: 'How long a process uses a cached data key before reading it again (0: until evicted); bounds how long it still decrypts a person erased by another process (npm run privacy -- erase)',
      format: 'nat',
      default: 300_000,
      env: 'PRIVACY_KEY_CACHE_TTL_MS',
    },
  },
  stack: {
    dir: { doc: 'Data and logs of the local native stack (git-ignored)', format: String, default: '.stack', env: 'STACK_DIR' },
    cacheDir: {
      doc: 'Download/build cache for the native stack (outside git)',
      format: String,
      default: path.join(os.homedir(), '.cache', 'school-events'),
      env: 'STACK_CACHE_DIR',
    },
    readyTimeoutMs: { doc: 'How long stack:up waits for each service', format: 'nat', default: 120000, env: 'STACK_READY_TIMEOUT_MS' },
    kafkaVersion: {
      doc: 'Apache Kafka version of the native stack (empty: the pinned one, deploy/local/install.ts); npm run test:kafka4 sets a 4.x',
      format: (v: unknown) => {
        if (typeof v !== 'string' || !/^(\d+\.\d+\.\d+)?$/.test(v)) throw new Error('must be a version like 4.1.2, or empty');
      },
      default: '',
      env: 'STACK_KAFKA_VERSION',
    },
  },
};

export type Config = ReturnType<convict.Config<ConfigShape>['getProperties']>;
type ConfigShape = {
  env: 'development' | 'test' | 'production';
  log: { level: 'error' | 'warn' | 'info' | 'debug'; format: 'auto' | 'json' | 'text' };
  kafka: { brokers: string[]; clientId: string; connectionTimeoutMs: number; requestTimeoutMs: number };
  registry: { url: string };
  mongo: { url: string; db: string; maxPoolSize: number; liveCheckMs: number };
  pg: { url: string; poolSize: number };
  topics: { partitions: number; replicationFactor: number };
  api: {
    port: number;
    jwtIssuer: string;
    jwtAudience: string;
    jwtPublicKey: string;
    jwtKeyDir: string;
    tokenTtlSeconds: number;
    bodyLimitBytes: number;
    referenceCacheMs: number;
    rateLimitPerMinute: number;
    corsOrigins: string[];
    idempotencyTtlMs: number;
    maxWaitSeconds: number;
    validateResponses: boolean;
    timeouts: Record<
      'users' | 'auth' | 'academic' | 'assignments' | 'grades' | 'attendance' | 'notifications' | 'publish' | 'events' | 'ops',
      number
    >;
  };
  metrics: { port: number; prometheusUrl: string };
  runtime: {
    batchSize: number;
    partitionsConcurrency: number;
    writer: 'auto' | 'partition' | 'instance';
    commitIntervalMs: number;
    fetchMinBytes: number;
    retryInitialMs: number;
    retryMaxMs: number;
    breakerFailures: number;
    breakerOpenMs: number;
    breakerHalfOpenCalls: number;
    shutdownTimeoutMs: number;
    maxRedrives: number;
    sessionTimeoutMs: number;
    heartbeatMs: number;
  };
  rules: {
    passingAverage: number;
    averageDropPoints: number;
    evaluationWeights: Record<'EXAM' | 'PROJECT' | 'QUIZ' | 'HOMEWORK' | 'PARTICIPATION', number>;
    maxWeeklyHours: number;
    absencesInWindow: number;
    absenceWindowDays: number;
    tardiesPerMonth: number;
    maxScore: number;
    schoolDay: { startMinute: number; endMinute: number };
    parkedStaleMs: number;
  };
  saga: { deadlineMs: number; checkIntervalMs: number };
  notifications: { smtpUrl: string; from: string; webhookUrl: string; timeoutMs: number; maxAttempts: number; concurrency: number };
  tracing: { endpoint: string; serviceName: string; sampleRatio: number; queryUrl: string };
  privacy: {
    kek: string;
    kekPrevious: string;
    kekFile: string;
    schema: string;
    encrypt: boolean;
    keyCacheSize: number;
    keyCacheTtlMs: number;
  };
  stack: { dir: string; cacheDir: string; readyTimeoutMs: number; kafkaVersion: string };
};

export type Rules = Config['rules'];

/** Every setting, its doc and env var: used by the README's config table. */
export const configSchema = schema;

/**
 * Loads and validates the configuration from environment variables.
 * A bad value throws ConfigError naming the key, the value and what is allowed.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const c = convict<ConfigShape>(schema as unknown as convict.Schema<ConfigShape>, { env, args: [] });
  try {
    c.validate({ allowed: 'strict' });
  } catch (e) {
    throw new ConfigError(describeConfigError(String((e as Error).message)));
  }
  return c.getProperties();
}

function describeConfigError(message: string): string {
  // convict reports "key: reason: value was \"x\"" per line; add the env var so the user knows what to change.
  return message
    .split('\n')
    .map((line) => {
      const key = line.split(':')[0]?.trim() ?? '';
      const envName = lookupEnv(key);
      return envName ? `${line} (set by ${envName})` : line;
    })
    .join('\n');
}

function lookupEnv(key: string): string | undefined {
  let node: unknown = schema;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'object' && node !== null && 'env' in node ? String((node as { env: string }).env) : undefined;
}

/** Entry points: the validated config, or the message (key, value, rule, env var) on stderr and exit code 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
}
