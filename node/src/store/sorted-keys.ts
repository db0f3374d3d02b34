// The ordered key index both engines list from (the memory store, the
// JetStream store's local view).

import type { ListOptions } from "./types.ts";

/**
 * A sorted set of strings kept in blocks of bounded size (a one-level
 * B-tree): insert and delete move at most one block's worth of entries, so a
 * store with millions of keys does not pay a memmove of the whole index per
 * new key, and a seek is two binary searches.
 */
export class SortedKeys {
  private static readonly BLOCK = 512;
  private readonly blocks: string[][] = [];
  /** The last (greatest) key of each block. */
  private readonly maxes: string[] = [];
  size = 0;

  insert(key: string): void {
    if (this.blocks.length === 0) {
      this.blocks.push([key]);
      this.maxes.push(key);
      this.size = 1;
      return;
    }
    let b = lowerBound(this.maxes, key);
    if (b === this.blocks.length) b--;
    const block = this.blocks[b]!;
    const i = lowerBound(block, key);
    if (block[i] === key) return;
    if (i === block.length && b === this.blocks.length - 1 && block.length >= 2 * SortedKeys.BLOCK) {
      // Keys created in order (time-ordered ids) start a new last block instead of splitting a full one, so blocks stay full, not half empty.
      this.blocks.push([key]);
      this.maxes.push(key);
      this.size++;
      return;
    }
    block.splice(i, 0, key);
    this.maxes[b] = block[block.length - 1]!;
    this.size++;
    if (block.length > 2 * SortedKeys.BLOCK) {
      const tail = block.splice(SortedKeys.BLOCK);
      this.blocks.splice(b + 1, 0, tail);
      this.maxes.splice(b, 1, block[block.length - 1]!, tail[tail.length - 1]!);
    }
  }

  delete(key: string): void {
    const b = lowerBound(this.maxes, key);
    const block = this.blocks[b];
    if (block === undefined) return;
    const i = lowerBound(block, key);
    if (block[i] !== key) return;
    block.splice(i, 1);
    this.size--;
    if (block.length === 0) {
      this.blocks.splice(b, 1);
      this.maxes.splice(b, 1);
    } else {
      this.maxes[b] = block[block.length - 1]!;
    }
  }

  /** Keys from `start` on, in order: `>= start` when inclusive, else `> start`. */
  /** The keys of one list page: under `prefix`, strictly after `after`, at most `limit`, in order. */
  *page(options: ListOptions): Generator<string> {
    const { prefix, after, limit } = options;
    if (limit !== undefined && limit <= 0) return;
    // `after` is exclusive; a prefix is where the keys start.
    const fromAfter = after !== undefined && after >= prefix;
    let count = 0;
    for (const key of this.from(fromAfter ? after : prefix, !fromAfter)) {
      if (!key.startsWith(prefix)) return;
      yield key;
      if (limit !== undefined && ++count >= limit) return;
    }
  }

  *from(start: string, inclusive: boolean): Generator<string> {
    const bound = inclusive ? lowerBound : upperBound;
    let b = bound(this.maxes, start);
    if (b >= this.blocks.length) return;
    let i = bound(this.blocks[b]!, start);
    for (; b < this.blocks.length; b++, i = 0) {
      const block = this.blocks[b]!;
      for (; i < block.length; i++) yield block[i]!;
    }
  }
}

/** First index whose key is >= `key`. */
function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > `key`. */
function upperBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
