import type { IHeaders, Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';

export interface RawRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  timestamp: string;
}

/**
 * Reads every record of the given topics up to their end offsets as of the call, with a
 * throwaway consumer group that is deleted afterwards (operator tools and tests; never
 * used by processors). Records come back in (topic, partition, offset) order.
 */
export async function readToEnd(kafka: Kafka, topics: string[], timeoutMs = 30000): Promise<RawRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `read-to-end-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId });
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const ends = new Map<string, number>();
    for (const t of present) for (const p of await admin.fetchTopicOffsets(t)) ends.set(`${t}:${p.partition}`, Number(p.high));
    const remaining = new Set([...ends].filter(([, high]) => high > 0).map(([k]) => k));
    const out: RawRecord[] = [];
    if (remaining.size === 0) return out;
    await consumer.connect();
    await consumer.subscribe({ topics: present, fromBeginning: true });
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ topic, partition, message }) => {
        const key = `${topic}:${partition}`;
        const end = ends.get(key) ?? 0;
        if (Number(message.offset) < end) {
          out.push({
            topic,
            partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            headers: message.headers ?? {},
            timestamp: message.timestamp,
          });
        }
        if (Number(message.offset) + 1 >= end) remaining.delete(key);
        if (remaining.size === 0) resolveDone();
        return Promise.resolve();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out reading ${present.join(', ')} to the end`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || Number(a.offset) - Number(b.offset));
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
