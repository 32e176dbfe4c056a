import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCli, runCli } from '../lib/cli';
import { configSchema, loadConfig } from '../lib/config';
import { PROCESSOR_MANIFEST } from '../processors/manifest';
import { topicCatalog } from '../topics/catalog';

/**
 * `npm run k8s:validate [-- DIR…]`: validates the Kubernetes manifests (default deploy/k8s) offline.
 *
 * 1. `kustomize build` of the directory (kustomize built once from the Go module proxy).
 * 2. Every manifest file and the rendered output against the Kubernetes JSON schemas bundled in the
 *    PyPI package kubernetes-validate (strict: unknown fields fail), and the KEDA ScaledObject against
 *    KEDA's own CRD schema, taken from the kedacore/keda Go module (scripts/k8s-validate/validate.py).
 * 3. Consistency with the code: env var names against lib/config.ts, consumer groups, partitions,
 *    ports, probes, grace period vs SHUTDOWN_TIMEOUT_MS, security context, KEDA kafka trigger keys.
 * 4. Self-test: broken variants of the manifests must each be rejected, so a validator that
 *    silently passes everything fails CI.
 * Tools are cached under the stack cache (~/.cache/school-events by default).
 */

const ROOT = path.resolve(__dirname, '..');
const DEFAULT_DIR = path.join(ROOT, 'deploy/k8s');
const KUBERNETES_VERSION = '1.31';
const KEDA_VERSION = '2.21.0';
/** prometheus-operator's CRDs (PrometheusRule, ServiceMonitor, PodMonitor), from its Go module. */
const PROMETHEUS_OPERATOR_VERSION = '0.94.1';
const KUSTOMIZE_VERSION = '5.7.1';
/**
 * Env vars the manifests may set even where lib/config.ts does not know them yet (the API's JWT key,
 * added to lib/config.ts together with api/); always treated as key material.
 */
const ASSUMED_ENV = new Set(['API_JWT_PUBLIC_KEY']);
/** The only values a committed Secret may hold. */
const PLACEHOLDERS = new Set(['', 'CHANGE_ME']);
const IMAGE = 'school-events';

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const rel = (p: string): string => (p.startsWith(ROOT + path.sep) ? path.relative(ROOT, p) : p);

// ---------------------------------------------------------------- tools

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; what: string }): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${opts.what}: cannot run ${cmd} (${r.error.message})`);
  if (r.status !== 0) throw new Error(`${opts.what}: ${cmd} ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/** A virtualenv made once from scripts/k8s-validate/requirements.txt (pinned), rebuilt when the file changes. */
function ensureVenv(cacheDir: string): string {
  const req = path.join(ROOT, 'scripts/k8s-validate/requirements.txt');
  const venv = path.join(cacheDir, 'pyvenv-k8s-validate');
  const python = path.join(venv, 'bin', 'python');
  const stamp = path.join(venv, '.requirements');
  const wanted = fs.readFileSync(req, 'utf8');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return python;
  out(`installing the validator's Python packages into ${venv} (once)`);
  fs.rmSync(venv, { recursive: true, force: true });
  run('python3', ['-m', 'venv', venv], { what: 'python3 with venv is a prerequisite' });
  run(python, ['-m', 'pip', 'install', '-q', '-r', req], { what: 'installing scripts/k8s-validate/requirements.txt' });
  fs.writeFileSync(stamp, wanted);
  return python;
}

/** KEDA's ScaledObject CRD and its kafka scaler source, from the kedacore/keda Go module (Go module proxy). */
function ensureKeda(cacheDir: string): { crd: string; kafkaScaler: string } {
  const dir = path.join(cacheDir, `keda-${KEDA_VERSION}`);
  const crd = path.join(dir, 'keda.sh_scaledobjects.yaml');
  const kafkaScaler = path.join(dir, 'kafka_scaler.go');
  if (fs.existsSync(crd) && fs.existsSync(kafkaScaler)) return { crd, kafkaScaler };
  out(`downloading github.com/kedacore/keda/v2@v${KEDA_VERSION} from the Go module proxy (once)`);
  const mod = JSON.parse(
    run('go', ['mod', 'download', '-json', `github.com/kedacore/keda/v2@v${KEDA_VERSION}`], {
      cwd: os.tmpdir(),
      what: 'Go 1.22+ is a prerequisite; downloading the KEDA module',
    }),
  ) as { Dir: string };
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(mod.Dir, 'config/crd/bases/keda.sh_scaledobjects.yaml'), crd);
  fs.copyFileSync(path.join(mod.Dir, 'pkg/scalers/kafka_scaler.go'), kafkaScaler);
  return { crd, kafkaScaler };
}

