import type { IHeaders, Kafka, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
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
  errorMessage: string | undefined;
  movedAt: string | undefined;
  redriveCount: number;
}

export interface DeadLetterFilter {
  sourceTopic?: string;
  eventType?: string;
  errorClass?: string;
  since?: Date;
  until?: Date;
}

export function matches(d: DeadLetter, f: DeadLetterFilter): boolean {
  if (f.sourceTopic && d.sourceTopic !== f.sourceTopic) return false;
  if (f.eventType && d.eventType !== f.eventType) return false;
  if (f.errorClass && d.errorClass !== f.errorClass) return false;
  const at = d.movedAt ? Date.parse(d.movedAt) : NaN;
  if (f.since && !(at >= f.since.getTime())) return false;
  if (f.until && !(at <= f.until.getTime())) return false;
  return true;
}

/** Reads every record of the given dead-letter topics up to their current end, with a throwaway group. */
export async function readDeadLetters(kafka: Kafka, topics: string[], timeoutMs = 30000): Promise<DeadLetter[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `dlq-tool-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const ends = new Map<string, number>();
    for (const t of present) for (const p of await admin.fetchTopicOffsets(t)) ends.set(`${t}:${p.partition}`, Number(p.high));
    const remaining = new Set([...ends].filter(([, high]) => high > 0).map(([k]) => k));
    const out: DeadLetter[] = [];
    if (remaining.size === 0) return out;
    await consumer.connect();
    await consumer.subscribe({ topics: present, fromBeginning: true });
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ topic, partition, message }) => {
        const key = `${topic}:${partition}`;
        if (Number(message.offset) < (ends.get(key) ?? 0))
          out.push(toDeadLetter(topic, partition, message.offset, message.key, message.value, message.headers ?? {}));
        if (Number(message.offset) + 1 >= (ends.get(key) ?? 0)) remaining.delete(key);
        if (remaining.size === 0) resolveDone();
        return Promise.resolve();
      },
    });
    await Promise.race([
      done,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out reading ${present.join(', ')}`)), timeoutMs)),
    ]);
    return out.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
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
