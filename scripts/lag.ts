import type { Admin } from 'kafkajs';

export interface ConsumerGroupRef {
  name: string;
  groupId: string;
  topics: readonly string[];
}

/** Records not yet consumed by each group over its topics (committed offsets vs end offsets), by name. */
export async function groupLag(admin: Admin, groups: ConsumerGroupRef[]): Promise<Record<string, number>> {
  const ends = new Map<string, number>();
  for (const t of new Set(groups.flatMap((g) => g.topics)))
    for (const p of await admin.fetchTopicOffsets(t)) ends.set(`${t}:${p.partition}`, Number(p.high));
  const out: Record<string, number> = {};
  for (const g of groups) {
    const committed = await admin.fetchOffsets({ groupId: g.groupId, topics: [...g.topics] });
    let lag = 0;
    for (const t of committed) {
      for (const p of t.partitions) lag += Math.max(0, (ends.get(`${t.topic}:${p.partition}`) ?? 0) - Math.max(0, Number(p.offset)));
    }
    out[g.name] = lag;
  }
  return out;
}
