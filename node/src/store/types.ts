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

export interface Store {
  readonly name: string;
  /**
   * Partitions of the key space (protocol/keys.ts partitionOf); a commit's
   * writes all fall in one. Absent: one partition holds every key.
   */
  readonly partitions?: number;
  get(key: string): Promise<Entry | undefined>;
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
  close(): Promise<void>;
}
