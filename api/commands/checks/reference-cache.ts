/**
 * Reference data the rules read on every command (a section's year and courses, a year's dates and periods),
 * kept for a short time across commands: admins change it rarely, and every grade or mark read it again (four
 * reads per grade cost a quarter of the API's command throughput, bench/results/api-2026-12-01-rules.md).
 * Only what was found is kept, and a command the cached facts would refuse is checked again on fresh reads
 * (requireRules). No event removes a section's course or changes its year or a year's dates and periods, so
 * what was found stays true: the cache never lets through what fresh reads would refuse, nor refuses what they allow.
 */
export class ReferenceCache {
  private readonly entries = new Map<string, { value: unknown; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  async get<T>(key: string, read: () => Promise<T | undefined>): Promise<T | undefined> {
    const hit = this.entries.get(key);
    if (hit && hit.until > this.now()) return hit.value as T;
    const value = await read();
    if (value !== undefined && this.ttlMs > 0) {
      if (this.entries.size >= this.maxEntries) this.entries.clear(); // bounded: reference data is small; a flush is cheap
      this.entries.set(key, { value, until: this.now() + this.ttlMs });
    }
    return value;
  }

  /**
   * Whether a set that only grows (a parent's linked children) holds `member`. A cached set that holds it answers;
   * otherwise one fresh read decides and replaces the cached set, so a member added since is never refused.
   */
  async holds(key: string, member: string, read: () => Promise<readonly string[]>): Promise<boolean> {
    const hit = this.entries.get(key);
    if (hit && hit.until > this.now() && (hit.value as readonly string[]).includes(member)) return true;
    this.entries.delete(key);
    return (await this.get(key, read))?.includes(member) ?? false;
  }
}
