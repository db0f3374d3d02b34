// Postings of the search indexes: sets of record slots (small integers, see
// search-view.ts) kept in the order of the records' keys (code-unit order, as
// store keys sort). Slots instead of id strings, so a posting costs one small
// integer per member and every posting of a record shares its one key string.
// Sorted chunks: insert and delete move at most one chunk, iteration can
// start after any key.

const MAX_CHUNK = 1024;

/** The key of a slot: postings order their members by it. */
export type KeyOf = (slot: number) => string;

export class SortedSlots {
  private chunks: number[][] = [];
  private count = 0;

  constructor(private readonly keyOf: KeyOf) {}

  get size(): number {
    return this.count;
  }

  add(slot: number): void {
    if (this.chunks.length === 0) {
      this.chunks.push([slot]);
      this.count = 1;
      return;
    }
    const key = this.keyOf(slot);
    const c = this.chunkFor(key);
    const chunk = this.chunks[c]!;
    const at = this.lowerBound(chunk, key);
    if (chunk[at] === slot) return;
    chunk.splice(at, 0, slot);
    this.count++;
    if (chunk.length > MAX_CHUNK) this.chunks.splice(c, 1, chunk.slice(0, MAX_CHUNK / 2), chunk.slice(MAX_CHUNK / 2));
  }

  /** Remove `slot`, whose key must still be the one it was added with. */
  delete(slot: number): void {
    if (this.chunks.length === 0) return;
    const key = this.keyOf(slot);
    const c = this.chunkFor(key);
    const chunk = this.chunks[c]!;
    const at = this.lowerBound(chunk, key);
    if (chunk[at] !== slot) return;
    chunk.splice(at, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(c, 1);
  }

  /** The member whose key is `key`, if any. */
  find(key: string): number | undefined {
    if (this.chunks.length === 0) return undefined;
    const chunk = this.chunks[this.chunkFor(key)]!;
    const slot = chunk[this.lowerBound(chunk, key)];
    return slot !== undefined && this.keyOf(slot) === key ? slot : undefined;
  }

  /** Slots whose key is strictly after `after` (all when undefined), in key order. */
  *from(after: string | undefined): Generator<number> {
    let c = after === undefined ? 0 : this.chunkFor(after);
    let i = after === undefined ? 0 : this.upperBound(this.chunks[c] ?? [], after);
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (; i < chunk.length; i++) yield chunk[i]!;
    }
  }

  /** The chunk whose range holds `key` (the first whose last key is >= key, else the last). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid]!;
      if (this.keyOf(chunk[chunk.length - 1]!) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private lowerBound(a: number[], key: string): number {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.keyOf(a[mid]!) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private upperBound(a: number[], key: string): number {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.keyOf(a[mid]!) <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Merge ordered slot streams into one (no slot in two of them), by key. */
export function* mergeOrdered(streams: Iterator<number>[], keyOf: KeyOf): Generator<number> {
  if (streams.length === 1) {
    yield* { [Symbol.iterator]: () => streams[0]! };
    return;
  }
  const heads = streams.map((s) => s.next());
  for (;;) {
    let best = -1;
    let bestKey = "";
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (h.done) continue;
      const key = keyOf(h.value);
      if (best === -1 || key < bestKey) {
        best = i;
        bestKey = key;
      }
    }
    if (best === -1) return;
    yield heads[best]!.value as number;
    heads[best] = streams[best]!.next();
  }
}
