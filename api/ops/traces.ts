import { notFound } from '../http/problem';

/** One span as the console draws it: offsets from the trace's first span, in milliseconds. */
export interface TraceSpan {
  spanId: string;
  parentSpanId: string | null;
  service: string;
  processor: string | null;
  eventType: string | null;
  name: string;
  startOffsetMs: number;
  durationMs: number;
}

export interface Trace {
  traceId: string;
  durationMs: number;
  spans: TraceSpan[];
}

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: Array<{ refType: string; spanID: string }>;
  startTime: number; // µs since the epoch
  duration: number; // µs
  tags?: Array<{ key: string; value: unknown }>;
  processID: string;
}
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const ms = (us: number): number => Math.round(us / 100) / 10;

/** Jaeger's trace JSON (its query API, /api/traces/{id}) → spans in start order (pure). */
export function toTrace(t: JaegerTrace): Trace {
  const t0 = Math.min(...t.spans.map((s) => s.startTime));
  const end = Math.max(...t.spans.map((s) => s.startTime + s.duration));
  const tag = (s: JaegerSpan, k: string): string | null => {
    const v = s.tags?.find((x) => x.key === k)?.value;
    return v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v);
  };
  const spans = [...t.spans]
    .sort((a, b) => a.startTime - b.startTime || a.spanID.localeCompare(b.spanID))
    .map((s) => ({
      spanId: s.spanID,
      parentSpanId: s.references?.find((r) => r.refType === 'CHILD_OF')?.spanID ?? null,
      service: t.processes[s.processID]?.serviceName ?? 'unknown',
      processor: tag(s, 'school.processor'),
      eventType: tag(s, 'school.event.type'),
      name: s.operationName,
      startOffsetMs: ms(s.startTime - t0),
      durationMs: ms(s.duration),
    }));
  return { traceId: t.traceID, durationMs: ms(end - t0), spans };
}

/**
 * Finds traces in the tracing backend (Jaeger's query API) by the event a span applied. The pipeline's
 * services are named school-events-* (or OTEL_SERVICE_NAME); each is asked for a span tagged with the event id.
 */
export class TraceReader {
  constructor(
    private readonly queryUrl: string,
    /** OTEL_SERVICE_NAME when set: every process of the deployment reports under it. */
    private readonly serviceName = '',
  ) {}

  private async json<T>(path: string): Promise<T | undefined> {
    const res = await fetch(`${this.queryUrl}${path}`, { headers: { accept: 'application/json' } });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`the tracing backend answered ${res.status} to ${path}`);
    return (await res.json()) as T;
  }

  /** The trace in which any of the pipeline's services applied this event; 404 when none was recorded. */
  async byEvent(eventId: string): Promise<Trace> {
    const services = ((await this.json<{ data: string[] | null }>('/api/services'))?.data ?? []).filter(
      (s) => s.startsWith('school-events') || s === this.serviceName,
    );
    for (const service of services) {
      const q = new URLSearchParams({ service, tags: JSON.stringify({ 'school.event.id': eventId }), limit: '1', lookback: '7d' });
      const found = (await this.json<{ data: JaegerTrace[] | null }>(`/api/traces?${q.toString()}`))?.data?.[0];
      if (!found) continue;
      // The search answers with the matching spans' trace; ask for the whole trace by its id.
      const whole = (await this.json<{ data: JaegerTrace[] | null }>(`/api/traces/${found.traceID}`))?.data?.[0] ?? found;
      return toTrace(whole);
    }
    throw notFound(`no trace of event ${eventId} in the tracing backend (tracing off, not sampled, or older than its retention)`);
  }
}
