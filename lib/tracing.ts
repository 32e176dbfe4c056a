import { createHash, randomBytes } from 'node:crypto';
import {
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Attributes,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type IdGenerator,
} from '@opentelemetry/sdk-trace';
import type { Config } from './config';

/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP). The W3C trace
 * context travels in each event's `metadata.traceparent` and its Kafka `traceparent` header. A processor's
 * span for an event it applies has a span id computed from (processor, eventId) (processSpanId): the events it
 * derives name that span as their parent while the handlers stay pure, and a redelivery reports the same span.
 * Contexts are passed explicitly (no global context manager, no monkey-patching).
 */

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(value: string | null | undefined): SpanContext | undefined {
  const m = TRACEPARENT.exec(value ?? '');
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
}

export const formatTraceparent = (c: Pick<SpanContext, 'traceId' | 'spanId' | 'traceFlags'>): string =>
  `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, '0')}`;

/** The span id of `processor` applying the event `eventId`. */
export const processSpanId = (processor: string, eventId: string): string =>
  createHash('sha256').update(`${processor}\u0000${eventId}`).digest('hex').slice(0, 16);

/** The trace context an event derived by `processor` from `cause` carries: a child of that processor's span for the cause. */
export function derivedTraceparent(processor: string, cause: { eventId: string; metadata: { traceparent: string | null } }): string | null {
  const parent = parseTraceparent(cause.metadata.traceparent);
  return parent ? formatTraceparent({ ...parent, spanId: processSpanId(processor, cause.eventId) }) : null;
}

/** Random ids, except a span id preset for the next span started (processSpanId). */
class PresetIds implements IdGenerator {
  next: string | undefined;
  generateTraceId = (): string => randomBytes(16).toString('hex');
  generateSpanId = (): string => {
    const id = this.next ?? randomBytes(8).toString('hex');
    this.next = undefined;
    return id;
  };
}

export interface SpanOptions {
  parent?: SpanContext;
  /** The span's own id (processSpanId); random otherwise. */
  spanId?: string;
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  startTime?: number;
}

export interface Tracing {
  readonly enabled: boolean;
  start(name: string, o?: SpanOptions): Span;
  shutdown(): Promise<void>;
}

const OFF: Tracing = {
  enabled: false,
  start: () => trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: TraceFlags.NONE }),
  shutdown: () => Promise.resolve(),
};

export function createTracing(
  config: { tracing: Pick<Config['tracing'], 'endpoint' | 'serviceName'> & Partial<Pick<Config['tracing'], 'sampleRatio'>> },
  defaultService: string,
): Tracing {
  const { endpoint, serviceName, sampleRatio = 1 } = config.tracing;
  if (!endpoint) return OFF;
  const ids = new PresetIds();
  const provider = new TracerProvider({
    idGenerator: ids,
    // A trace started here is sampled at sampleRatio; one continued here follows its parent's decision.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio) }),
    resource: resourceFromAttributes({ 'service.name': serviceName || defaultService }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` }),
        scheduledDelayMillis: 1000,
        // Spans beyond a full queue are dropped by the SDK; a busy processor makes thousands a second.
        maxQueueSize: 16384,
        maxExportBatchSize: 2048,
      }),
    ],
  });
  const tracer: Tracer = provider.getTracer('school-events');
  return {
    enabled: true,
    start(name, o = {}) {
      const parent = o.parent ? trace.setSpanContext(ROOT_CONTEXT, o.parent) : ROOT_CONTEXT;
      ids.next = o.spanId; // startSpan asks the generator synchronously, once
      try {
        return tracer.startSpan(
          name,
          { kind: o.kind ?? SpanKind.INTERNAL, attributes: o.attributes, links: o.links, startTime: o.startTime },
          parent,
        );
      } finally {
        ids.next = undefined;
      }
    },
    shutdown: () => provider.shutdown(),
  };
}

export { SpanKind };
