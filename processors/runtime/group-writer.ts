import type { ChunkResult, Ready } from './store';

/** A merged store call failed: the cause may lie in another partition's chunk, so each chunk is tried alone. */
export class MergedFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(`a merged chunk failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'MergedFailure';
  }
}

/**
 * One writer per processor instance (RUNTIME_WRITER=instance): the chunks its partitions hand in while a store
 * call is running are merged into the next single call, like a group commit. One transaction at a time means
 * the chunks of different partitions never wait for each other's locks (grade events of one student arrive on
 * every partition), and the fixed cost of a transaction is paid once for all of them. Each partition's chunks
 * still reach the store in order (a partition hands in its next chunk only after the previous one returned).
 */
export class GroupWriter {
  private readonly queue: Array<{ records: Ready[]; resolve: (r: ChunkResult) => void; reject: (e: unknown) => void }> = [];
  private running = false;

  constructor(
    private readonly write: (records: Ready[]) => Promise<ChunkResult>,
    /** Records in one merged call at most (a chunk larger than this still goes alone). */
    private readonly maxRecords: number,
  ) {}

  /** The chunk's own outcomes; `emitted` is every event the merged call emitted. */
  submit(records: Ready[]): Promise<ChunkResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length) {
      const group = [this.queue.shift()!];
      let n = group[0]!.records.length;
      while (this.queue.length && n + this.queue[0]!.records.length <= this.maxRecords) {
        const next = this.queue.shift()!;
        n += next.records.length;
        group.push(next);
      }
      try {
        const result = await this.write(group.flatMap((g) => g.records));
        let at = 0;
        for (const g of group) {
          g.resolve({ outcomes: result.outcomes.slice(at, at + g.records.length), emitted: result.emitted });
          at += g.records.length;
        }
      } catch (e) {
        for (const g of group) g.reject(group.length > 1 ? new MergedFailure(e) : e);
      }
    }
    this.running = false;
  }
}