/** The monitoring.coreos.com CRDs deploy/k8s/monitoring.yaml uses, from the prometheus-operator Go module. */
function ensurePrometheusOperatorCrds(cacheDir: string): string[] {
  const dir = path.join(cacheDir, `prometheus-operator-${PROMETHEUS_OPERATOR_VERSION}`);
  const names = ['prometheusrules', 'servicemonitors', 'podmonitors'].map((k) => `monitoring.coreos.com_${k}.yaml`);
  const files = names.map((n) => path.join(dir, n));
  if (files.every((f) => fs.existsSync(f))) return files;
  out(`downloading github.com/prometheus-operator/prometheus-operator@v${PROMETHEUS_OPERATOR_VERSION} from the Go module proxy (once)`);
  const mod = JSON.parse(
    run('go', ['mod', 'download', '-json', `github.com/prometheus-operator/prometheus-operator@v${PROMETHEUS_OPERATOR_VERSION}`], {
      cwd: os.tmpdir(),
      what: 'Go 1.22+ is a prerequisite; downloading the prometheus-operator module',
    }),
  ) as { Dir: string };
  fs.mkdirSync(dir, { recursive: true });
  for (const n of names) fs.copyFileSync(path.join(mod.Dir, 'example/prometheus-operator-crd', n), path.join(dir, n));
  return files;
}

function ensureKustomize(cacheDir: string): string {
  const dir = path.join(cacheDir, `kustomize-${KUSTOMIZE_VERSION}`);
  const bin = path.join(dir, 'kustomize');
  if (fs.existsSync(bin)) return bin;
  out(`building kustomize v${KUSTOMIZE_VERSION} from the Go module proxy (once)`);
  run('go', ['install', `sigs.k8s.io/kustomize/kustomize/v5@v${KUSTOMIZE_VERSION}`], {
    cwd: os.tmpdir(),
    env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0' },
    what: 'Go 1.22+ is a prerequisite; building kustomize',
  });
  return bin;
}

/** The metadata keys the KEDA kafka scaler reads, from its `keda:"name=…,order=…"` struct tags. */
export function kafkaTriggerKeys(source: string): { allowed: Set<string>; required: string[] } {
  const allowed = new Set<string>();
  const required: string[] = [];
  for (const m of source.matchAll(/keda:"name=([A-Za-z]+),order=([^,"]+)([^"]*)"/g)) {
    const [, name, order, rest] = m as unknown as [string, string, string, string];
    const orders = order.split(';');
    if (!orders.includes('triggerMetadata') && !orders.includes('resolvedEnv')) continue;
    if (orders.includes('triggerMetadata')) allowed.add(name);
    if (orders.includes('resolvedEnv')) allowed.add(`${name}FromEnv`);
    if (!/(^|,)optional\b/.test(rest) && !/(^|,)default=/.test(rest)) required.push(name);
  }
  if (!allowed.has('consumerGroup')) throw new Error('could not read the kafka scaler keys from KEDA source');
  return { allowed, required };
}

// ---------------------------------------------------------------- schema validation (Python)

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Doc {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: unknown;
  [key: string]: unknown;
}
interface FileResult {
  file: string;
  docs: Doc[];
  errors: string[];
}

