import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseCli, runCli, UsageError } from '../../lib/cli';
import { loadConfig, type Config } from '../../lib/config';
import { StackError } from '../../lib/errors';
import { portOpen } from './probes';
import { SERVICES, ensureDatabases, logFile, projectionsDatabase, type Paths, type Service } from './services';

/**
 * The native local stack: `up` installs what is missing and starts what does not
 * already answer; `down` stops only what `up` started (recorded pids); `status` tells what answers.
 */

type State = 'answering' | 'down' | 'taken';

const say = (m: string): void => void process.stdout.write(`${m}\n`);

export function stackPaths(config: Config): Paths {
  return { root: path.resolve(config.stack.dir), cache: path.resolve(config.stack.cacheDir) };
}

const pidFile = (paths: Paths, s: Service): string => path.join(paths.root, 'run', `${s.name}.pid`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * What identifies a running process beyond its pid (which the system reuses, e.g. after a reboot): its start
 * time and command line, as `ps` prints them (Linux and macOS alike).
 */
export function processIdentity(pid: number): string | undefined {
  const r = spawnSync('ps', ['-ww', '-o', 'lstart=', '-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  const out = r.status === 0 ? r.stdout.trim() : '';
  return out || undefined;
}

/** The pid file: the pid, then the identity it had when we started it. */
function writePidFile(paths: Paths, s: Service, pid: number): void {
  fs.mkdirSync(path.dirname(pidFile(paths, s)), { recursive: true });
  fs.writeFileSync(pidFile(paths, s), `${pid}\n${processIdentity(pid) ?? ''}\n`);
}

/**
 * The pid of a service we started and that still runs, or undefined. A live pid whose identity differs from
 * the recorded one is another process now (a pid reused after a reboot): never ours, never signalled. Pid
 * files written before identities were recorded count when the command line names this stack's directories.
 */
function recordedPid(paths: Paths, s: Service): number | undefined {
  let lines: string[];
  try {
    lines = fs.readFileSync(pidFile(paths, s), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]?.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  const now = processIdentity(pid);
  const recorded = lines[1]?.trim();
  const ours = recorded ? now === recorded : !!now && (now.includes(paths.root) || now.includes(paths.cache));
  if (!ours) {
    say(`${s.name.padEnd(10)} pid ${pid} from ${pidFile(paths, s)} is another process now (${now ?? 'unknown'}): left alone`);
    fs.rmSync(pidFile(paths, s), { force: true });
    return undefined;
  }
  return pid;
}

async function stateOf(config: Config, s: Service): Promise<State> {
  try {
    await s.probe(config);
    return 'answering';
  } catch {
    const { host, port } = s.endpoint(config);
    return (await portOpen(host, port)) ? 'taken' : 'down';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function logTail(paths: Paths, s: Service): string {
  try {
    return fs.readFileSync(logFile(paths, s.name), 'utf8').trim().split('\n').slice(-8).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitReady(config: Config, paths: Paths, s: Service, pid: number): Promise<void> {
  const deadline = Date.now() + config.stack.readyTimeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      await s.probe(config);
      return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (!alive(pid)) {
      throw new StackError(`${s.name} exited during start-up; see ${logFile(paths, s.name)}:\n${logTail(paths, s)}`);
    }
    await sleep(500);
  }
  throw new StackError(
    `${s.name} not ready after ${config.stack.readyTimeoutMs} ms (last probe error: ${last}); see ${logFile(paths, s.name)}`,
  );
}

async function upOne(config: Config, paths: Paths, s: Service): Promise<void> {
  const { host, port } = s.endpoint(config);
  const state = await stateOf(config, s);
  if (state === 'answering') {
    const pid = recordedPid(paths, s);
    say(`${s.name.padEnd(10)} already answering on ${host}:${port}${pid ? ` (pid ${pid}, ours)` : ' (not started by us: left alone)'}`);
    return;
  }
  if (state === 'taken') {
    throw new StackError(
      `${s.name}: port ${host}:${port} is taken by something that is not ${s.name}; stop it or point the config elsewhere`,
    );
  }
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new StackError(`${s.name}: ${host}:${port} does not answer and is not on this machine, so stack:up cannot start it`);
  }
  const t0 = Date.now();
  const pid = await s.start(config, paths, (m) => say(`${s.name.padEnd(10)} ${m}`));
  writePidFile(paths, s, pid);
  await waitReady(config, paths, s, pid);
  say(
    `${s.name.padEnd(10)} ready on ${host}:${port} (pid ${pid}, ${((Date.now() - t0) / 1000).toFixed(1)} s, log ${logFile(paths, s.name)})`,
  );
}

const byName = (n: string): Service => {
  const s = SERVICES.find((x) => x.name === n);
  if (!s) throw new Error(`unknown service ${n}`);
  return s;
};

export async function up(config: Config, withOptional: string[] = []): Promise<void> {
  const paths = stackPaths(config);
  fs.mkdirSync(paths.root, { recursive: true });
  fs.mkdirSync(paths.cache, { recursive: true });
  // Kafka does not depend on PostgreSQL; the registry and FerretDB store their data in it.
  await Promise.all([upOne(config, paths, byName('postgres')), upOne(config, paths, byName('kafka'))]);
  await ensureDatabases(config, [projectionsDatabase(config)]);
  await Promise.all([
    upOne(config, paths, byName('registry')),
    upOne(config, paths, byName('ferretdb')),
    upOne(config, paths, byName('prometheus')),
  ]);
  for (const s of SERVICES) if (s.optional && withOptional.includes(s.optional)) await upOne(config, paths, s);
}

/** Stops one service if `up` started it; returns false when it is not ours (left alone). */
export async function stopService(config: Config, name: string): Promise<boolean> {
  const paths = stackPaths(config);
  const s = byName(name);
  const pid = recordedPid(paths, s);
  if (!pid) {
    fs.rmSync(pidFile(paths, s), { force: true });
    return false;
  }
  process.kill(pid, s.stopSignal);
  const deadline = Date.now() + 30000;
  while (alive(pid) && Date.now() < deadline) await sleep(200);
  if (alive(pid)) {
    say(`${s.name.padEnd(10)} did not stop within 30 s: SIGKILL`);
    process.kill(pid, 'SIGKILL');
  }
  fs.rmSync(pidFile(paths, s), { force: true });
  say(`${s.name.padEnd(10)} stopped (pid ${pid})`);
  return true;
}

/** Starts one service unless it already answers (fault-injection tests restart single servers). */
export async function startService(config: Config, name: string): Promise<void> {
  await upOne(config, stackPaths(config), byName(name));
}

/** True when `up` started this service (so a test may stop and restart it). */
export function isOurs(config: Config, name: string): boolean {
  return recordedPid(stackPaths(config), byName(name)) !== undefined;
}

export async function down(config: Config): Promise<void> {
  for (const s of [...SERVICES].reverse()) await stopService(config, s.name);
}

export async function status(config: Config): Promise<boolean> {
  const paths = stackPaths(config);
  let allUp = true;
  for (const s of SERVICES) {
    const { host, port } = s.endpoint(config);
    const state = await stateOf(config, s);
    const pid = recordedPid(paths, s);
    allUp &&= state === 'answering' || (!!s.optional && state === 'down');
    say(
      `${s.name.padEnd(10)} ${`${host}:${port}`.padEnd(16)} ${state.padEnd(10)} ${pid ? `pid ${pid} (ours)` : state === 'answering' ? 'external' : ''}`,
    );
  }
  return allUp;
}

const HELP = `usage: npm run stack:up [-- --with tracing] | stack:down | stack:status

The local stack without Docker (STACK.md): PostgreSQL, Kafka (KRaft), FerretDB, the schema registry and
Prometheus, installed on first use into STACK_CACHE_DIR and run from STACK_DIR on 127.0.0.1.
  stack:up       start what is not answering yet (installs on first use);
                 --with tracing also starts Jaeger (OTLP on :4318, UI and query API on :16686)
  stack:down     stop the services this project started (and only those)
  stack:status   one line per service; exit 1 unless all answer`;

async function main(): Promise<void> {
  const { positionals, values } = parseCli({
    name: 'stack',
    help: HELP,
    options: { with: { type: 'string', multiple: true } },
    allowPositionals: true,
  });
  const [cmd, ...rest] = positionals;
  if (rest.length) throw new UsageError(`unexpected ${rest.join(' ')}`);
  const extras = values.with ?? [];
  const known = SERVICES.flatMap((s) => s.optional ?? []);
  for (const x of extras) if (!known.includes(x)) throw new UsageError(`--with ${x}: give one of ${known.join(', ')}`);
  const config = loadConfig();
  if (cmd === 'up') await up(config, extras);
  else if (cmd === 'down') await down(config);
  else if (cmd === 'status') process.exitCode = (await status(config)) ? 0 : 1;
  else throw new UsageError(`give up, down or status (got ${cmd ?? 'nothing'})`);
}

if (require.main === module) runCli('stack', main);
