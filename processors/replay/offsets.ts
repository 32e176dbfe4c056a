import type { Admin } from 'kafkajs';
import type { StoredPosition } from '../runtime/store';

/** Offsets per "topic:partition" of physical topics. */
export type Offsets = Map<string, number>;
export const key = (topic: string, partition: number): string => `${topic}:${partition}`;
export const splitKey = (k: string): { topic: string; partition: number } => {
  const at = k.lastIndexOf(':');
  return { topic: k.slice(0, at), partition: Number(k.slice(at + 1)) };
};

/** The runtime's stored next offsets as Offsets. */
export const offsetsOf = (positions: StoredPosition[]): Offsets => new Map(positions.map((p) => [key(p.topic, p.partition), p.next]));

export async function endOffsets(admin: Admin, topics: string[]): Promise<Offsets> {
  const out: Offsets = new Map();
  for (const t of topics) for (const p of await admin.fetchTopicOffsets(t)) out.set(key(t, p.partition), Number(p.high));
  return out;
}

export async function startOffsets(admin: Admin, topics: string[]): Promise<Offsets> {
  const out: Offsets = new Map();
  for (const t of topics) for (const p of await admin.fetchTopicOffsets(t)) out.set(key(t, p.partition), Number(p.low));
  return out;
}

/** First offset at or after a moment per partition (the end when nothing is that late): a bound "as of" that instant. */
export async function offsetsAt(admin: Admin, topics: string[], at: Date): Promise<Offsets> {
  const ends = await endOffsets(admin, topics);
  const out: Offsets = new Map();
  for (const t of topics)
    for (const p of await admin.fetchTopicOffsetsByTimestamp(t, at.getTime())) {
      const o = Number(p.offset);
      out.set(key(t, p.partition), o < 0 ? (ends.get(key(t, p.partition)) ?? 0) : o);
    }
  return out;
}
