import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../lib/config';
import { isOurs, startService, stopService } from '../../deploy/local/stack';

/** A TCP port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A PostgreSQL server of its own for a test that stops the server: started the way the local
 * stack starts its PostgreSQL (same binaries, initdb, flags), but in a temporary stack directory
 * on a free port, so the shared stack is never touched.
 */
export class IsolatedPostgres {
  private dir = '';
  config!: Config;

  constructor(private readonly base: Config) {}

  /** The first call creates the cluster; later calls start it again on the same data and port. */
  async start(): Promise<Config> {
    if (!this.dir) {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'it-pg-'));
      fs.chmodSync(this.dir, 0o755); // the server runs as the postgres user when we are root
      const url = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`;
      this.config = { ...this.base, pg: { ...this.base.pg, url }, stack: { ...this.base.stack, dir: this.dir } };
    }
    await startService(this.config, 'postgres');
    return this.config;
  }

  /** Stops the server (fast shutdown); true when it was running. */
  stop(): Promise<boolean> {
    return stopService(this.config, 'postgres');
  }

  /** Stops the server if it runs and deletes its data. */
  async destroy(): Promise<void> {
    if (!this.dir) return;
    if (isOurs(this.config, 'postgres')) await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
}
