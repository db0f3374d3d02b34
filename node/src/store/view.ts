// A node's local view of the records of a partitioned stream store: every
// live key in order (for listing) and a change feed (for watchers), fed by
// one ordered consumer per partition. It knows, per partition, the last
// stream sequence it applied, so a reader can wait until the view includes
// a given commit.
//
// Records change in the view at once; watchers hear of the changes a moment
// later (deliver), off the path of the request whose commit made them: see
// scheduleDelivery.

import { SortedKeys } from "./sorted-keys.ts";
import type { Change, Entry, ListOptions } from "./types.ts";

interface Slot {
  /** The stored JSON text. */
  json: string;
  revision: number;
  /** JSON.parse(json), while the slot is among the last RECENTLY_PARSED parsed (valueOf). */
  value?: unknown;
}

/**
 * Slots whose parsed value the view keeps: those of the records changed or
 * read last, which the next requests of their call trees read again (with
 * 64 workflows in flight, a record is read again some 200 parses later). The
 * others are held as text only: a record's text is a fraction of its
 * objects, and objects kept longer outlive young-generation collections,
 * which then copy them.
 */
const RECENTLY_PARSED = 1_024;

/**
 * A test aid: with RESONATE_FREEZE_SHARED_RECORDS=1 every shared value is
 * deep-frozen, so code that modifies a record it read fails at once instead
 * of changing it for every other reader. The test suites set it (vitest.config.ts),
 * and the nodes they start inherit it.
 */
const FREEZE_SHARED = process.env.RESONATE_FREEZE_SHARED_RECORDS === "1";

interface Watcher {
  prefix: string;
  onChange: (change: Change) => void;
  active: boolean;
  /** Per partition, the sequence up to which changes happened before the watch (not delivered). */
  floors: readonly number[] | undefined;
  /** The number of the first undelivered change made after the watch began: earlier ones are not its news. */
  since: number;
}

/** A change applied to the view and not yet delivered to watchers. */
interface Undelivered {
  /** Its place among all changes the view made (Watcher.since). */
  number: number;
  partition: number;
  key: string;
  json: string | null;
  revision: number;
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
  private undelivered: Undelivered[] = [];
  private changesMade = 0;
  private deliveryScheduled = false;
  private readonly recentlyParsed: (Slot | undefined)[] = new Array<Slot | undefined>(RECENTLY_PARSED);
  private nextParsed = 0;

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

  /**
   * The value of `slot` (JSON.parse of its text), one object shared by every
   * reader of this version of the record, and by the watchers its change
   * reached: nobody modifies a record read from a store (the protocol's steps
   * build new ones), and the text stays what the view compares and lists.
   */
  valueOf(slot: Readonly<Slot>): unknown {
    if (slot.value !== undefined) return slot.value;
    const kept = slot as Slot;
    // Evict first: the place may be this very slot's, taken when an earlier version was parsed.
    // (A slot parsed again after a change may hold two places: the older one only makes it go sooner.)
    const evicted = this.recentlyParsed[this.nextParsed];
    if (evicted !== undefined) evicted.value = undefined;
    const value = JSON.parse(kept.json) as unknown;
    if (FREEZE_SHARED) deepFreeze(value);
    kept.value = value;
    this.recentlyParsed[this.nextParsed] = kept;
    this.nextParsed = (this.nextParsed + 1) % RECENTLY_PARSED;
    return value;
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
    const watcher: Watcher = { prefix, onChange, active: true, floors, since: this.changesMade };
    this.watchers.add(watcher);
    return () => {
      watcher.active = false;
      this.watchers.delete(watcher);
    };
  }

  get size(): number {
    return this.keys.size;
  }

  /**
   * Hand watchers every change made so far, now. Whoever reads what watchers
   * build (a search, a timer tick) and must see its own commits calls this
   * first.
   */
  deliver(): void {
    const changes = this.undelivered;
    if (changes.length === 0) return;
    this.undelivered = [];
    for (const change of changes) this.publish(change);
  }

  close(): void {
    this.undelivered = [];
    this.recentlyParsed.fill(undefined);
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
      this.changed(partition, key, null, sequence);
    } else if (current === undefined) {
      this.keys.insert(key);
      this.slots.set(key, { json, revision: sequence });
      this.changed(partition, key, json, sequence);
    } else {
      current.revision = sequence;
      // A message rewrites every record of its unit; only those that changed are news.
      if (current.json === json) return;
      current.json = json;
      current.value = undefined;
      this.changed(partition, key, json, sequence);
    }
  }

  private changed(partition: number, key: string, json: string | null, revision: number): void {
    if (this.watchers.size === 0) return;
    this.undelivered.push({ number: this.changesMade++, partition, key, json, revision });
    this.scheduleDelivery();
  }

  /**
   * Changes reach watchers (the node's indexes: search, timers, outbox) two
   * event loop turns after the one that made them, unless someone asks
   * first (deliver). A commit's acknowledgement is applied where it arrives,
   * just before the request's answer is written; indexing its records there
   * would hold the answer back, and its gRPC trailers go out in a
   * setImmediate of their own, which a delivery scheduled with one
   * setImmediate would still precede. Two put it after them, while the node
   * waits on I/O.
   */
  private scheduleDelivery(): void {
    if (this.deliveryScheduled) return;
    this.deliveryScheduled = true;
    setImmediate(() =>
      setImmediate(() => {
        this.deliveryScheduled = false;
        this.deliver();
      }),
    );
  }

  private publish(change: Undelivered): void {
    // One parsed value per change, made for its first watcher and shared by the others (the node's
    // indexes: the search view, the timer loop, the outbox) and by the record's cached readers
    // (valueOf): all of them read records and never modify them.
    const { partition } = change;
    let delivered: Change | undefined;
    for (const w of this.watchers) {
      if (!w.active || change.number < w.since || !change.key.startsWith(w.prefix)) continue;
      if (w.floors !== undefined && change.revision <= w.floors[partition]!) continue;
      delivered ??= { key: change.key, value: this.valueOfChange(change), revision: change.revision };
      try {
        w.onChange(delivered);
      } catch {
        // A watcher's failure is its own; the change has happened.
      }
    }
  }

  /** A change's value: the record's shared one while the view still holds that version. */
  private valueOfChange(change: Undelivered): unknown {
    if (change.json === null) return null;
    const slot = this.slots.get(change.key);
    return slot !== undefined && slot.json === change.json ? this.valueOf(slot) : JSON.parse(change.json);
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

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const member of Object.values(value)) deepFreeze(member);
}
