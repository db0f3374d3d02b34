// Postings of the search indexes: sets of record slots (small integers, see
// search-view.ts) kept in the order of the records' keys (code-unit order, as
// store keys sort). Slots instead of id strings, so a posting costs a few
// bytes per member and every posting of a record shares its one key string.
//
// Most postings are small (the steps of one workflow share its tag values):
// those are a lone number or an exact-size array, rebuilt on change, since a
// growing JavaScript array keeps room for 16 more. Large ones (a state, a
// tag every record has) are a SortedSlots: fixed-size Int32Array chunks,
// where insert and delete move at most one chunk.

const CHUNK = 1024;
/** Members up to which a posting is a plain array. */
const SMALL = 32;

/** The key of a slot: postings order their members by it. */
export type KeyOf = (slot: number) => string;

export class SortedSlots {
  /** Chunks in key order; each holds lengths[c] members and room up to its size. */
  private chunks: Int32Array[] = [];
  private lengths: number[] = [];
  private count = 0;

  constructor(private readonly keyOf: KeyOf) {}

  get size(): number {
    return this.count;
  }

  add(slot: number): void {
    if (this.chunks.length === 0) {
      this.chunks.push(new Int32Array(2 * SMALL));
      this.lengths.push(0);
    }
    const key = this.keyOf(slot);
    if (this.appendIfLast(slot, key)) return;
    const c = this.chunkFor(key);
    let chunk = this.chunks[c]!;
    let length = this.lengths[c]!;
    let at = this.lowerBound(chunk, length, key);
    if (at < length && chunk[at] === slot) return;
    if (length === chunk.length && length < CHUNK) {
      // Chunks grow by doubling up to CHUNK, so a posting of a few dozen does not hold a whole one.
      this.chunks[c] = chunk = grownChunk(chunk);
    } else if (length === CHUNK) {
      // Full: its upper half moves to a new chunk after it.
      const upper = new Int32Array(CHUNK);
      upper.set(chunk.subarray(CHUNK / 2));
      this.chunks.splice(c + 1, 0, upper);
      this.lengths.splice(c + 1, 0, CHUNK / 2);
      this.lengths[c] = length = CHUNK / 2;
      if (at > length) {
        chunk = upper;
        at -= length;
        length = CHUNK / 2;
        this.insertAt(c + 1, chunk, length, at, slot);
        return;
      }
    }
    this.insertAt(c, chunk, length, at, slot);
  }

  /**
   * Ids created in key order (time-ordered ids, numbered steps) land after
   * the last member: one comparison instead of two binary searches. A full
   * last chunk is followed by a new one rather than split, so appended
   * members fill their chunks.
   */
  private appendIfLast(slot: number, key: string): boolean {
    const c = this.chunks.length - 1;
    let length = this.lengths[c]!;
    let chunk = this.chunks[c]!;
    if (length > 0 && !(this.keyOf(chunk[length - 1]!) < key)) return false;
    if (length === CHUNK) {
      this.chunks.push((chunk = new Int32Array(2 * SMALL)));
      this.lengths.push((length = 0));
      this.insertAt(c + 1, chunk, length, length, slot);
      return true;
    }
    if (length === chunk.length) this.chunks[c] = chunk = grownChunk(chunk);
    this.insertAt(c, chunk, length, length, slot);
    return true;
  }

  private insertAt(c: number, chunk: Int32Array, length: number, at: number, slot: number): void {
    chunk.copyWithin(at + 1, at, length);
    chunk[at] = slot;
    this.lengths[c] = length + 1;
    this.count++;
  }

  /** Remove `slot`, whose key must still be the one it was added with. */
  delete(slot: number): void {
    if (this.chunks.length === 0) return;
    const key = this.keyOf(slot);
    const c = this.chunkFor(key);
    const chunk = this.chunks[c]!;
    const length = this.lengths[c]!;
    const at = this.lowerBound(chunk, length, key);
    if (at >= length || chunk[at] !== slot) return;
    chunk.copyWithin(at, at + 1, length);
    this.count--;
    if (length === 1) {
      this.chunks.splice(c, 1);
      this.lengths.splice(c, 1);
    } else {
      this.lengths[c] = length - 1;
    }
  }

  /** The member whose key is `key`, if any. */
  find(key: string): number | undefined {
    if (this.chunks.length === 0) return undefined;
    const c = this.chunkFor(key);
    const chunk = this.chunks[c]!;
    const at = this.lowerBound(chunk, this.lengths[c]!, key);
    if (at >= this.lengths[c]!) return undefined;
    const slot = chunk[at]!;
    return this.keyOf(slot) === key ? slot : undefined;
  }

