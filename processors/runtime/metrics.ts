import client from 'prom-client';

/** Metrics of one process (one registry, passed in; no global default registry). */
export class RuntimeMetrics {
  readonly registry = new client.Registry();
  readonly events = new client.Counter({
    name: 'processor_events_total',
    help: 'Records handled, by processor, event type and outcome (applied, duplicate, ignored, redelivered, dead_lettered)',
    labelNames: ['processor', 'event_type', 'outcome'],
    registers: [this.registry],
  });
  readonly latency = new client.Histogram({
    name: 'processor_chunk_duration_seconds',
    help: 'Time to apply one chunk of records in one store transaction, by processor',
    labelNames: ['processor'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly lag = new client.Gauge({
    name: 'processor_consumer_lag',
    help: 'Records behind the partition high watermark after the last applied chunk',
    labelNames: ['processor', 'topic', 'partition'],
    registers: [this.registry],
  });
  readonly deadLetters = new client.Counter({
    name: 'processor_dead_letters_total',
    help: 'Records sent to a dead-letter (or parked) topic, by error class',
    labelNames: ['processor', 'topic', 'error_class'],
    registers: [this.registry],
  });
  readonly retries = new client.Counter({
    name: 'processor_retries_total',
    help: 'Transient failures retried (the partition is held meanwhile)',
    labelNames: ['processor', 'store'],
    registers: [this.registry],
  });
  readonly circuit = new client.Gauge({
    name: 'processor_circuit_state',
    help: 'Store circuit breaker: 0 closed, 1 half-open, 2 open',
    labelNames: ['processor', 'store'],
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
  }
}
