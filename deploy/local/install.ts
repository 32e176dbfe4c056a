import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StackError } from '../../lib/errors';

// Versions of the native stack; bump here and nowhere else.
export const KAFKA_VERSION = '3.9.2';
export const APICURIO_VERSION = '3.0.9';
export const FERRETDB_VERSION = '1.24.2';
export const JAEGER_VERSION = '1.76.0';
/** PostgreSQL major version the stack is tested with (the newest installed is used; Debian 12's is 15). */
export const POSTGRES_MAJOR = '15';
/** The Compose specification's JSON schema, from the module docker compose itself loads files with. */
export const COMPOSE_GO_VERSION = '2.16.2';

const here = __dirname;

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function requireTool(cmd: string, how: string): void {
  if (!has(cmd)) throw new StackError(`missing prerequisite: ${cmd} is not on PATH; ${how}`);
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; what: string }): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new StackError(`${opts.what} failed (${cmd} ${args.join(' ')}):\n${tail}`);
  }
  return r.stdout;
}

/** Kafka broker + kafka-tools jars from Maven Central into <cache>/kafka-<v>/lib (4.x with log4j2, as it ships). */
export function ensureKafka(cacheDir: string, log: (m: string) => void, version = KAFKA_VERSION): string {
  const libDir = path.join(cacheDir, `kafka-${version}`, 'lib');
  const marker = path.join(libDir, '.complete');
  if (fs.existsSync(marker)) return libDir;
  requireTool('java', 'install a JDK 17+ (Debian: apt-get install -y openjdk-17-jre-headless)');
  requireTool('mvn', 'install Apache Maven (Debian: apt-get install -y maven)');
  log(`installing Apache Kafka ${version} jars from Maven Central into ${libDir}`);
  fs.mkdirSync(libDir, { recursive: true });
  run(
    'mvn',
    [
      '-q',
      '-B',
      '-Dstyle.color=never',
      '-f',
      path.join(here, 'kafka-pom.xml'),
      `-Dkafka.version=${version}`,
      ...(Number(version.split('.')[0]) >= 4 ? ['-Pkafka4'] : []),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${libDir}`,
      '-DincludeScope=runtime',
    ],
    {
      what: 'downloading Kafka jars',
    },
  );
  fs.writeFileSync(marker, new Date().toISOString());
  return libDir;
}

/** Apicurio Registry's Quarkus distribution (tar.gz, classifier "all") from Maven Central. */
export function ensureApicurio(cacheDir: string, log: (m: string) => void): string {
  const dir = path.join(cacheDir, `apicurio-registry-${APICURIO_VERSION}`);
  const jar = path.join(dir, `apicurio-registry-app-${APICURIO_VERSION}-runner.jar`);
  if (fs.existsSync(jar)) return jar;
  requireTool('java', 'install a JDK 17+ (Debian: apt-get install -y openjdk-17-jre-headless)');
  requireTool('mvn', 'install Apache Maven (Debian: apt-get install -y maven)');
  log(`installing Apicurio Registry ${APICURIO_VERSION} from Maven Central into ${dir}`);
  const artifact = `io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`;
  const dl = `${dir}.download`;
  run('mvn', ['-q', '-B', '-Dstyle.color=never', 'dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${dl}`], {
    what: 'downloading Apicurio Registry',
  });
  const tgz = path.join(dl, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`);
  const tmp = `${dir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  run('tar', ['xzf', tgz, '-C', tmp], { what: 'unpacking Apicurio Registry' });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  fs.rmSync(dl, { recursive: true, force: true });
  return jar;
}

/**
 * FerretDB v1 built from the Go module proxy. `go install …@v1.24.2` is refused here
 * (the proxy answers 403 to the module's version list that go install reads for
 * deprecation notices) and a build outside FerretDB's own module panics on a missing
 * build/version/version.txt, so: download the exact module, add version.txt, build it.
 */
export function ensureFerretDb(cacheDir: string, log: (m: string) => void): string {
  const bin = path.join(cacheDir, `ferretdb-${FERRETDB_VERSION}`, 'ferretdb');
  if (fs.existsSync(bin)) return bin;
  requireTool('go', 'install Go 1.22+ (https://go.dev/dl or Debian: apt-get install -y golang)');
  log(`building FerretDB v${FERRETDB_VERSION} from the Go module proxy (takes a few minutes the first time)`);
  const modInfo = JSON.parse(
    run('go', ['mod', 'download', '-json', `github.com/FerretDB/FerretDB@v${FERRETDB_VERSION}`], {
      cwd: os.tmpdir(),
      what: 'downloading FerretDB',
    }),
  ) as { Dir: string };
  const src = path.join(cacheDir, `ferretdb-${FERRETDB_VERSION}`, 'src');
  fs.rmSync(src, { recursive: true, force: true });
  fs.cpSync(modInfo.Dir, src, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', src]);
  fs.writeFileSync(path.join(src, 'build/version/version.txt'), `v${FERRETDB_VERSION}\n`);
  run('go', ['build', '-o', bin, './cmd/ferretdb'], { cwd: src, env: { ...process.env, CGO_ENABLED: '0' }, what: 'building FerretDB' });
  fs.rmSync(src, { recursive: true, force: true });
  return bin;
}

/**
 * Jaeger (its all-in-one `jaeger` program: OTLP receivers, in-memory storage, query API and UI), built from the
 * Go module proxy like FerretDB: a throwaway module records it as a tool, then `go build` (several minutes the
 * first time on two cores; cached after).
 */
export function ensureJaeger(cacheDir: string, log: (m: string) => void): string {
  const dir = path.join(cacheDir, `jaeger-${JAEGER_VERSION}`);
  const bin = path.join(dir, 'jaeger');
  if (fs.existsSync(bin)) return bin;
  requireTool('go', 'install Go 1.22+ (https://go.dev/dl or Debian: apt-get install -y golang)');
  log(`building Jaeger v${JAEGER_VERSION} from the Go module proxy (takes several minutes the first time)`);
  const src = path.join(dir, 'build');
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'go.mod'), 'module jaegerbuild\n\ngo 1.24\n');
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
  const pkg = 'github.com/jaegertracing/jaeger/cmd/jaeger';
  run('go', ['get', '-tool', `${pkg}@v${JAEGER_VERSION}`], { cwd: src, env, what: 'downloading Jaeger' });
  run('go', ['build', '-o', bin, pkg], { cwd: src, env, what: 'building Jaeger' });
  fs.rmSync(src, { recursive: true, force: true });
  return bin;
}

/** PostgreSQL server binaries: the newest /usr/lib/postgresql/<v>/bin, installed from Debian when missing. */
export function ensurePostgres(log: (m: string) => void): string {
  const found = findPgBin();
  if (found) return found;
  if (!has('apt-get'))
    throw new StackError(
      'missing prerequisite: PostgreSQL server binaries (initdb, postgres) not found and apt-get is not available; install PostgreSQL 15+ server',
    );
  if (process.getuid?.() !== 0)
    throw new StackError(
      'missing prerequisite: PostgreSQL server binaries not found; run: sudo apt-get update && sudo apt-get install -y postgresql',
    );
  log('installing PostgreSQL from Debian packages (apt-get install -y postgresql)');
  run('apt-get', ['update', '-qq'], { what: 'apt-get update' });
  run('apt-get', ['install', '-y', '-qq', 'postgresql'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    what: 'apt-get install postgresql',
  });
  const bin = findPgBin();
  if (!bin) throw new StackError('PostgreSQL was installed but no /usr/lib/postgresql/<version>/bin/initdb was found');
  return bin;
}

/**
 * Debian's Chromium for the console's browser test and the screenshots (a test tool's own browser
 * download is refused on a closed network): /usr/bin/chromium, installed from Debian when missing.
 */
export function ensureChromium(log: (m: string) => void): string {
  const bin = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (fs.existsSync(bin)) return bin;
  if (!has('apt-get')) throw new StackError(`missing prerequisite: Chromium not found at ${bin}; install it or set CHROMIUM_PATH`);
  if (process.getuid?.() !== 0)
    throw new StackError(
      `missing prerequisite: Chromium not found at ${bin}; run: sudo apt-get update && sudo apt-get install -y chromium`,
    );
  log('installing Chromium from Debian packages (apt-get install -y chromium)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { what: 'apt-get update' });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env, what: 'apt-get install chromium' });
  if (!fs.existsSync(bin)) throw new StackError(`Chromium was installed but ${bin} does not exist`);
  return bin;
}

function findPgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

/** The Compose specification's JSON schema (compose-go's schema/compose-spec.json), from the Go module proxy. */
export function ensureComposeSchema(cacheDir: string, log: (m: string) => void): string {
  const file = path.join(cacheDir, `compose-spec-${COMPOSE_GO_VERSION}.json`);
  if (fs.existsSync(file)) return file;
  requireTool('go', 'install Go 1.22+ (https://go.dev/dl or Debian: apt-get install -y golang)');
  log(`downloading the Compose specification schema (compose-go v${COMPOSE_GO_VERSION}) from the Go module proxy`);
  const mod = JSON.parse(
    run('go', ['mod', 'download', '-json', `github.com/compose-spec/compose-go/v2@v${COMPOSE_GO_VERSION}`], {
      cwd: os.tmpdir(),
      what: 'downloading compose-go',
    }),
  ) as { Dir: string };
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.copyFileSync(path.join(mod.Dir, 'schema', 'compose-spec.json'), file);
  return file;
}

/**
 * promtool (rule checks and rule unit tests): from PATH, else from Debian's `prometheus` package, downloaded
 * (apt-get download needs no root) and unpacked into the cache without installing anything.
 */
export function ensurePromtool(cacheDir: string, log: (m: string) => void): string {
  return has('promtool') ? 'promtool' : path.join(ensurePrometheusPackage(cacheDir, log), 'usr', 'bin', 'promtool');
}

/** The Prometheus server of the local stack, from the same package. */
export function ensurePrometheus(cacheDir: string, log: (m: string) => void): string {
  return path.join(ensurePrometheusPackage(cacheDir, log), 'usr', 'bin', 'prometheus');
}

/** Debian's prometheus package unpacked under the cache (apt-get download needs no root); its root directory. */
function ensurePrometheusPackage(cacheDir: string, log: (m: string) => void): string {
  const dir = path.join(cacheDir, 'prometheus-deb');
  const root = path.join(dir, 'root');
  if (fs.existsSync(path.join(root, 'usr', 'bin', 'prometheus'))) return root;
  requireTool('apt-get', 'install Prometheus 2.x with promtool (https://prometheus.io/download), or run on Debian/Ubuntu');
  log("downloading Debian's prometheus package (Prometheus and promtool)");
  unpackDebs(dir, root, ['prometheus']);
  return root;
}

/**
 * The web UI's files for the local Prometheus (`--web.local-assets`): Debian's package links its UI's
 * scripts and styles to the libjs-* packages it depends on; those are unpacked beside it, so the links
 * (relative, ../../../javascript/…) resolve inside the cache.
 */
export function ensurePrometheusWeb(cacheDir: string, log: (m: string) => void): string {
  const root = ensurePrometheusPackage(cacheDir, log);
  const web = path.join(root, 'usr', 'share', 'prometheus', 'web');
  if (fs.existsSync(path.join(root, 'usr', 'share', 'javascript', 'jquery'))) return web;
  log("downloading the Prometheus UI's script packages (Debian libjs-*)");
  unpackDebs(path.join(cacheDir, 'prometheus-deb'), root, PROMETHEUS_UI_PACKAGES);
  return web;
}

const PROMETHEUS_UI_PACKAGES = [
  'libjs-bootstrap4',
  'libjs-eonasdan-bootstrap-datetimepicker',
  'libjs-jquery',
  'libjs-jquery-hotkeys',
  'libjs-moment',
  'libjs-moment-timezone',
  'libjs-mustache',
  'libjs-popper.js',
  'libjs-rickshaw',
  'libjs-d3',
];

/** apt-get download (no root) of Debian packages into `dir`, each unpacked into `root`, nothing installed. */
function unpackDebs(dir: string, root: string, packages: string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const download = (): string =>
    run('apt-get', ['download', '-qq', ...packages], { cwd: dir, what: `apt-get download ${packages.join(' ')}` });
  try {
    download();
  } catch (e) {
    // A machine whose package lists were never fetched knows none of them yet: fetch them (root) and retry.
    if (process.getuid?.() !== 0) throw e;
    run('apt-get', ['update', '-qq'], { what: 'apt-get update' });
    download();
  }
  for (const name of packages) {
    const deb = fs.readdirSync(dir).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
    if (!deb) throw new StackError(`apt-get download ${name} left no .deb in ${dir}`);
    run('dpkg-deb', ['-x', path.join(dir, deb), root], { what: `unpacking ${name}` });
  }
}
