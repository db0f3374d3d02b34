// The timer loop: promise timeouts, lease expiries, dispatch retries and
// schedule ticks. What is due when is decided by the protocol (`dueAt`); what
// happens when it is due, too (protocol/timers.ts). This module only keeps an
// index of due times current from the store's change feed and runs what is
// due through the driver, many at a time.

import type { Logger } from "pino";
import { dueAt, expireLease, fireSchedule, retryTask, timeoutPromise } from "../protocol/timers.ts";
import type { ProtocolConfig } from "../protocol/config.ts";
import type { Locality } from "../protocol/outbox.ts";
import { KEY_PREFIX, parseKey, promiseKey, taskKey } from "../protocol/keys.ts";
import type { ScheduleRecord, Snapshot, StoredPromise, StoredTask } from "../protocol/types.ts";
import type { Entry, Store } from "../store/types.ts";
import type { Clock } from "./clock.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { Driver, type StepResult } from "./driver.ts";
import { MinHeap } from "./heap.ts";
import { Histogram, LAG_BUCKETS } from "./histogram.ts";

export type TimerKind = "promise" | "task" | "schedule";

const PREFIXES: Readonly<Record<TimerKind, string>> = KEY_PREFIX;

export interface TimerLoopOptions {
  store: Store;
  driver: Driver;
  /** Where the messages of fired timers go (the node's dispatcher, or the mesh's delivery). */
  dispatcher: Pick<Dispatcher, "sendAll">;
  clock: Clock;
  config: ProtocolConfig;
  logger?: Logger;
  /** Longest sleep of the running loop, so a clock that jumps is noticed. */
  pollMs?: number;
  /** Timers run at once. */
  concurrency?: number;
  /** Due timers taken from the index per batch. */
  batchSize?: number;
  /** When a timer fails, how long until it is tried again. */
  retryDelayMs?: number;
  /**
   * In a mesh: does this node own the record's partition? Timers of records
   * it does not own are left to their owner and looked at again after
   * `retryDelayMs` (ownership moves when a node leaves). Default: all.
   */
  owns?: (key: string) => boolean;
}

export interface TimerStats {
  /** Records with a due time in the index. */
  scheduled: number;
  fired: number;
  failed: number;
}

/** Due times by key, with the earliest found in O(log n). */
export class TimerIndex {
  private readonly heap = new MinHeap();
  private readonly due = new Map<string, number>();

  get size(): number {
    return this.due.size;
  }

  /** Set or clear the due time of `key`. */
  set(key: string, at: number | undefined): void {
    if (at === undefined) {
      this.due.delete(key);
      return;
    }
    if (this.due.get(key) === at) return;
    this.due.set(key, at);
    this.heap.push({ dueAt: at, key });
    // Superseded entries leave only when they surface; a promise settled long
    // before its deadline would keep one for that long, so rebuild now and then.
    if (this.heap.size > 2 * this.due.size + 1024) this.compact();
  }

  private compact(): void {
    this.heap.clear();
    for (const [key, dueAt] of this.due) this.heap.push({ dueAt, key });
  }

  /** Heap entries held, live and superseded (for tests). */
  get heapSize(): number {
    return this.heap.size;
  }

  has(key: string): boolean {
    return this.due.has(key);
  }

  /** The earliest due time, skipping superseded heap entries. */
  next(): number | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined) return undefined;
      if (this.due.get(top.key) === top.dueAt) return top.dueAt;
      this.heap.pop();
    }
  }

  /** Remove and return up to `max` keys due at or before `now`, earliest first; `dueTimes` learns when each was due. */
  takeDue(now: number, max: number, dueTimes?: Map<string, number>): string[] {
    const keys: string[] = [];
    while (keys.length < max) {
      const at = this.next();
      if (at === undefined || at > now) break;
      const { key } = this.heap.pop()!;
      this.due.delete(key);
      keys.push(key);
      dueTimes?.set(key, at);
    }
    return keys;
  }

  clear(): void {
    this.heap.clear();
    this.due.clear();
  }
}

export class TimerLoop {
  private readonly store: Store;
  private readonly driver: Driver;
  private readonly dispatcher: Pick<Dispatcher, "sendAll">;
  private readonly clock: Clock;
  private readonly owns?: (key: string) => boolean;
  private readonly config: ProtocolConfig;
  private readonly logger?: Logger;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly batchSize: number;
  private readonly retryDelayMs: number;

  readonly index = new TimerIndex();
  private unwatch: (() => void)[] = [];
  private initialising?: Promise<void>;
  /** Ticks run one after another; this is the tail of that chain. */
  private ticking: Promise<unknown> = Promise.resolve();
  private running = false;
  private inTick = false;
  private wake?: NodeJS.Timeout;
  private wakeAt = Infinity;
  private readonly counters = { fired: 0, failed: 0 };
  /** Per timer kind, seconds between when a timer was due and when its step committed. */
  readonly lag: Readonly<Record<TimerKind, Histogram>> = {
    promise: new Histogram(LAG_BUCKETS),
    task: new Histogram(LAG_BUCKETS),
    schedule: new Histogram(LAG_BUCKETS),
  };

  constructor(options: TimerLoopOptions) {
    this.store = options.store;
    this.driver = options.driver;
    this.dispatcher = options.dispatcher;
    this.clock = options.clock;
    this.config = options.config;
    this.logger = options.logger;
    this.pollMs = options.pollMs ?? 1_000;
    this.concurrency = options.concurrency ?? 32;
    this.batchSize = options.batchSize ?? 256;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.owns = options.owns;
  }

  stats(): TimerStats {
    return { scheduled: this.index.size, ...this.counters };
  }

  /** Build the index from the store and follow its changes. Idempotent. */
  init(): Promise<void> {
    this.initialising ??= this.build();
    return this.initialising;
  }

