// The embedded engine: one process, nothing to install, gone on restart.
// It keeps the same contract as the JetStream engine (async calls, per-key
// revisions as compare-and-set tokens, ordered listing, a change feed) so the
// node runs the exact same read -> transition -> compare-and-set path on both.
// Records written recently stay objects (cheap to copy for the reads that
// follow a write); older ones are kept as one compact string each
// (compact.ts), a third of the memory, and decoded when read.

import {
  ConflictError,
  type Change,
  type CommitOp,
  type Entry,
  type ListOptions,
  type Store,
} from "./types.ts";
import { SortedKeys } from "./sorted-keys.ts";
import { partitionOf } from "../protocol/keys.ts";
import { CompactCodec, setData } from "./compact.ts";

interface Slot {
  /**
   * A JSON round trip of what was written, made once on write: exactly what
   * a JSON store would give back, and never aliasing a caller's object.
   * Readers get their own copies (cloneJson), which is much cheaper than
   * parsing the text again on every read.
   */
  value: unknown;
  revision: number;
}

/** A change waiting to be delivered. */
interface PendingChange {
  key: string;
  value: unknown | null;
  revision: number;
}

interface Watcher {
  prefix: string;
  onChange: (change: Change) => void;
  active: boolean;
}

export interface MemoryStoreOptions {
  /**
   * Records last written this recently (counted in writes) stay objects,
   * cheap to copy; older ones are kept as one compact string each
   * (compact.ts) and decoded when read. Default 1,024.
   */
  hotRecords?: number;
  /**
   * Partitions of the key space (default 1). With several, a commit must
   * fall in one, as on JetStream, so the outbox path runs without NATS.
   */
  partitions?: number;
}

export class MemoryStore implements Store {
  readonly name = "memory";
  /**
   * Partitions of the key space (default 1). With several, a commit must
   * fall in one, as on JetStream, so the outbox path runs without NATS.
   */
  readonly partitions: number;

  /** A record as written (hot), or its compact form (cold: a string holding revision and value). */
  private readonly slots = new Map<string, Slot | string>();
  private readonly codec = new CompactCodec();
  /** The last writes, oldest first at `next` (a ring): key and revision of each. */
  private readonly recentKeys: (string | undefined)[];
  private readonly recentRevisions: Float64Array;
  private next = 0;
  /** Every live key, sorted, so listing is a binary search plus a walk. */
  private readonly keys = new SortedKeys();
  /** One counter for the whole store, like a stream sequence: a re-created key never reuses a revision. */
  private sequence = 0;
  private readonly watchers = new Set<Watcher>();
  /** The watchers as an array, replaced (never mutated) when one comes or goes: delivery walks it without a copy per change. */
  private watcherList: readonly Watcher[] = [];
  private readonly pending: PendingChange[] = [];
  private delivering = false;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.partitions = options.partitions ?? 1;
    const hot = Math.max(1, options.hotRecords ?? 1_024);
    this.recentKeys = new Array<string | undefined>(hot);
    this.recentRevisions = new Float64Array(hot);
  }

  async get(key: string): Promise<Entry | undefined> {
    this.assertOpen();
    return this.entry(key);
  }

  async create(key: string, value: unknown): Promise<number> {
    return this.apply([{ key, value, expectedRevision: 0 }])[0]!;
  }

  async update(key: string, value: unknown, revision: number): Promise<number> {
    return this.apply([{ key, value, expectedRevision: revision }])[0]!;
  }

  async commit(ops: CommitOp[]): Promise<void> {
    this.apply(ops);
  }

  async list(options: ListOptions): Promise<Entry[]> {
    this.assertOpen();
    return Array.from(this.keys.page(options), (key) => this.entry(key)!);
  }

  async sync(): Promise<void> {
    // Listing and watchers see a commit as it happens.
  }

  watch(prefix: string, onChange: (change: Change) => void): () => void {
    this.assertOpen();
    const watcher: Watcher = { prefix, onChange, active: true };
    this.watchers.add(watcher);
    this.watcherList = [...this.watchers];
    return () => {
      watcher.active = false;
      if (this.watchers.delete(watcher)) this.watcherList = [...this.watchers];
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watchers) w.active = false;
    this.watchers.clear();
    this.watcherList = [];
  }

  /** Number of live keys (for metrics and tests). */
  get size(): number {
    return this.keys.size;
  }

  /** A reader's own copy of a record. */
  private entry(key: string): Entry | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    if (typeof slot === "string") return { key, value: this.codec.decode(key, slot), revision: this.codec.revision(slot) };
    return { key, value: cloneJson(slot.value), revision: slot.revision };
  }

  private revisionOf(key: string): number {
    const slot = this.slots.get(key);
    if (slot === undefined) return 0;
    return typeof slot === "string" ? this.codec.revision(slot) : slot.revision;
  }

  /** Note a write; the record written longest ago, if not written since, becomes compact. */
  private remember(key: string, revision: number): void {
    const old = this.recentKeys[this.next];
    const oldRevision = this.recentRevisions[this.next]!;
    this.recentKeys[this.next] = key;
    this.recentRevisions[this.next] = revision;
    this.next = (this.next + 1) % this.recentKeys.length;
    if (old === undefined) return;
    const slot = this.slots.get(old);
    if (slot !== undefined && typeof slot !== "string" && slot.revision === oldRevision) this.slots.set(old, this.codec.encode(old, slot.revision, slot.value));
  }

  // Check every expected revision first, then apply: a commit lands whole or not at all.
  private apply(ops: CommitOp[]): number[] {
    this.assertOpen();
    // Most commits write one key: no set needed to find a key named twice.
    const seen = ops.length > 1 ? new Set<string>() : undefined;
    const partition = ops.length === 0 ? 0 : partitionOf(ops[0]!.key, this.partitions);
    for (const op of ops) {
      if (partitionOf(op.key, this.partitions) !== partition) {
        throw new Error(`a commit spans partitions (${ops[0]!.key}, ${op.key}); effects across partitions go through the outbox`);
      }
      if (seen?.has(op.key)) throw new Error(`commit names the key ${op.key} twice; merge the writes first`);
      seen?.add(op.key);
      const actual = this.revisionOf(op.key);
      if (actual !== op.expectedRevision) throw new ConflictError(op.key, op.expectedRevision, actual);
    }
    // Copy before mutating anything, so a value that cannot be stored fails the whole commit.
    const stored = ops.map((op) => (isDeletion(op) ? undefined : storedCopy(op.value)));
    const revisions: number[] = [];
    const changes: PendingChange[] = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const value = stored[i];
      const revision = ++this.sequence;
      revisions.push(revision);
      if (isDeletion(op)) {
        if (this.slots.delete(op.key)) {
          this.keys.delete(op.key);
          changes.push({ key: op.key, value: null, revision });
        }
        continue;
      }
      if (!this.slots.has(op.key)) this.keys.insert(op.key);
      this.slots.set(op.key, { value, revision });
      this.remember(op.key, revision);
      changes.push({ key: op.key, value, revision });
    }
    this.publish(changes);
    return revisions;
  }

  // Changes go out synchronously after the commit, through one queue, so a
  // watcher that commits from its callback cannot reorder what others see.
  private publish(changes: PendingChange[]): void {
    if (this.watchers.size === 0) return;
    for (const change of changes) this.pending.push(change);
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let next = 0; next < this.pending.length; next++) {
        const change = this.pending[next]!;
        // One copy per change, made for its first watcher and shared by the others (the node's
        // indexes under one prefix: the search view and the timer loop), which read changes and
        // never modify them; none of them can reach what the store keeps.
        let delivered: Change | undefined;
        for (const w of this.watcherList) {
          if (!w.active || !change.key.startsWith(w.prefix)) continue;
          delivered ??= { key: change.key, value: cloneJson(change.value), revision: change.revision };
          try {
            w.onChange(delivered);
          } catch {
            // A watcher's failure is its own; the commit has already happened.
          }
        }
      }
    } finally {
      this.pending.length = 0;
      this.delivering = false;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("the memory store is closed");
  }
}

