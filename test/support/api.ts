import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../lib/config';
import { systemClock } from '../../lib/clock';
import { createLogger } from '../../lib/logger';
import { createApp } from '../../api/app';
import { loadJwtKeys, mintToken, type JwtKeys, type Role } from '../../api/auth/jwt';
import { createApiDeps, type ApiResources } from '../../api/deps';
import type { Locator } from '../../api/locator';
import { EVENT_DEFINITIONS } from '../../schemas/generated/events';
import type { TestPipeline } from './pipeline';

export interface HttpResult {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** The API in this process on a random port, reading and writing the test pipeline's isolated topics and stores. */
export class ApiHarness {
  keys!: JwtKeys;
  resources!: ApiResources;
  private server!: http.Server;
  base = '';
  readonly keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-jwt-'));
  readonly config: Config;
  /** Calls this API instance made to its stores and broker: every projection read, relation read and publish goes through its DependencyGuard. */
  guardedCalls = 0;

  constructor(
    readonly p: TestPipeline,
    overrides: Partial<Config['api']> = {},
  ) {
    this.config = { ...p.config, api: { ...p.config.api, jwtKeyDir: this.keyDir, ...overrides } };
  }

  get locator(): Locator {
    return {
      pgSchema: (name) => this.p.schema(name),
      mongoDb: this.p.run,
      group: (name) => `${this.p.run}-${name}`,
      topic: (t) => this.p.topic(EVENT_DEFINITIONS[t].topic),
      topicName: (t) => this.p.topic(t),
    };
  }

  async start(): Promise<void> {
    this.keys = loadJwtKeys(this.config);
    this.resources = await createApiDeps(this.config, createLogger(this.config, 'api-test'), systemClock, this.keys, this.locator);
    // Counts, and still runs, every guarded store call (an observer, not a stand-in: the real store answers).
    const guard = this.resources.deps.guard;
    const run = guard.run.bind(guard);
    guard.run = (dep, fn) => {
      this.guardedCalls++;
      return run(dep, fn);
    };
    const app = createApp(this.resources.deps);
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
    const a = this.server.address();
    this.base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
    await this.resources?.close();
    await this.p.pool.query(`drop schema if exists "${this.p.schema('api')}" cascade`);
    fs.rmSync(this.keyDir, { recursive: true, force: true });
  }

  token(sub: string, ...roles: Role[]): Promise<string> {
    return mintToken(this.keys, this.config, { sub, roles });
  }

  async call(
    method: string,
    url: string,
    opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<HttpResult> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const r = await fetch(this.base + url, { method, headers, body });
    const text = await r.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { text };
    }
    return { status: r.status, headers: r.headers, body: parsed };
  }
}