  async start(): Promise<void> {
    await this.init();
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  /** Run every timer due now. Resolves with how many ran. */
  tick(): Promise<number> {
    const run = this.ticking.then(() => this.runDue());
    this.ticking = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.wake !== undefined) clearTimeout(this.wake);
    this.wake = undefined;
    this.wakeAt = Infinity;
    for (const stop of this.unwatch.splice(0)) stop();
    await this.ticking;
  }

  // ------------------------------------------------------------ index

  private async build(): Promise<void> {
    // Watch first and hold the changes back, so nothing committed while the
    // initial listing runs is missed; then replay them over the listing,
    // newest revision winning.
    const buffered: Entry<unknown | null>[] = [];
    let live = false;
    const revisions = new Map<string, number>();
    for (const kind of Object.keys(PREFIXES) as TimerKind[]) {
      this.unwatch.push(
        this.store.watch(PREFIXES[kind], (change) => {
          if (live) this.track(change.key, change.value);
          else buffered.push(change);
        }),
      );
    }
    for (const kind of Object.keys(PREFIXES) as TimerKind[]) {
      let after: string | undefined;
      for (;;) {
        const page = await this.store.list({ prefix: PREFIXES[kind], after, limit: 1000 });
        for (const entry of page) {
          revisions.set(entry.key, entry.revision);
          this.track(entry.key, entry.value);
        }
        if (page.length < 1000) break;
        after = page[page.length - 1]!.key;
      }
    }
    for (const change of buffered) {
      if ((revisions.get(change.key) ?? 0) >= change.revision) continue;
      revisions.set(change.key, change.revision);
      this.track(change.key, change.value);
    }
    live = true;
  }

  private track(key: string, value: unknown | null): void {
    const kind = kindOf(key);
    if (kind === undefined) return;
    const at = value === null ? undefined : dueAtOf(kind, value);
    this.index.set(key, at);
    // Something became due before the loop's next wake-up: wake earlier.
    if (at !== undefined && this.running && !this.inTick && at < this.wakeAt) this.arm();
  }

  // ------------------------------------------------------------ running

  private arm(): void {
    if (!this.running) return;
    if (this.wake !== undefined) clearTimeout(this.wake);
    const now = this.clock.now();
    const next = this.index.next();
    const delay = next === undefined ? this.pollMs : Math.max(0, Math.min(next - now, this.pollMs));
    this.wakeAt = now + delay;
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.wakeAt = Infinity;
      this.tick()
        .catch((err: unknown) => this.logger?.error({ err }, "timer loop tick failed"))
        .finally(() => this.arm());
    }, delay);
  }

  private async runDue(): Promise<number> {
    await this.init();
    // An engine whose change feed is asynchronous: let the index see every commit made so far.
    await this.store.sync();
    this.inTick = true;
    const now = this.clock.now();
    const done = new Set<string>();
    const later: string[] = [];
    const others: string[] = [];
    const dueTimes = new Map<string, number>();
    let ran = 0;
    try {
      for (;;) {
        const batch: string[] = [];
        const taken = this.index.takeDue(now, this.batchSize, dueTimes);
        if (taken.length === 0) break;
        for (const key of taken) {
          // A timer that came due again within this tick waits for the next one.
          if (done.has(key)) later.push(key);
          else if (this.owns !== undefined && !this.owns(key)) others.push(key);
          else batch.push(key);
        }
        if (batch.length === 0) continue;
        for (const key of batch) done.add(key);
        await inWindows(batch, this.concurrency, (key) => this.fire(key, dueTimes.get(key)));
        ran += batch.length;
      }
    } finally {
      for (const key of later) if (!this.index.has(key)) this.index.set(key, now);
      // Another node's: look again later, in case its owner has left by then.
      for (const key of others) if (!this.index.has(key)) this.index.set(key, now + this.retryDelayMs);
      this.inTick = false;
    }
    return ran;
  }

  private async fire(key: string, wasDueAt: number | undefined): Promise<void> {
    const { kind, id } = parseKey(key)!;
    try {
      const prefetch = kind === "schedule" ? [key] : [promiseKey(id), taskKey(id)];
      const result = await this.driver.apply((s, now, locality) => this.step(kind, s, id, now, locality), prefetch, id);
      this.dispatcher.sendAll(result.messages);
      this.counters.fired++;
      if (wasDueAt !== undefined) this.lag[kind].observe(Math.max(0, this.clock.now() - wasDueAt) / 1000);
    } catch (err) {
      this.counters.failed++;
      this.logger?.error({ err, key }, "timer failed; it will be retried");
      // Unless a newer change already rescheduled it.
      if (!this.index.has(key)) this.index.set(key, this.clock.now() + this.retryDelayMs);
    }
  }

  private step(kind: TimerKind, s: Snapshot, id: string, now: number, locality?: Locality): StepResult {
    switch (kind) {
      case "promise":
        return timeoutPromise(s, id, now, this.config, locality);
      case "task":
        return s.task(id)?.state === "acquired"
          ? expireLease(s, id, now, this.config, locality)
          : retryTask(s, id, now, this.config, locality);
      case "schedule":
        return fireSchedule(s, id, now, this.config, locality);
    }
  }
}

function kindOf(key: string): TimerKind | undefined {
  return parseKey(key)?.kind;
}

function dueAtOf(kind: TimerKind, value: unknown): number | undefined {
  switch (kind) {
    case "promise":
      return dueAt("promise", value as StoredPromise);
    case "task":
      return dueAt("task", value as StoredTask);
    case "schedule":
      return dueAt("schedule", value as ScheduleRecord);
  }
}

/** Run `work` over `items` with at most `width` in flight. */
async function inWindows<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}
