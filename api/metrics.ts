import type { NextFunction, Request, Response } from 'express';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { formatTraceparent, parseTraceparent, SpanKind, type Tracing } from '../lib/tracing';

/** Latency per route template, method and status (templates, not raw paths: bounded label values). */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const latency = new Histogram({
    name: 'school_events_http_request_duration_seconds',
    help: 'HTTP request latency by route, method and status',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const end = latency.startTimer();
    res.on('finish', () => {
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      end({ route, method: req.method, status: String(res.statusCode) });
    });
    next();
  };
  return { registry, middleware };
}

/**
 * A server span per request (tracing on), child of the caller's `traceparent`; the events a command publishes
 * carry this span's context (res.locals.traceparent). Tracing off: the caller's context is passed on as is.
 */
export function traceRequests(tracing: Tracing) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.get('traceparent')?.slice(0, 200);
    if (!tracing.enabled) {
      res.locals.traceparent = incoming && parseTraceparent(incoming) ? incoming : null;
      return next();
    }
    const span = tracing.start(`${req.method} ${req.path}`, {
      parent: parseTraceparent(incoming),
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': req.method, 'url.path': req.path },
    });
    res.locals.traceparent = formatTraceparent(span.spanContext());
    res.on('finish', () => {
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
      span.end();
    });
    next();
  };
}