function isDeletion(op: CommitOp): boolean {
  return op.value === null || op.value === undefined;
}

/** What the store keeps of a value: exactly what a JSON store would give back (JSON.parse of its JSON.stringify). */
function storedCopy(value: unknown): unknown {
  const copy = plainCopy(value, 0);
  if (copy !== NOT_PLAIN) return copy;
  // Anything JSON itself must decide (toJSON, NaN, holes, cycles, bigint, ...) goes through JSON.
  const json = JSON.stringify(value);
  // JSON.stringify gives undefined for a top-level function or symbol: nothing storable.
  if (json === undefined) throw new TypeError(`a ${typeof value} cannot be stored; values are JSON records`);
  return JSON.parse(json);
}

const NOT_PLAIN: unique symbol = Symbol("not plain JSON data");
const MAX_PLAIN_DEPTH = 64;

/**
 * The JSON round trip of plain data (plain objects, arrays, strings, finite
 * numbers, booleans, null) built directly, which is several times cheaper
 * than stringify + parse; NOT_PLAIN when JSON would transform something.
 */
function plainCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // JSON writes -0 as 0 and non-finite numbers as null.
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : NOT_PLAIN;
    case "object": {
      if (value === null) return null;
      if (depth >= MAX_PLAIN_DEPTH || "toJSON" in value) return NOT_PLAIN;
      if (Array.isArray(value)) {
        const copy = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = plainCopy(value[i], depth + 1);
          if (item === NOT_PLAIN) return NOT_PLAIN;
          copy[i] = item;
        }
        return copy;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        const field = (value as Record<string, unknown>)[key];
        // JSON leaves these properties out.
        if (field === undefined || typeof field === "function" || typeof field === "symbol") continue;
        const item = plainCopy(field, depth + 1);
        if (item === NOT_PLAIN) return NOT_PLAIN;
        setData(copy, key, item);
      }
      return copy;
    }
    default:
      return NOT_PLAIN;
  }
}

/** A deep copy of stored (plain JSON) data: what JSON.parse of its text gives, faster. */
function cloneJson(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = cloneJson(value[i]);
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) setData(copy, key, cloneJson((value as Record<string, unknown>)[key]));
  return copy;
}