function schemaValidate(python: string, crds: string[], files: string[], k8sVersion: string): FileResult[] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-validate-'));
  try {
    const result = path.join(tmp, 'result.json');
    run(
      python,
      [
        path.join(ROOT, 'scripts/k8s-validate/validate.py'),
        '--kubernetes-version',
        k8sVersion,
        ...crds.flatMap((c) => ['--crd', c]),
        '--out',
        result,
        ...files,
      ],
      { what: 'schema validation' },
    );
    return (JSON.parse(fs.readFileSync(result, 'utf8')) as { files: FileResult[] }).files;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- consistency with the code

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}
interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels?: Record<string, string> };
  template: {
    metadata?: Meta;
    spec: { terminationGracePeriodSeconds?: number; securityContext?: { runAsNonRoot?: boolean }; containers: Container[] };
  };
}
interface ScaledObjectSpec {
  scaleTargetRef: { name: string; kind?: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  triggers: Array<{ type: string; metadata: Record<string, string> }>;
}
interface SelectorSpec {
  selector: { matchLabels?: Record<string, string> };
}
interface HpaSpec {
  scaleTargetRef: { kind: string; name: string };
  metrics?: Array<{ type: string; resource?: { name: string } }>;
}

export interface CodeFacts {
  /** Every env var lib/config.ts reads. */
  configEnv: Set<string>;
  /** Env vars lib/config.ts marks sensitive (they belong in a Secret). */
  sensitiveEnv: Set<string>;
  defaults: { partitions: number; shutdownMs: number; metricsPort: number; apiPort: number };
  /** Processor name (= consumer group) → topics it consumes. */
  processors: Map<string, readonly string[]>;
  kafkaKeys: { allowed: Set<string>; required: string[] };
}

function codeFacts(kafkaScalerSource: string): CodeFacts {
  const configEnv = new Set<string>();
  const sensitiveEnv = new Set<string>(ASSUMED_ENV);
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const { env, sensitive } = node as { env?: unknown; sensitive?: unknown };
    if (typeof env === 'string') {
      configEnv.add(env);
      if (sensitive === true) sensitiveEnv.add(env);
    } else for (const v of Object.values(node)) walk(v);
  };
  walk(configSchema);
  const config = loadConfig({});
  return {
    configEnv,
    sensitiveEnv,
    defaults: {
      partitions: config.topics.partitions,
      shutdownMs: config.runtime.shutdownTimeoutMs,
      metricsPort: config.metrics.port,
      apiPort: config.api.port,
    },
    processors: new Map(PROCESSOR_MANIFEST.map((d) => [d.name, d.topics])),
    kafkaKeys: kafkaTriggerKeys(kafkaScalerSource),
  };
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** Returns one message per inconsistency between the manifests and the code. */
export function checkConsistency(docs: Doc[], facts: CodeFacts): string[] {
  const errors: string[] = [];
  const err = (where: string, msg: string): void => void errors.push(`${where}: ${msg}`);
  const of = (kind: string): Doc[] => docs.filter((d) => d.kind === kind);
  const id = (d: Doc): string => `${d.kind}/${d.metadata.name ?? '?'}`;

  // ConfigMaps and Secrets: names lib/config.ts knows, no real secrets, nothing set twice.
  const configMaps = new Map(of('ConfigMap').map((d) => [d.metadata.name ?? '', d.data ?? {}]));
  const secrets = new Map(of('Secret').map((d) => [d.metadata.name ?? '', { ...(d.data ?? {}), ...(d.stringData ?? {}) }]));
  const seen = new Map<string, string>();
  for (const [kind, map] of [
    ['ConfigMap', configMaps],
    ['Secret', secrets],
  ] as const) {
    for (const [name, data] of map) {
      for (const [key, value] of Object.entries(data)) {
        if (!facts.configEnv.has(key) && !ASSUMED_ENV.has(key)) err(`${kind}/${name}`, `${key} is not an env var of lib/config.ts`);
        if (kind === 'ConfigMap' && facts.sensitiveEnv.has(key)) err(`${kind}/${name}`, `${key} is sensitive: it belongs in a Secret`);
        if (kind === 'Secret' && !PLACEHOLDERS.has(value))
          err(`${kind}/${name}`, `${key} must be a placeholder ('' or CHANGE_ME), not a value`);
        const before = seen.get(key);
        if (before) err(`${kind}/${name}`, `${key} is also set by ${before}`);
        seen.set(key, `${kind}/${name}`);
      }
    }
  }
  const env = Object.assign({}, ...configMaps.values()) as Record<string, string>;
  const num = (key: string, fallback: number): number => (env[key] !== undefined ? Number(env[key]) : fallback);
  const partitions = num('TOPIC_PARTITIONS', facts.defaults.partitions);
  const shutdownMs = num('SHUTDOWN_TIMEOUT_MS', facts.defaults.shutdownMs);
  const metricsPort = num('METRICS_PORT', facts.defaults.metricsPort);
  const apiPort = num('API_PORT', facts.defaults.apiPort);

  // Deployments: entry point, ports, probes, grace period, security, resources, references.
  const deployments = new Map<string, { spec: DeploymentSpec; processor?: string }>();
  const processorDeployment = new Map<string, string>();
  let apiDeployment: string | undefined;
  for (const d of of('Deployment')) {
    const where = id(d);
    const spec = d.spec as DeploymentSpec;
    const pod = spec.template.spec;
    const entry: { spec: DeploymentSpec; processor?: string } = { spec };
    deployments.set(d.metadata.name ?? '', entry);
    if (spec.replicas !== undefined) err(where, 'replicas is set, but the autoscaler owns it (every apply would reset the scale)');
    if (!matches(spec.selector.matchLabels, spec.template.metadata?.labels)) err(where, 'selector does not match the pod labels');
    if ((pod.terminationGracePeriodSeconds ?? 30) * 1000 <= shutdownMs)
      err(where, `terminationGracePeriodSeconds must exceed SHUTDOWN_TIMEOUT_MS (${shutdownMs} ms)`);
    const annotations = spec.template.metadata?.annotations ?? {};
    for (const c of pod.containers) {
      const cw = `${where} container ${c.name}`;
      const [cmd, script, ...args] = c.command ?? [];
      let port: number | undefined;
      // One processor per deployment: `node dist/processors/run.js <name>` (the one entry point of processors).
      const proc = script === 'dist/processors/run.js' ? (args.length === 1 ? args[0] : '') : undefined;
      if (cmd !== 'node') err(cw, `command must run node, got ${JSON.stringify(c.command)}`);
      else if (proc !== undefined) {
        if (!facts.processors.has(proc))
          err(cw, `${JSON.stringify(args)} is not one processor (known: ${[...facts.processors.keys()].join(', ')})`);
        else if (!fs.existsSync(path.join(ROOT, 'processors', proc, 'index.ts'))) err(cw, `processors/${proc}/index.ts does not exist`);
        if (processorDeployment.has(proc)) err(cw, `processor ${proc} is already run by ${processorDeployment.get(proc)}`);
        processorDeployment.set(proc, d.metadata.name ?? '');
        entry.processor = proc;
        port = metricsPort;
      } else if (script === 'dist/api/main.js') {
        apiDeployment = d.metadata.name;
        port = apiPort;
      } else err(cw, `unknown entry point ${JSON.stringify(script)}`);
      if ((c.image ?? '').split(':')[0] !== IMAGE) err(cw, `image must be ${IMAGE}[:tag] so that the kustomize images entry applies`);
      const portOf = (p: string | number | undefined): number | undefined =>
        typeof p === 'number' ? p : c.ports?.find((x) => x.name === p)?.containerPort;
      for (const [probe, want] of [
        ['readinessProbe', '/ready'],
        ['livenessProbe', '/health'],
      ] as const) {
        const get = c[probe]?.httpGet;
        if (get?.path !== want) err(cw, `${probe} must be GET ${want}`);
        else if (port !== undefined && portOf(get.port) !== port) err(cw, `${probe} must use port ${port}, got ${String(get.port)}`);
      }
      if (port !== undefined && !c.ports?.some((p) => p.containerPort === port)) err(cw, `must expose containerPort ${port}`);
      if (annotations['prometheus.io/scrape'] !== 'true' || annotations['prometheus.io/port'] !== String(port))
        err(where, `pod needs prometheus.io/scrape "true" and prometheus.io/port "${port}"`);
      const sc = c.securityContext ?? {};
      if (!(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot)) err(cw, 'securityContext.runAsNonRoot must be true');
      if (sc.readOnlyRootFilesystem !== true) err(cw, 'securityContext.readOnlyRootFilesystem must be true');
      if (sc.allowPrivilegeEscalation !== false) err(cw, 'securityContext.allowPrivilegeEscalation must be false');
      if (!sc.capabilities?.drop?.includes('ALL')) err(cw, 'securityContext.capabilities.drop must include ALL');
      for (const k of ['requests', 'limits'] as const)
        for (const r of ['cpu', 'memory']) if (!c.resources?.[k]?.[r]) err(cw, `resources.${k}.${r} is missing`);
      for (const ref of c.envFrom ?? []) {
        if (ref.configMapRef && !configMaps.has(ref.configMapRef.name))
          err(cw, `envFrom ConfigMap ${ref.configMapRef.name} is not defined`);
        if (ref.secretRef && !secrets.has(ref.secretRef.name)) err(cw, `envFrom Secret ${ref.secretRef.name} is not defined`);
      }
    }
  }
  for (const name of facts.processors.keys()) if (!processorDeployment.has(name)) err(`processor ${name}`, 'has no Deployment');
  if (!apiDeployment) err('api', 'has no Deployment running dist/api/main.js');

  // Every Deployment has a PodDisruptionBudget.
  const pdbs = of('PodDisruptionBudget');
  for (const [name, { spec }] of deployments)
    if (!pdbs.some((p) => matches((p.spec as SelectorSpec).selector.matchLabels, spec.template.metadata?.labels)))
      err(`Deployment/${name}`, 'no PodDisruptionBudget selects its pods');

  // KEDA: one ScaledObject per processor, on its consumer group, bounded by partitions.
  const scaled = new Set<string>();
  for (const d of of('ScaledObject')) {
    const where = id(d);
    const spec = d.spec as ScaledObjectSpec;
    const target = deployments.get(spec.scaleTargetRef.name);
    if ((spec.scaleTargetRef.kind ?? 'Deployment') !== 'Deployment' || !target?.processor) {
      err(where, `scaleTargetRef ${spec.scaleTargetRef.name} is not a processor Deployment`);
      continue;
    }
    const proc = target.processor;
    scaled.add(proc);
    const topics = facts.processors.get(proc) ?? [];
    const catalog = topicCatalog({ topics: { partitions, replicationFactor: 1 } });
    const maxUseful = Math.min(...topics.map((t) => catalog.find((s) => s.name === t)?.partitions ?? 0));
    const max = spec.maxReplicaCount ?? 100;
    const min = spec.minReplicaCount ?? 0;
    if (max > maxUseful) err(where, `maxReplicaCount ${max} exceeds the partitions of its topics (${maxUseful}, TOPIC_PARTITIONS)`);
    if (min < 1 || min > max) err(where, `minReplicaCount must be between 1 and maxReplicaCount, got ${min}`);
    const kafka = spec.triggers.filter((t) => t.type === 'kafka');
    if (kafka.length !== 1) err(where, 'needs exactly one kafka trigger');
    for (const t of kafka) {
      const m = t.metadata;
      for (const key of Object.keys(m))
        if (!facts.kafkaKeys.allowed.has(key)) err(where, `kafka trigger metadata key ${key} is not read by KEDA's kafka scaler`);
      for (const key of facts.kafkaKeys.required)
        if (m[key] === undefined && m[`${key}FromEnv`] === undefined) err(where, `kafka trigger needs ${key} (or ${key}FromEnv)`);
      if (m.consumerGroup !== proc)
        err(where, `consumerGroup must be ${proc} (the group id is the processor name), got ${m.consumerGroup}`);
      const fromEnv = m.bootstrapServersFromEnv;
      if (fromEnv !== undefined && env[fromEnv] === undefined) err(where, `bootstrapServersFromEnv ${fromEnv} is not set by the ConfigMap`);
      if (m.offsetResetPolicy !== 'earliest') err(where, 'offsetResetPolicy must be earliest (processors subscribe from the beginning)');
    }
  }
  for (const proc of processorDeployment.keys()) if (!scaled.has(proc)) err(`processor ${proc}`, 'has no ScaledObject');

  // The API scales on CPU.
  const hpas = of('HorizontalPodAutoscaler');
  for (const d of hpas) {
    const spec = d.spec as HpaSpec;
    const target = deployments.get(spec.scaleTargetRef.name);
    if (spec.scaleTargetRef.kind !== 'Deployment' || !target)
      err(id(d), `scaleTargetRef ${spec.scaleTargetRef.name} is not a Deployment here`);
    else if (target.processor) err(id(d), 'processors scale on consumer lag (KEDA), not with an HPA');
    if (!spec.metrics?.some((x) => x.type === 'Resource' && x.resource?.name === 'cpu')) err(id(d), 'needs a cpu Resource metric');
  }
  if (apiDeployment && !hpas.some((d) => (d.spec as HpaSpec).scaleTargetRef.name === apiDeployment))
    err('api', 'has no HorizontalPodAutoscaler');
  return errors;
}

// ---------------------------------------------------------------- self-test: broken variants must fail

interface Mutant {
  what: string;
  /** schema: caught by the JSON schemas; code: caught by checkConsistency. */
  by: 'schema' | 'code';
  expect: RegExp;
  mutate(docs: Doc[]): void;
}

const find = (docs: Doc[], kind: string, name: string): Doc => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!d) throw new Error(`self-test: ${kind}/${name} not in the manifests`);
  return d;
};
const deploymentOf = (docs: Doc[], name: string): DeploymentSpec => find(docs, 'Deployment', name).spec as DeploymentSpec;
const firstContainer = (docs: Doc[], name: string): Container => deploymentOf(docs, name).template.spec.containers[0]!;

