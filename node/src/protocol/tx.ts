// One transition's working set: reads go through the records this transition
// already wrote, then to the snapshot; writes are collected per key (the last
// version wins) and messages in the order they were caused. Exceptions thrown
// by the snapshot (an engine loading a record lazily) pass through untouched.
//
// Partitions. With a locality (protocol/outbox.ts) the transition may write
// only records of its home partition. What it would do to another
// partition's records is run inside `abroad(effect, ...)`: those writes stay
// visible to the rest of the transition (so its answer is the one a single
// partition would give) but are not committed; the effect is, as an outbox
// entry, and the target's owner re-derives it there (applyOutboxEntry).

import type { ProtocolConfig } from "./config.ts";
import { branchOf, projectPromise, isPastTimeout } from "./records.ts";
import { repairTask, timeOut } from "./settle.ts";
import { partitionOf, partitionOfId, promiseKey, scheduleKey, taskKey } from "./keys.ts";
import type { Effect, Locality } from "./outbox.ts";
import { Tag } from "./types.ts";
import type {
  Message,
  PromiseRecord,
  ScheduleRecord,
  Snapshot,
  StoredPromise,
  StoredTask,
  Write,
} from "./types.ts";

export class Tx {
  private readonly written = new Map<string, Write>();
  private readonly sent: Message[] = [];
  /** Keys written inside `abroad`: seen by later reads, never committed. */
  private readonly overlaid = new Set<string>();
  private readonly deferred = new Map<string, Effect>();
  private depth = 0;

  constructor(
    readonly snapshot: Snapshot,
    readonly now: number,
    readonly config: ProtocolConfig,
    readonly locality?: Locality,
  ) {}

  /** Is the call tree of `id` in this transition's home partition (always, without a locality)? */
  local(id: string): boolean {
    const l = this.locality;
    return l === undefined || partitionOfId(id, l.partitions) === l.home;
  }

  /** Leave `effect` to the owner of its target (an outbox entry committed with this transition). */
  defer(effect: Effect): void {
    // Inside `abroad` the enclosing effect re-derives everything its body caused.
    if (this.depth > 0) return;
    this.deferred.set(JSON.stringify(effect), effect);
  }

  /**
   * Run `body` as if it happened here (its writes are seen by what follows,
   * its messages and further effects dropped) and commit `effect` instead,
   * which the target's owner applies.
   */
  abroad<T>(effect: Effect, body: () => T): T {
    this.defer(effect);
    this.depth++;
    try {
      return body();
    } finally {
      this.depth--;
    }
  }

  /** The promise as stored, without settling it if it is past its deadline. */
  storedPromise(id: string): StoredPromise | undefined {
    const w = this.written.get(promiseKey(id));
    if (w !== undefined) return (w as { record: StoredPromise }).record;
    return this.snapshot.promise(id);
  }

  /** The promise, settled first if it is pending past its deadline (lazy timeout). */
  promise(id: string): StoredPromise | undefined {
    const p = this.storedPromise(id);
    if (p !== undefined && isPastTimeout(p, this.now)) {
      return this.local(id) ? timeOut(this, p) : this.abroad({ kind: "touch", id }, () => timeOut(this, p));
    }
    return p;
  }

  storedTask(id: string): StoredTask | undefined {
    const w = this.written.get(taskKey(id));
    if (w !== undefined) return (w as { record: StoredTask }).record;
    return this.snapshot.task(id);
  }

  /**
   * The task in its effective state: its promise is read first (which may
   * time it out), and a task whose promise is settled is fulfilled, so a
   * settlement that a crash left half-applied is finished here.
   */
  task(id: string): StoredTask | undefined {
    const promise = this.promise(id);
    const task = this.storedTask(id);
    if (task === undefined || promise === undefined) return task;
    if (this.local(id) || promise.state === "pending" || task.state === "fulfilled") return repairTask(this, task, promise);
    // Another partition's task left unfulfilled behind its settled promise: its owner repairs it.
    return this.abroad({ kind: "touch", id }, () => repairTask(this, task, promise));
  }

  schedule(id: string): ScheduleRecord | undefined {
    const w = this.written.get(scheduleKey(id));
    if (w !== undefined) return w.type === "schedule" ? w.record : undefined;
    return this.snapshot.schedule(id);
  }

  putPromise(record: StoredPromise): StoredPromise {
    this.set(promiseKey(record.id), { type: "promise", record });
    return record;
  }

  putTask(record: StoredTask): StoredTask {
    this.set(taskKey(record.id), { type: "task", record });
    return record;
  }

  putSchedule(record: ScheduleRecord): ScheduleRecord {
    this.set(scheduleKey(record.id), { type: "schedule", record });
    return record;
  }

  deleteSchedule(id: string): void {
    this.set(scheduleKey(id), { type: "schedule.delete", id });
  }

  send(message: Message): void {
    if (this.depth === 0) this.sent.push(message);
  }

  /** Write an outbox entry or receipt (protocol/outbox.ts); null deletes. */
  putOutbox(key: string, value: unknown | null): void {
    this.set(key, { type: "outbox", key, value });
  }

  /**
   * The preload of a task: every promise of its promise's branch except that
   * promise itself, as clients see them now, ordered by id.
   */
  preload(promise: PromiseRecord): PromiseRecord[] {
    const branch = branchOf(promise);
    const byId = new Map<string, StoredPromise>();
    for (const p of this.snapshot.branch(branch)) byId.set(p.id, p);
    for (const w of this.written.values()) {
      if (w.type === "promise" && w.record.tags[Tag.branch] === branch) byId.set(w.record.id, w.record);
    }
    byId.delete(promise.id);
    return [...byId.keys()]
      .sort()
      .map((id) => projectPromise(byId.get(id)!, this.now));
  }

  get writes(): Write[] {
    const out: Write[] = [];
    for (const [key, write] of this.written) if (!this.overlaid.has(key)) out.push(write);
    return out;
  }

  get messages(): Message[] {
    return [...this.sent];
  }

  /** The effects left to other partitions' owners, in the order they arose. */
  get effects(): Effect[] {
    return [...this.deferred.values()];
  }

  private set(key: string, write: Write): void {
    if (this.depth > 0) this.overlaid.add(key);
    else {
      const l = this.locality;
      if (l !== undefined && partitionOf(key, l.partitions) !== l.home) {
        // A rule that crosses partitions without saying how: a bug here, never half-applied in the store.
        throw new Error(`protocol bug: a transition of partition ${l.home} wrote ${key} of partition ${partitionOf(key, l.partitions)} outside an outbox effect`);
      }
      this.overlaid.delete(key);
    }
    // Keep the first position of a key so writes stay in causal order.
    this.written.set(key, write);
  }
}