  /** Slots whose key is strictly after `after` (all when undefined), in key order. */
  *from(after: string | undefined): Generator<number> {
    let c = after === undefined ? 0 : this.chunkFor(after);
    let i = after === undefined || c >= this.chunks.length ? 0 : this.upperBound(this.chunks[c]!, this.lengths[c]!, after);
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (; i < this.lengths[c]!; i++) yield chunk[i]!;
    }
  }

  /** The chunk whose range holds `key` (the first whose last key is >= key, else the last). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.keyOf(this.chunks[mid]![this.lengths[mid]! - 1]!) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private lowerBound(a: Int32Array, length: number, key: string): number {
    let lo = 0;
    let hi = length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.keyOf(a[mid]!) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private upperBound(a: Int32Array, length: number, key: string): number {
    let lo = 0;
    let hi = length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.keyOf(a[mid]!) <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** `chunk` in an array twice its size (chunks grow by doubling up to CHUNK). */
function grownChunk(chunk: Int32Array): Int32Array {
  const grown = new Int32Array(2 * chunk.length);
  grown.set(chunk);
  return grown;
}

/** A posting of any size: a lone slot, a small exact-size sorted array, or a SortedSlots. */
export type Posting = number | readonly number[] | SortedSlots;

export function postingSize(p: Posting | undefined): number {
  if (p === undefined) return 0;
  if (typeof p === "number") return 1;
  return p instanceof SortedSlots ? p.size : p.length;
}

/** `p` with `slot` added (the same posting object when it is a SortedSlots). */
export function postingAdd(p: Posting | undefined, slot: number, keyOf: KeyOf): Posting {
  if (p === undefined) return slot;
  if (p instanceof SortedSlots) {
    p.add(slot);
    return p;
  }
  const small = typeof p === "number" ? [p] : p;
  const key = keyOf(slot);
  // Members added in key order go last: one comparison instead of a scan.
  let at = keyOf(small[small.length - 1]!) < key ? small.length : 0;
  while (at < small.length && keyOf(small[at]!) < key) at++;
  if (small[at] === slot) return p;
  if (small.length < SMALL) return spliced(small, at, 0, slot);
  const large = new SortedSlots(keyOf);
  for (const s of small) large.add(s);
  large.add(slot);
  return large;
}

/** `p` without `slot`; undefined when empty. */
export function postingDelete(p: Posting | undefined, slot: number, keyOf: KeyOf): Posting | undefined {
  if (p === undefined || p === slot) return undefined;
  if (typeof p === "number") return p;
  if (p instanceof SortedSlots) {
    p.delete(slot);
    if (p.size > SMALL / 2) return p;
    // Small again: back to an array, so churn leaves no half-empty chunks behind.
    const members = [...p.from(undefined)].slice();
    return members.length === 0 ? undefined : members.length === 1 ? members[0]! : members;
  }
  const at = p.indexOf(slot);
  if (at === -1) return p;
  if (p.length === 2) return p[1 - at]!;
  return spliced(p, at, 1);
}

/** Members of `p` whose key is strictly after `after`, in key order. */
export function postingFrom(p: Posting | undefined, after: string | undefined, keyOf: KeyOf): Iterator<number> {
  if (p === undefined) return [][Symbol.iterator]();
  if (p instanceof SortedSlots) return p.from(after);
  const small = typeof p === "number" ? [p] : p;
  let at = 0;
  if (after !== undefined) while (at < small.length && keyOf(small[at]!) <= after) at++;
  return small.slice(at)[Symbol.iterator]();
}

/**
 * A copy of `a` with `remove` members at `at` taken out and `insert` put in,
 * of exactly the size it needs (array literals and push keep spare room).
 */
function spliced(a: readonly number[], at: number, remove: number, insert?: number): number[] {
  const out = new Array<number>(a.length - remove + (insert === undefined ? 0 : 1));
  let j = 0;
  for (let i = 0; i < at; i++) out[j++] = a[i]!;
  if (insert !== undefined) out[j++] = insert;
  for (let i = at + remove; i < a.length; i++) out[j++] = a[i]!;
  return out;
}

/** Every member of `p`, in key order. */
export function membersOf(p: Posting | undefined): Iterable<number> {
  if (p === undefined) return [];
  if (typeof p === "number") return [p];
  return p instanceof SortedSlots ? p.from(undefined) : p;
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
