import type { Admin } from 'kafkajs';
import { endOffsetsOnce, type PartitionEnds } from './end-offsets';

export interface ConsumerGroupRef {
  name: string;
  groupId: string;
  topics: readonly string[];
}

/** One partition of a group's lag: `committed` is null before the group's first commit there. */
export interface PartitionLag {
  topic: string;
  partition: number;
  committed: number | null;
  end: number;
  lag: number;
}

/** Records not yet consumed by each group over its topics (committed offsets vs end offsets), by name. */
export async function groupLag(admin: Admin, groups: ConsumerGroupRef[]): Promise<Record<string, number>> {
  const endsOf = endOffsetsOnce(admin);
  const out: Record<string, number> = {};
  for (const g of groups) out[g.name] = (await partitionLag(admin, g, endsOf)).reduce((n, r) => n + r.lag, 0);
  return out;
}

/**
 * One group's lag per topic and partition (committed offset vs end offset). No commit yet counts from the
 * partition's first kept offset (0 on the domain topics, which keep everything): where the group will start.
 */
export async function partitionLag(
  admin: Admin,
  group: ConsumerGroupRef,
  endsOf: (topic: string) => Promise<PartitionEnds[]> = endOffsetsOnce(admin),
): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId: group.groupId, topics: [...group.topics] });
  const rows: PartitionLag[] = [];
  for (const t of committed) {
    const ends = new Map((await endsOf(t.topic)).map((p) => [p.partition, p]));
    for (const p of t.partitions) {
      const end = ends.get(p.partition)?.high ?? 0;
      const low = ends.get(p.partition)?.low ?? 0;
      const at = Number(p.offset);
      const done = at >= 0 ? at : null;
      rows.push({ topic: t.topic, partition: p.partition, committed: done, end, lag: Math.max(0, end - Math.max(done ?? low, low)) });
    }
  }
  return rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}
