// A node's local view of the records of a partitioned stream store: every
// live key in order (for listing) and a change feed (for watchers), fed by
// one ordered consumer per partition. It knows, per partition, the last
// stream sequence it applied, so a reader can wait until the view includes
// a given commit.

import { SortedKeys } from "./sorted-keys.ts";
import type { Change, Entry, ListOptions } from "./types.ts";

interface Slot {
  /** The stored JSON text: each reader parses its own copy. */
  json: string;
  revision: number;
}

interface Watcher {
  prefix: string;
  onChange: (change: Change) => void;
  active: boolean;
  /** Per partition, the sequence up to which changes happened before the watch (not delivered). */
  floors: readonly number[] | undefined;
}

interface Waiter {
  partition: number;
  sequence: number;
  resolve: () => void;
}

export class LocalView {
  private readonly slots = new Map<string, Slot>();
  private readonly keys = new SortedKeys();
  private readonly applied: number[];
  private readonly watchers = new Set<Watcher>();
  private waiters: Waiter[] = [];

  constructor(partitions: number) {
    this.applied = new Array<number>(partitions).fill(0);
  }

  /** The last stream sequence applied from `partition`. */
  appliedSequence(partition: number): number {
    return this.applied[partition]!;
  }

  /**
   * Apply one stream message: the records it stores (`keys`) and each one's
   * JSON text after it (null: absent, deleted). Every key's revision becomes
   * the message's sequence; watchers hear of the keys whose text changed.
   * Messages of a partition arrive in sequence order; a replay of one already
   * applied (a consumer recreated after a reconnect) changes nothing.
   */
  apply(partition: number, sequence: number, keys: readonly string[], texts: readonly (string | null)[]): void {
    if (sequence <= this.applied[partition]!) return;
    this.applied[partition] = sequence;
    for (let i = 0; i < keys.length; i++) this.applyKey(partition, sequence, keys[i]!, texts[i]!);
    this.release(partition);
  }

  /** The stored text and revision of `key` (undefined when absent): no copy, for callers that only compare or pass it on. */
  slot(key: string): Readonly<Slot> | undefined {
    return this.slots.get(key);
  }

  /** Resolves once the view has applied `sequence` (or more) of `partition`. */
  waitFor(partition: number, sequence: number): Promise<void> {
    if (this.applied[partition]! >= sequence) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ partition, sequence, resolve }));
  }

  list(options: ListOptions): Entry[] {
    return Array.from(this.keys.page(options), (key) => {
      const slot = this.slots.get(key)!;
      return { key, value: JSON.parse(slot.json), revision: slot.revision };
    });
  }

  /**
   * Changes under `prefix` applied from now on, except those of a partition
   * at or below its entry in `floors`: changes committed before the watch
   * that the view has not applied yet.
   */
  watch(prefix: string, onChange: (change: Change) => void, floors?: readonly number[]): () => void {
    const watcher: Watcher = { prefix, onChange, active: true, floors };
    this.watchers.add(watcher);
    return () => {
      watcher.active = false;
      this.watchers.delete(watcher);
    };
  }

  get size(): number {
    return this.keys.size;
  }

  close(): void {
    for (const w of this.watchers) w.active = false;
    this.watchers.clear();
    // Nobody will apply anything more: let every waiter go (its read sees the view as it is).
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  private applyKey(partition: number, sequence: number, key: string, json: string | null): void {
    const current = this.slots.get(key);
    // With one message kept per subject, a later message of a key supersedes any earlier one.
    if (current !== undefined && current.revision >= sequence) return;
    if (json === null) {
      if (current === undefined) return;
      this.slots.delete(key);
      this.keys.delete(key);
      this.publish(partition, { key, json: null, revision: sequence });
    } else if (current === undefined) {
      this.keys.insert(key);
      this.slots.set(key, { json, revision: sequence });
      this.publish(partition, { key, json, revision: sequence });
    } else {
      current.revision = sequence;
      // A message rewrites every record of its unit; only those that changed are news.
      if (current.json === json) return;
      current.json = json;
      this.publish(partition, { key, json, revision: sequence });
    }
  }

  private publish(partition: number, change: { key: string; json: string | null; revision: number }): void {
    // One parsed copy per change, made for its first watcher and shared by the others (the node's
    // indexes: the search view, the timer loop, the outbox), which read changes and never modify
    // them; none of them can reach the text the view keeps.
    let delivered: Change | undefined;
    for (const w of this.watchers) {
      if (!w.active || !change.key.startsWith(w.prefix)) continue;
      if (w.floors !== undefined && change.revision <= w.floors[partition]!) continue;
      delivered ??= { key: change.key, value: change.json === null ? null : JSON.parse(change.json), revision: change.revision };
      try {
        w.onChange(delivered);
      } catch {
        // A watcher's failure is its own; the change has happened.
      }
    }
  }

  private release(partition: number): void {
    if (this.waiters.length === 0) return;
    const applied = this.applied[partition]!;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.partition === partition && w.sequence <= applied) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}
