import http from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** Process is alive and not stopping. */
  alive(): boolean;
  /** Every consumer is in its group and no store circuit is open; details for humans. */
  readiness(): { ready: boolean; details: Record<string, unknown> };
}

/** /metrics (Prometheus), /health (liveness), /ready (readiness) for one processor process. */
export function startOpsServer(port: number, registry: Registry, health: HealthSource): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/metrics') {
      registry.metrics().then(
        (text) => send(200, text, registry.contentType),
        (e: unknown) => send(500, JSON.stringify({ error: String(e) })),
      );
    } else if (url === '/health') {
      const alive = health.alive();
      send(alive ? 200 : 503, JSON.stringify({ status: alive ? 'ok' : 'stopping' }));
    } else if (url === '/ready') {
      const r = health.readiness();
      send(r.ready ? 200 : 503, JSON.stringify({ status: r.ready ? 'ready' : 'not ready', ...r.details }));
    } else send(404, JSON.stringify({ error: 'not found' }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}
