// A set of ids kept in order (code-unit order, as store keys sort), for the
// search indexes: insert and delete in O(sqrt n)-ish time (sorted chunks),
// and iteration from any id onwards. A plain sorted array would move the
// whole array on every insert; a Map has no order.

const MAX_CHUNK = 1024;

export class SortedIds {
  private chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(id: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([id]);
      this.count = 1;
      return;
    }
    const c = this.chunkFor(id);
    const chunk = this.chunks[c]!;
    const at = lowerBound(chunk, id);
    if (chunk[at] === id) return;
    chunk.splice(at, 0, id);
    this.count++;
    if (chunk.length > MAX_CHUNK) this.chunks.splice(c, 1, chunk.slice(0, MAX_CHUNK / 2), chunk.slice(MAX_CHUNK / 2));
  }

  delete(id: string): void {
    if (this.chunks.length === 0) return;
    const c = this.chunkFor(id);
    const chunk = this.chunks[c]!;
    const at = lowerBound(chunk, id);
    if (chunk[at] !== id) return;
    chunk.splice(at, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(c, 1);
  }

  /** Ids strictly after `after` (all when undefined), in order. */
  *from(after: string | undefined): Generator<string> {
    let c = after === undefined ? 0 : this.chunkFor(after);
    let i = after === undefined ? 0 : upperBound(this.chunks[c] ?? [], after);
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (; i < chunk.length; i++) yield chunk[i]!;
    }
  }

  /** The chunk whose range holds `id` (the first whose last id is >= id, else the last). */
  private chunkFor(id: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid]!;
      if (chunk[chunk.length - 1]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound(a: string[], x: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: string[], x: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Merge two ordered id streams into one (no duplicates across them expected). */
export function* mergeOrdered(a: Iterator<string>, b: Iterator<string>): Generator<string> {
  let x = a.next();
  let y = b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value <= y.value)) {
      yield x.value as string;
      x = a.next();
    } else {
      yield y.value;
      y = b.next();
    }
  }
}
