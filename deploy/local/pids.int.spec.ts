import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testConfig } from '../../test/support';
import { isOurs, processIdentity, stopService } from './stack';

/**
 * stack:down signals only the processes it started: a pid file whose pid now belongs to another process
 * (reused after a reboot) is left alone. Runs against a throwaway stack directory with a `sleep` standing in
 * for a service; no real server is touched.
 */
describe('local stack pid files (int: real processes)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-pids-'));
  const config = testConfig({ STACK_DIR: dir });
  const sleepers: ChildProcess[] = [];
  const sleeper = (): ChildProcess => {
    const p = spawn('sleep', ['60'], { stdio: 'ignore' });
    sleepers.push(p);
    return p;
  };
  const alive = (p: ChildProcess): boolean => p.exitCode === null && p.signalCode === null;
  const pidFile = path.join(dir, 'run', 'kafka.pid');
  before(() => fs.mkdirSync(path.dirname(pidFile), { recursive: true }));
  after(() => {
    for (const p of sleepers) p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('leaves alone a live pid whose start time and command line are not the recorded ones', async () => {
    const stranger = sleeper();
    fs.writeFileSync(pidFile, `${stranger.pid}\nMon Jan  1 00:00:00 2024 java kafka.Kafka /elsewhere/server.properties\n`);
    expect(isOurs(config, 'kafka')).to.equal(false);
    fs.writeFileSync(pidFile, `${stranger.pid}\nMon Jan  1 00:00:00 2024 java kafka.Kafka /elsewhere/server.properties\n`);
    expect(await stopService(config, 'kafka')).to.equal(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(stranger), 'the stranger still runs').to.equal(true);
    expect(fs.existsSync(pidFile), 'the stale pid file is gone').to.equal(false);
  });

  it('leaves alone a legacy pid file (pid only) whose process does not name this stack', async () => {
    const stranger = sleeper();
    fs.writeFileSync(pidFile, `${stranger.pid}\n`);
    expect(await stopService(config, 'kafka')).to.equal(false);
    expect(alive(stranger)).to.equal(true);
  });

  it('stops the process it recorded', async () => {
    const ours = sleeper();
    await new Promise((r) => setTimeout(r, 100));
    fs.writeFileSync(pidFile, `${ours.pid}\n${processIdentity(ours.pid!)}\n`);
    expect(isOurs(config, 'kafka')).to.equal(true);
    const exited = new Promise((r) => ours.once('exit', r));
    expect(await stopService(config, 'kafka')).to.equal(true);
    await exited;
    expect(alive(ours)).to.equal(false);
  });
});
