import type { IHeaders, Kafka, Producer } from 'kafkajs';
import { readToEnd } from '../../lib/read-to-end';
import { DLQ, headerString } from './dead-letters';

/** One dead letter as the operator sees it; `id` is `<dlq topic>:<partition>:<offset>`. */
export interface DeadLetter {
  id: string;
  dlqTopic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  sourceTopic: string | undefined;
  eventType: string | undefined;
  eventId: string | undefined;
  errorClass: string | undefined;
  /** The rule of the school the record broke (docs/invariants.md), when it was a RuleViolationError with a code. */
  rule: string | undefined;
  errorMessage: string | undefined;
  movedAt: string | undefined;
  redriveCount: number;
}

export interface DeadLetterFilter {
  sourceTopic?: string;
  eventType?: string;
  errorClass?: string;
  rule?: string;
  since?: Date;
  until?: Date;
}

export function matches(d: DeadLetter, f: DeadLetterFilter): boolean {
  if (f.sourceTopic && d.sourceTopic !== f.sourceTopic) return false;
  if (f.eventType && d.eventType !== f.eventType) return false;
  if (f.errorClass && d.errorClass !== f.errorClass) return false;
  if (f.rule && d.rule !== f.rule) return false;
  const at = d.movedAt ? Date.parse(d.movedAt) : NaN;
  if (f.since && !(at >= f.since.getTime())) return false;
  if (f.until && !(at <= f.until.getTime())) return false;
  return true;
}

/** Every dead letter of the given topics, up to their current end. */
export async function readDeadLetters(kafka: Kafka, topics: string[], timeoutMs = 30000): Promise<DeadLetter[]> {
  const records = await readToEnd(kafka, topics, timeoutMs);
  return records.map((r) => toDeadLetter(r.topic, r.partition, r.offset, r.key, r.value, r.headers));
}

function toDeadLetter(
  topic: string,
  partition: number,
  offset: string,
  key: Buffer | null,
  value: Buffer | null,
  headers: IHeaders,
): DeadLetter {
  const h = (k: string): string | undefined => headerString(headers, k);
  return {
    id: `${topic}:${partition}:${offset}`,
    dlqTopic: topic,
    partition,
    offset,
    key,
    value,
    headers,
    sourceTopic: h(DLQ.sourceTopic),
    eventType: h(DLQ.eventType),
    eventId: h(DLQ.eventId),
    errorClass: h(DLQ.errorClass),
    rule: h(DLQ.rule),
    errorMessage: h(DLQ.errorMessage),
    movedAt: h(DLQ.movedAt),
    redriveCount: Number(h(DLQ.redriveCount) ?? 0),
  };
}

/**
 * Sends dead letters back to their source topics at a bounded rate: original key,
 * value and headers, minus the dead-letter headers, plus lineage (from where, when,
 * how many times). Consumers apply a redriven event once: its eventId is unchanged.
 */
export async function redrive(
  producer: Producer,
  letters: DeadLetter[],
  opts: { ratePerSecond: number; now?: () => Date },
): Promise<number> {
  const gapMs = 1000 / Math.max(1, opts.ratePerSecond);
  let sent = 0;
  for (const d of letters) {
    if (!d.sourceTopic) throw new Error(`${d.id} has no ${DLQ.sourceTopic} header; cannot tell where to redrive it`);
    const headers: IHeaders = {};
    for (const [k, v] of Object.entries(d.headers))
      if (!k.startsWith('dlq.') && !k.startsWith('redrive.') && v !== undefined) headers[k] = v;
    headers[DLQ.redriveCount] = String(d.redriveCount + 1);
    headers[DLQ.redriveFrom] = d.id;
    headers[DLQ.redriveAt] = (opts.now?.() ?? new Date()).toISOString();
    const t0 = Date.now();
    await producer.send({ topic: d.sourceTopic, acks: -1, messages: [{ key: d.key, value: d.value, headers }] });
    sent++;
    const wait = gapMs - (Date.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return sent;
}
