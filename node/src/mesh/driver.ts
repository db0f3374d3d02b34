// Runs protocol steps against a Store: read lazily, run the pure step,
// compare-and-set the writes against the revisions read, and on a conflict
// start over from fresh reads. Every engine goes through this one path; the
// protocol rules themselves live in protocol/ only.
//
// Lazy loading: the snapshot handed to a step throws a private `Missing`
// marker for a record it has not loaded yet; the driver loads it and re-runs
// the step. Steps are pure, so re-running is safe, and a step reads only the
// handful of records it needs instead of the driver guessing up front.
//
// Cached first, fresh on doubt. The first round reads from the store's local
// copy when it has one (`getMany` with `cached`): no round trip, never older
// than this node's own commits, possibly behind another node's. A step that
// writes is safe with that: its commit compares the revisions it read, and a
// conflict sends the next round to fresh reads. A step that only reads is an
// answer given as it is, so before it is returned the records it read are
// read fresh (one batched read) and the step runs again if any had moved.
//
// Partitions. A store with several partitions commits atomically within one
// only. A step is told its home partition (the `homeId` of `apply`); its
// effects on other partitions come back as `effects`, which the driver
// commits as outbox entries in the same batch (protocol/outbox.ts) and hands
// to `applyOutbox` (mesh/outbox.ts) right after, before the caller answers.

import type { ProtocolConfig } from "../protocol/config.ts";
import { randomBytes } from "node:crypto";
import { branchPrefixes, partitionOf, promiseKey, requestKeys, scheduleKey, taskKey, writeKey } from "../protocol/keys.ts";
import { localityOf, outboxWrites, type Effect, type Locality } from "../protocol/outbox.ts";
import type {
  Message,
  Request,
  ScheduleRecord,
  Snapshot,
  StoredPromise,
  StoredTask,
  Write,
} from "../protocol/types.ts";
import { Tag } from "../protocol/types.ts";
import { ConflictError, type CommitOp, type Entry, type Store } from "../store/types.ts";
import type { Clock } from "./clock.ts";
import { Histogram, LATENCY_BUCKETS } from "./histogram.ts";

/** What a step returns: the writes to commit and the messages to send once they have. */
export interface StepResult {
  writes: Write[];
  messages: Message[];
  /** Effects on other partitions, committed as outbox entries with the writes. */
  effects?: Effect[];
}

export type Step<R extends StepResult> = (snapshot: Snapshot, now: number, locality: Locality | undefined) => R;

/** Applies outbox entries just committed; resolves with the messages their effects send. */
export type OutboxApplier = (entries: readonly { key: string; value: unknown }[]) => Promise<Message[]>;

export interface DriverOptions {
  store: Store;
  clock: Clock;
  config: ProtocolConfig;
  /** Read-transition-commit rounds before answering UNAVAILABLE. */
  maxAttempts?: number;
  /** Upper bound of the jittered pause between rounds, in ms. */
  maxBackoffMs?: number;
  /** The store's partitions (default: the store's own count, else 1). */
  partitions?: number;
}

export interface DriverStats {
  commits: number;
  conflicts: number;
  /** Steps abandoned after `maxAttempts` conflicting rounds. */
  exhausted: number;
  /** Records and branches loaded on demand. */
  loads: number;
  /** Read-only steps answered again from fresh reads because the cached copy was behind. */
  staleReads: number;
}

/** Too many conflicting rounds: the caller answers 503 UNAVAILABLE. */
export class ContentionError extends Error {
  readonly code = "UNAVAILABLE";
  constructor(readonly attempts: number, readonly lastKey: string) {
    super(`gave up after ${attempts} conflicting attempts on ${lastKey}; the record is heavily contended, retry later`);
    this.name = "ContentionError";
  }
}

/** Thrown by the lazy snapshot for something not loaded yet. Never escapes the driver. */
class Missing {
  constructor(
    readonly key?: string,
    readonly branch?: string,
  ) {}
}

/** Loads needed by one step before it can finish, bounded so a step that keeps asking cannot spin. */
const MAX_LOADS_PER_ROUND = 10_000;

export class Driver {
  readonly store: Store;
  private readonly clock: Clock;
  readonly config: ProtocolConfig;
  private readonly maxAttempts: number;
  private readonly maxBackoffMs: number;
  private readonly counters: DriverStats = { commits: 0, conflicts: 0, exhausted: 0, loads: 0, staleReads: 0 };
  /** Seconds per store commit, conflicting ones included. */
  readonly commitLatency = new Histogram(LATENCY_BUCKETS);
  readonly partitions: number;
  /** Set by the mesh (mesh/outbox.ts): applies the outbox entries a commit made. */
  applyOutbox?: OutboxApplier;