const MUTANTS: Mutant[] = [
  {
    what: 'PrometheusRule rule with an unknown field (prometheus-operator CRD)',
    by: 'schema',
    expect: /expression/,
    mutate: (d) => {
      const rule = (find(d, 'PrometheusRule', 'school-events').spec as { groups: Array<{ rules: Array<Record<string, unknown>> }> })
        .groups[0]!.rules[0]!;
      rule.expression = rule.expr;
    },
  },
  {
    what: 'PodMonitor endpoint port as a list (prometheus-operator CRD)',
    by: 'schema',
    expect: /port/,
    mutate: (d) =>
      void ((
        find(d, 'PodMonitor', 'processors').spec as { podMetricsEndpoints: Array<Record<string, unknown>> }
      ).podMetricsEndpoints[0]!.port = ['ops']),
  },
  {
    what: 'containerPort as a string',
    by: 'schema',
    expect: /containerPort.*not of type 'integer'/,
    mutate: (d) => void ((firstContainer(d, 'processor-users').ports![0] as { containerPort: unknown }).containerPort = '9464'),
  },
  {
    what: 'misspelt field livenessProbe.httpGett',
    by: 'schema',
    expect: /httpGett/,
    mutate: (d) => {
      const probe = firstContainer(d, 'api').livenessProbe as Record<string, unknown>;
      probe.httpGett = probe.httpGet;
      delete probe.httpGet;
    },
  },
  {
    what: 'Deployment without spec.selector',
    by: 'schema',
    expect: /'selector' is a required property/,
    mutate: (d) => void delete (deploymentOf(d, 'processor-grades') as Partial<DeploymentSpec>).selector,
  },
  {
    what: 'Service port without its port number',
    by: 'schema',
    expect: /'port' is a required property/,
    mutate: (d) => void delete (find(d, 'Service', 'api').spec as { ports: Array<{ port?: number }> }).ports[0]!.port,
  },
  {
    what: 'ScaledObject maxReplicaCount as a string (KEDA CRD)',
    by: 'schema',
    expect: /maxReplicaCount.*not of type 'integer'/,
    mutate: (d) => void ((find(d, 'ScaledObject', 'processor-academic').spec as Record<string, unknown>).maxReplicaCount = 'six'),
  },
  {
    what: 'ScaledObject without scaleTargetRef (KEDA CRD)',
    by: 'schema',
    expect: /'scaleTargetRef' is a required property/,
    mutate: (d) => void delete (find(d, 'ScaledObject', 'processor-attendance').spec as Partial<ScaledObjectSpec>).scaleTargetRef,
  },
  {
    what: 'ScaledObject unknown field spec.maxReplicas (KEDA CRD)',
    by: 'schema',
    expect: /maxReplicas/,
    mutate: (d) => void ((find(d, 'ScaledObject', 'processor-users').spec as Record<string, unknown>).maxReplicas = 3),
  },
  {
    what: 'HPA with an unknown metric target type field',
    by: 'schema',
    expect: /averageUtilisation/,
    mutate: (d) => {
      const target = (
        find(d, 'HorizontalPodAutoscaler', 'api').spec as { metrics: Array<{ resource: { target: Record<string, unknown> } }> }
      ).metrics[0]!.resource.target;
      target.averageUtilisation = target.averageUtilization;
      delete target.averageUtilization;
    },
  },
  {
    what: 'maxReplicaCount above the partition count',
    by: 'code',
    expect: /maxReplicaCount 12 exceeds the partitions/,
    mutate: (d) => void ((find(d, 'ScaledObject', 'processor-grades').spec as ScaledObjectSpec).maxReplicaCount = 12),
  },
  {
    what: 'consumer group that is not the processor name',
    by: 'code',
    expect: /consumerGroup must be users/,
    mutate: (d) =>
      void ((find(d, 'ScaledObject', 'processor-users').spec as ScaledObjectSpec).triggers[0]!.metadata.consumerGroup =
        'school-events-users'),
  },
  {
    what: 'misspelt kafka trigger key lagThresold',
    by: 'code',
    expect: /lagThresold is not read by KEDA/,
    mutate: (d) => {
      const m = (find(d, 'ScaledObject', 'processor-notifications').spec as ScaledObjectSpec).triggers[0]!.metadata;
      m.lagThresold = m.lagThreshold!;
      delete m.lagThreshold;
    },
  },
  {
    what: 'grace period not above SHUTDOWN_TIMEOUT_MS',
    by: 'code',
    expect: /terminationGracePeriodSeconds must exceed/,
    mutate: (d) => void (deploymentOf(d, 'processor-academic').template.spec.terminationGracePeriodSeconds = 15),
  },
  {
    what: 'ConfigMap key lib/config.ts does not know (KAFKA_BROKER)',
    by: 'code',
    expect: /KAFKA_BROKER is not an env var/,
    mutate: (d) => void (find(d, 'ConfigMap', 'school-events-config').data!.KAFKA_BROKER = 'kafka:9092'),
  },
  {
    what: 'a real value in the Secret template',
    by: 'code',
    expect: /PG_URL must be a placeholder/,
    mutate: (d) => void (find(d, 'Secret', 'school-events-stores').stringData!.PG_URL = 'postgres://u:hunter2@db:5432/school'),
  },
  {
    what: 'the JWT key in the ConfigMap',
    by: 'code',
    expect: /API_JWT_PUBLIC_KEY is sensitive/,
    mutate: (d) => {
      delete find(d, 'Secret', 'school-events-api-jwt').stringData!.API_JWT_PUBLIC_KEY;
      find(d, 'ConfigMap', 'school-events-config').data!.API_JWT_PUBLIC_KEY = 'CHANGE_ME';
    },
  },
  {
    what: 'readiness probe on /health',
    by: 'code',
    expect: /readinessProbe must be GET \/ready/,
    mutate: (d) => void (firstContainer(d, 'processor-assignments').readinessProbe!.httpGet!.path = '/health'),
  },
  {
    what: 'container without readOnlyRootFilesystem',
    by: 'code',
    expect: /readOnlyRootFilesystem must be true/,
    mutate: (d) => void (firstContainer(d, 'api').securityContext!.readOnlyRootFilesystem = false),
  },
  {
    what: 'probe on the wrong port number',
    by: 'code',
    expect: /must use port 9464/,
    mutate: (d) => void (firstContainer(d, 'processor-attendance').livenessProbe!.httpGet!.port = 8080),
  },
];

