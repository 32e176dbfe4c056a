/**
 * The document updates a Mongo fold produces, applied in memory (so the next event of the chunk
 * sees them) and coalesced into one update per document for the flush. Only the operators whose
 * repetition the per-partition high-water mark makes safe: $set, $addToSet, $inc, $push.
 */
export interface DocUpdate {
  collection: string;
  id: string;
  /** Dotted paths → values. */
  set?: Record<string, unknown>;
  /** Dotted paths → one value added to the array there if absent. */
  addToSet?: Record<string, unknown>;
  inc?: Record<string, number>;
  /** Dotted paths → one value appended to the array there. */
  push?: Record<string, unknown>;
}

export type Doc = Record<string, unknown>;
type Operators = Record<string, Record<string, unknown>>;

const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function getPath(doc: Doc, path: string): unknown {
  let cur: unknown = doc;
  for (const k of path.split('.')) cur = isObject(cur) ? cur[k] : undefined;
  return cur;
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = doc;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k] as Doc;
  }
  cur[keys[keys.length - 1]!] = value;
}

const arrayAt = (doc: Doc, path: string): unknown[] => {
  const v = getPath(doc, path);
  return Array.isArray(v) ? v : [];
};

/** What the server does with the update, done to the in-memory copy. */
export function applyToDoc(doc: Doc, u: DocUpdate): void {
  for (const [p, v] of Object.entries(u.set ?? {})) setPath(doc, p, structuredClone(v));
  for (const [p, v] of Object.entries(u.addToSet ?? {})) {
    const arr = arrayAt(doc, p);
    setPath(doc, p, arr.some((x) => same(x, v)) ? arr : [...arr, v]);
  }
  for (const [p, n] of Object.entries(u.inc ?? {})) {
    const cur = getPath(doc, p);
    setPath(doc, p, (typeof cur === 'number' ? cur : 0) + n);
  }
  for (const [p, v] of Object.entries(u.push ?? {})) setPath(doc, p, [...arrayAt(doc, p), v]);
}

const related = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);

/**
 * One document's updates of a chunk as one update: the last $set of a path wins, $addToSet and $push
 * take every value ($each), $inc the sum. Operators stay operators (other partitions may write other
 * fields of the document meanwhile). Where two of them touch one path, or a path and its parent, the
 * server refuses the combination: those top-level fields are $set from the folded copy instead.
 */
export class CoalescedUpdate {
  private readonly set = new Map<string, unknown>();
  private readonly addToSet = new Map<string, unknown[]>();
  private readonly inc = new Map<string, number>();
  private readonly push = new Map<string, unknown[]>();

  add(u: DocUpdate): void {
    for (const [p, v] of Object.entries(u.set ?? {})) this.set.set(p, v);
    for (const [p, v] of Object.entries(u.addToSet ?? {})) {
      const list = this.addToSet.get(p) ?? [];
      if (!list.some((x) => same(x, v))) list.push(v);
      this.addToSet.set(p, list);
    }
    for (const [p, n] of Object.entries(u.inc ?? {})) this.inc.set(p, (this.inc.get(p) ?? 0) + n);
    for (const [p, v] of Object.entries(u.push ?? {})) this.push.set(p, [...(this.push.get(p) ?? []), v]);
  }

  /** Applying it twice leaves what applying it once does: only $set and $addToSet, on unrelated paths. */
  idempotent(): boolean {
    if (this.inc.size || this.push.size) return false;
    const paths = [...this.set.keys(), ...this.addToSet.keys()];
    return !paths.some((a, i) => paths.some((b, j) => i < j && related(a, b)));
  }

  /** The top-level fields it writes. */
  fields(): string[] {
    const paths = [...this.set.keys(), ...this.addToSet.keys(), ...this.inc.keys(), ...this.push.keys()];
    return [...new Set(paths.map((p) => p.split('.')[0]!))];
  }

  /** The update for the server; `folded` is the document after the chunk (for conflicting paths). */
  toUpdate(folded: Doc): Operators {
    const entries: Array<[op: string, path: string, value: unknown]> = [
      ...[...this.set].map(([p, v]): [string, string, unknown] => ['$set', p, v]),
      ...[...this.addToSet].map(([p, v]): [string, string, unknown] => ['$addToSet', p, { $each: v }]),
      ...[...this.inc].map(([p, v]): [string, string, unknown] => ['$inc', p, v]),
      ...[...this.push].map(([p, v]): [string, string, unknown] => ['$push', p, { $each: v }]),
    ];
    const conflicting = new Set<string>();
    entries.forEach(([, a], i) => entries.forEach(([, b], j) => i < j && related(a, b) && conflicting.add(a.split('.')[0]!)));
    const out: Operators = {};
    for (const [op, path, value] of entries) {
      if (conflicting.has(path.split('.')[0]!)) continue;
      (out[op] ??= {})[path] = value;
    }
    for (const top of conflicting) (out.$set ??= {})[top] = structuredClone(folded[top]);
    return out;
  }
}