  constructor(options: DriverOptions) {
    this.store = options.store;
    this.partitions = options.partitions ?? options.store.partitions ?? 1;
    this.clock = options.clock;
    this.config = options.config;
    this.maxAttempts = options.maxAttempts ?? 12;
    this.maxBackoffMs = options.maxBackoffMs ?? 50;
  }

  stats(): DriverStats {
    return { ...this.counters };
  }

  /**
   * Run `step` until its writes commit. `prefetch` names keys worth loading
   * in parallel before the first run (a hint; anything else loads lazily).
   * Throws ContentionError after too many conflicts.
   */
  async apply<R extends StepResult>(step: Step<R>, prefetch: readonly string[] = [], homeId = ""): Promise<R> {
    let lastKey = "";
    let cached = this.store.getMany !== undefined;
    const locality = localityOf(homeId, this.partitions);
    for (let attempt = 1; ; attempt++) {
      const snapshot = new LazySnapshot(cached);
      await this.load(snapshot, prefetch);
      const now = this.clock.now();
      const result = await this.runLoaded(snapshot, step, now, locality);
      const effects = result.effects ?? [];
      if (result.writes.length === 0 && effects.length === 0) {
        if (!cached || (await this.stillCurrent(snapshot))) return result;
        // The cached copy was behind: answer from fresh reads.
        this.counters.staleReads++;
        cached = false;
        attempt--;
        continue;
      }
      const entries = effects.length === 0 ? [] : outboxWrites(effects, homeId, now, this.partitions, randomBytes(6).toString("base64url"));
      // Entry keys are new (a random token each): they must not exist, and need no read to say so.
      for (const e of entries) snapshot.entries.set(writeKey(e), null);
      const started = performance.now();
      try {
        await this.commit(snapshot, [...result.writes, ...entries], locality);
        this.commitLatency.observe((performance.now() - started) / 1000);
        this.counters.commits++;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        this.commitLatency.observe((performance.now() - started) / 1000);
        this.counters.conflicts++;
        lastKey = err.key;
        // A retry reads fresh: the cached copy may still be behind the winner's commit.
        cached = false;
        if (attempt >= this.maxAttempts) {
          this.counters.exhausted++;
          throw new ContentionError(attempt, lastKey);
        }
        await this.backoff(attempt);
        continue;
      }
      if (entries.length > 0 && this.applyOutbox !== undefined) {
        // Applied before the caller answers, so what it answers next sees the effect (as with one partition).
        const more = await this.applyOutbox(entries.map((w) => ({ key: writeKey(w), value: valueOf(w) })));
        if (more.length > 0) return { ...result, messages: [...result.messages, ...more] };
      }
      return result;
    }
  }

  /** The keys a request will almost certainly read, loaded in parallel up front. */
  static prefetchKeys(request: Request): string[] {
    return requestKeys(request);
  }

  // ------------------------------------------------------------ internals

  private async runLoaded<R extends StepResult>(snapshot: LazySnapshot, step: Step<R>, now: number, locality: Locality | undefined): Promise<R> {
    for (let loads = 0; ; loads++) {
      try {
        return step(snapshot, now, locality);
      } catch (err) {
        if (!(err instanceof Missing)) throw err;
        if (loads >= MAX_LOADS_PER_ROUND) throw new Error(`a protocol step asked for more than ${MAX_LOADS_PER_ROUND} records`);
        if (err.key !== undefined) await this.load(snapshot, [err.key]);
        else await this.loadBranch(snapshot, err.branch!);
      }
    }
  }

  private async load(snapshot: LazySnapshot, keys: readonly string[]): Promise<void> {
    const wanted = keys.filter((k) => !snapshot.entries.has(k));
    if (wanted.length === 0) return;
    this.counters.loads += wanted.length;
    const entries =
      this.store.getMany === undefined
        ? await Promise.all(wanted.map((k) => this.store.get(k)))
        : await this.store.getMany(wanted, { cached: snapshot.cached });
    wanted.forEach((key, i) => {
      // First read wins: one round sees one version of each record.
      if (!snapshot.entries.has(key)) {
        snapshot.entries.set(key, entries[i] ?? null);
        snapshot.loaded.push(key);
      }
    });
  }

