// The storage contract every engine implements (memory, JetStream).
// Keys are strings laid out by protocol/keys.ts: `p/<promise id>`,
// `t/<task id>`, `s/<schedule id>`.
// Values are JSON-serialisable records. Revisions grow per key and are the
// compare-and-set token; 0 means "the key must not exist".

export interface Entry<V = unknown> {
  key: string;
  value: V;
  revision: number;
}

/** One write of a commit: `value` null deletes. */
export interface CommitOp {
  key: string;
  value: unknown | null;
  /** The revision read (0 when the key was absent). */
  expectedRevision: number;
}

export interface Change {
  key: string;
  /** null when deleted. */
  value: unknown | null;
  revision: number;
}

export class ConflictError extends Error {
  readonly code = "STORE_CONFLICT";
  constructor(readonly key: string, expected: number, actual: number) {
    super(`compare-and-set failed on ${key}: expected revision ${expected}, found ${actual}`);
    this.name = "ConflictError";
  }
}

export interface ListOptions {
  /** Only keys that start with this. */
  prefix: string;
  /** Only keys strictly greater than this (for cursors). */
  after?: string;
  /** Stop after this many entries. */
  limit?: number;
}

/** How `getMany` may answer. */
export interface ReadOptions {
  /**
   * Answer from the engine's local copy when it has one: no record older
   * than this store's own acknowledged write of it, but possibly behind
   * other writers'. Right for a read that a compare-and-set will check (a stale
   * read then costs a conflict and a fresh retry); wrong for an answer given
   * to a client as it is.
   */
  cached?: boolean;
}

export interface Store {
  readonly name: string;
  /**
   * Partitions of the key space (protocol/keys.ts partitionOf); a commit's
   * writes all fall in one. Absent: one partition holds every key.
   */
  readonly partitions?: number;
  /**
   * True when one commit of records of several units (protocol/keys.ts
   * unitKeys) costs more than a commit per unit one after another: JetStream
   * R1, whose server stages every atomic batch in a file store of its own.
   * The node then splits what the protocol lets it split (mesh/node.ts).
   */
  readonly prefersSingleUnitCommits?: boolean;
  get(key: string): Promise<Entry | undefined>;
  /**
   * Several keys at once, in the order asked (undefined for an absent key):
   * an engine with a round trip per read batches them. Optional: without
   * it, callers read key by key with `get`.
   */
  getMany?(keys: readonly string[], options?: ReadOptions): Promise<(Entry | undefined)[]>;
  /** Create a key that must not exist; returns the new revision. */
  create(key: string, value: unknown): Promise<number>;
  /** Compare-and-set; returns the new revision or throws ConflictError. */
  update(key: string, value: unknown, revision: number): Promise<number>;
  /**
   * Apply several compare-and-set writes, all or nothing. They fall in one
   * partition (an engine with several refuses a commit that spans them;
   * effects across partitions go through the protocol's outbox).
   */
  commit(ops: CommitOp[]): Promise<void>;
  /** Entries in key order. */
  list(options: ListOptions): Promise<Entry[]>;
  /**
   * Resolves once `list` and `watch` reflect every commit this store has
   * acknowledged (an engine whose listing is a view fed asynchronously waits
   * for it to catch up; the memory engine is always caught up).
   */
  sync(): Promise<void>;
  /** Every change under `prefix` after the call; returns an unsubscribe. */
  watch(prefix: string, onChange: (change: Change) => void): () => void;
  /**
   * Hand watchers now every change they have not heard of yet. An engine
   * that delivers changes a moment after making them (JetStream: off the
   * path of the answer) has it; a reader of what watchers build that must
   * see the changes made so far (a search) calls it first. `sync` does too.
   */
  deliverChanges?(): void;
  close(): Promise<void>;
}