function selfTest(docs: Doc[], facts: CodeFacts, python: string, crds: string[], k8sVersion: string): string[] {
  const failures: string[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-validate-mutants-'));
  try {
    const variants = MUTANTS.map((m, i) => {
      const copy = JSON.parse(JSON.stringify(docs)) as Doc[];
      m.mutate(copy);
      const file = path.join(tmp, `mutant-${i}.yaml`);
      // JSON is YAML: one document per object.
      fs.writeFileSync(file, copy.map((d) => JSON.stringify(d)).join('\n---\n'));
      return { m, copy, file };
    });
    const schemaResults = new Map(
      schemaValidate(
        python,
        crds,
        variants.filter((v) => v.m.by === 'schema').map((v) => v.file),
        k8sVersion,
      ).map((r) => [r.file, r.errors]),
    );
    for (const v of variants) {
      const errors = v.m.by === 'schema' ? (schemaResults.get(v.file) ?? []) : checkConsistency(v.copy, facts);
      const hit = errors.find((e) => v.m.expect.test(e));
      if (hit) out(`  rejected   ${v.m.what}\n             ${hit}`);
      else {
        failures.push(`self-test: broken variant "${v.m.what}" was not rejected (errors: ${JSON.stringify(errors)})`);
        out(`  NOT REJECTED ${v.m.what}`);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return failures;
}

// ---------------------------------------------------------------- main

function kustomizationResources(dir: string): string[] {
  // The resources list only: `- file.yaml` lines under `resources:` (kustomize itself checks the rest).
  const lines = fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^resources:\s*$/.test(l));
  const res: string[] = [];
  for (const l of start < 0 ? [] : lines.slice(start + 1)) {
    const m = /^\s+-\s+(\S+)\s*$/.exec(l);
    if (m) res.push(m[1]!);
    else if (/^\S/.test(l)) break;
  }
  return res;
}

const HELP = `usage: npm run k8s:validate -- [--kubernetes-version V] [--no-self-test] [dir…]

Validates the Kubernetes manifests (default deploy/k8s) offline: each file and the kustomize build against
the Kubernetes JSON schemas (strict) and the KEDA CRD, and their consistency with the code; then breaks known
objects and checks each broken variant is rejected (the self-test). Tools are cached under STACK_CACHE_DIR.
  --kubernetes-version V   schema version (default ${KUBERNETES_VERSION})
  --no-self-test           skip the self-test`;

function main(): void {
  const { values, positionals } = parseCli({
    name: 'k8s:validate',
    help: HELP,
    allowPositionals: true,
    options: {
      'kubernetes-version': { type: 'string', default: KUBERNETES_VERSION },
      'no-self-test': { type: 'boolean', default: false },
    },
  });
  const k8sVersion = values['kubernetes-version'];
  const dirs = positionals.length ? positionals.map((p) => path.resolve(p)) : [DEFAULT_DIR];
  const cacheDir = loadConfig().stack.cacheDir;
  fs.mkdirSync(cacheDir, { recursive: true });
  const python = ensureVenv(cacheDir);
  const keda = ensureKeda(cacheDir);
  const crds = [keda.crd, ...ensurePrometheusOperatorCrds(cacheDir)];
  const kustomize = ensureKustomize(cacheDir);
  const facts = codeFacts(fs.readFileSync(keda.kafkaScaler, 'utf8'));
  out(
    `k8s:validate: Kubernetes ${k8sVersion} schemas (kubernetes-validate, strict), KEDA v${KEDA_VERSION} ScaledObject CRD, prometheus-operator v${PROMETHEUS_OPERATOR_VERSION} CRDs, kustomize v${KUSTOMIZE_VERSION}`,
  );

  const failures: string[] = [];
  let rendered: Doc[] = [];
  for (const dir of dirs) {
    rendered = [];
    const files = fs
      .readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
      .sort();
    const listed = kustomizationResources(dir);
    const fail = (msg: string): void => {
      out(`FAIL ${msg}`);
      failures.push(msg);
    };
    for (const f of files) if (!listed.includes(f)) fail(`${rel(dir)}/kustomization.yaml: ${f} is not in resources`);
    for (const f of listed) if (!files.includes(f)) fail(`${rel(dir)}/kustomization.yaml: resource ${f} does not exist`);

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-validate-build-'));
    try {
      const renderedFile = path.join(tmp, 'kustomize-build.yaml');
      let built = true;
      try {
        fs.writeFileSync(renderedFile, run(kustomize, ['build', dir], { what: `kustomize build ${rel(dir)}` }));
      } catch (e) {
        built = false;
        fail((e as Error).message.trim());
      }
      const targets = [...files.map((f) => path.join(dir, f)), ...(built ? [renderedFile] : [])];
      for (const r of schemaValidate(python, crds, targets, k8sVersion)) {
        const label = r.file === renderedFile ? `kustomize build ${rel(dir)}` : rel(r.file);
        const kinds =
          r.file === renderedFile ? `${r.docs.length} objects` : r.docs.map((d) => `${d.kind}/${d.metadata?.name ?? '?'}`).join(', ');
        if (r.errors.length === 0) out(`ok   ${label} (${kinds})`);
        else {
          out(`FAIL ${label}`);
          for (const e of r.errors) {
            out(`       ${e}`);
            failures.push(`${label}: ${e}`);
          }
        }
        if (r.file === renderedFile) rendered = r.docs;
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    if (rendered.length) {
      const errors = checkConsistency(rendered, facts);
      if (errors.length === 0) out(`ok   consistency with the code (lib/config.ts, processors, topics/catalog.ts, KEDA kafka scaler)`);
      else {
        out(`FAIL consistency with the code`);
        for (const e of errors) {
          out(`       ${e}`);
          failures.push(`consistency: ${e}`);
        }
      }
    }
  }

  // The self-test breaks known objects of deploy/k8s: it runs when that is what was validated.
  if (!values['no-self-test'] && !positionals.length && failures.length === 0) {
    out(`self-test: ${MUTANTS.length} broken variants of the rendered manifests, each must be rejected`);
    failures.push(...selfTest(rendered, facts, python, crds, k8sVersion));
  }
  if (failures.length) {
    process.stderr.write(`k8s:validate: FAILED (${failures.length} problem(s))\n`);
    process.exit(1);
  }
  out('k8s:validate: all manifests valid');
}

if (require.main === module) runCli('k8s:validate', main);