  /** Whether every record the snapshot loaded by key is still at the revision read (one fresh, batched read). */
  private async stillCurrent(snapshot: LazySnapshot): Promise<boolean> {
    if (snapshot.loaded.length === 0) return true;
    const fresh = await this.store.getMany!(snapshot.loaded, { cached: false });
    return snapshot.loaded.every((key, i) => (fresh[i]?.revision ?? 0) === (snapshot.entries.get(key)?.revision ?? 0));
  }

  // Children carry the branch id followed by '.' (our SDK, official 0.11.4)
  // or ':' (official 0.11.5); the tag decides membership.
  private async loadBranch(snapshot: LazySnapshot, branch: string): Promise<void> {
    this.counters.loads++;
    const lists = await Promise.all(branchPrefixes(branch).map((prefix) => this.listAll(prefix)));
    const members: StoredPromise[] = [];
    for (const entry of lists.flat()) {
      if (!snapshot.entries.has(entry.key)) snapshot.entries.set(entry.key, entry);
      const seen = snapshot.entries.get(entry.key);
      const promise = seen?.value as StoredPromise | undefined;
      if (promise !== undefined && promise.tags?.[Tag.branch] === branch) members.push(promise);
    }
    snapshot.branches.set(branch, members);
  }

  private async listAll(prefix: string): Promise<Entry[]> {
    const out: Entry[] = [];
    const page = 1000;
    let after: string | undefined;
    for (;;) {
      const entries = await this.store.list({ prefix, after, limit: page });
      out.push(...entries);
      if (entries.length < page) return out;
      after = entries[entries.length - 1]!.key;
    }
  }

  private async commit(snapshot: LazySnapshot, writes: Write[], locality: Locality | undefined): Promise<void> {
    const byKey = new Map<string, unknown>();
    for (const w of writes) byKey.set(writeKey(w), valueOf(w));
    // A key written without being read (the step did not look at it, so its
    // current value cannot change the outcome) commits against what is there now.
    await this.load(
      snapshot,
      [...byKey.keys()].filter((k) => !snapshot.entries.has(k)),
    );
    const ops: CommitOp[] = [];
    for (const [key, value] of byKey) {
      const expectedRevision = snapshot.entries.get(key)?.revision ?? 0;
      // Deleting what is already absent needs no write.
      if (value === null && expectedRevision === 0) continue;
      if (locality !== undefined && partitionOf(key, locality.partitions) !== locality.home) {
        throw new Error(`a step of partition ${locality.home} tried to commit ${key} of partition ${partitionOf(key, locality.partitions)}; effects across partitions go through the outbox`);
      }
      ops.push({ key, value, expectedRevision });
    }
    if (ops.length > 0) await this.store.commit(ops);
  }

  // The first retry goes at once (the winner has already committed); later
  // ones spread out so a hot key does not turn into a thundering herd.
  private async backoff(attempt: number): Promise<void> {
    if (attempt <= 1) return;
    const ceiling = Math.min(this.maxBackoffMs, 2 ** (attempt - 1));
    const ms = Math.random() * ceiling;
    await new Promise<void>((resolve) => setTimeout(resolve, ms));
  }
}

class LazySnapshot implements Snapshot {
  /** Loaded keys; null records a key read as absent (revision 0). */
  readonly entries = new Map<string, Entry | null>();
  /** The keys loaded one by one (not as members of a branch), in order. */
  readonly loaded: string[] = [];
  readonly branches = new Map<string, StoredPromise[]>();

  /** @param cached whether records are read from the store's local copy. */
  constructor(readonly cached: boolean) {}

  promise(id: string): StoredPromise | undefined {
    return this.read(promiseKey(id)) as StoredPromise | undefined;
  }

  task(id: string): StoredTask | undefined {
    return this.read(taskKey(id)) as StoredTask | undefined;
  }

  schedule(id: string): ScheduleRecord | undefined {
    return this.read(scheduleKey(id)) as ScheduleRecord | undefined;
  }

  branch(branch: string): StoredPromise[] {
    const members = this.branches.get(branch);
    if (members === undefined) throw new Missing(undefined, branch);
    return members;
  }

  record(key: string): unknown {
    return this.read(key);
  }

  private read(key: string): unknown {
    const entry = this.entries.get(key);
    if (entry === undefined) throw new Missing(key);
    return entry?.value;
  }
}

function valueOf(write: Write): unknown {
  if (write.type === "outbox") return write.value;
  return write.type === "schedule.delete" ? null : write.record;
}
