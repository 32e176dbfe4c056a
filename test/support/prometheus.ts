import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePrometheus } from '../../deploy/local/install';
import { stackPaths } from '../../deploy/local/stack';
import type { Config } from '../../lib/config';
import { eventually } from './index';
import { freePort } from './postgres';

export interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query against a Prometheus's HTTP API: the result vector; a refused query throws, naming it. */
export async function promQuery(url: string, promql: string): Promise<Series[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: Series[] } };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.error ?? body.status}`);
  return body.data.result;
}

/**
 * A Prometheus server of a test's own (the stack's binary, Debian's package), scraping the given targets
 * every second and evaluating the given rules every second, on a free port with a throwaway database.
 */
export class IsolatedPrometheus {
  private child: ChildProcess | undefined;
  private dir = '';
  url = '';

  constructor(private readonly config: Config) {}

  async start(o: { rules: string; jobs: Record<string, string[]> }): Promise<void> {
    const bin = ensurePrometheus(stackPaths(this.config).cache, () => undefined);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'it-prom-'));
    fs.writeFileSync(path.join(this.dir, 'rules.yaml'), o.rules);
    const jobs = Object.entries(o.jobs).map(([job, targets]) => ({ job_name: job, static_configs: [{ targets }] }));
    fs.writeFileSync(
      path.join(this.dir, 'prometheus.yml'),
      JSON.stringify({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, rule_files: ['rules.yaml'], scrape_configs: jobs }),
    );
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(
      bin,
      [
        `--config.file=${path.join(this.dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    await eventually(async () => ((await fetch(`${this.url}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 'Prometheus ready');
  }

  /** An instant query's result vector. */
  query(promql: string): Promise<Series[]> {
    return promQuery(this.url, promql);
  }

  /** The samples of one series over the last `seconds`, one a second. */
  async range(promql: string, seconds: number): Promise<number[]> {
    const end = Date.now() / 1000;
    const q = new URLSearchParams({ query: promql, start: String(end - seconds), end: String(end), step: '1' });
    const body = (await (await fetch(`${this.url}/api/v1/query_range?${q.toString()}`)).json()) as {
      data: { result: Array<{ values: Array<[number, string]> }> };
    };
    return (body.data.result[0]?.values ?? []).map(([, v]) => Number(v));
  }

  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((r) => this.child!.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
