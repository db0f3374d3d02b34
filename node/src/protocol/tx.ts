// One transition's working set: reads go through the records this transition
// already wrote, then to the snapshot; writes are collected per key (the last
// version wins) and messages in the order they were caused. Exceptions thrown
// by the snapshot (an engine loading a record lazily) pass through untouched.

import type { ProtocolConfig } from "./config.ts";
import { branchOf, projectPromise, isPastTimeout } from "./records.ts";
import { repairTask, timeOut } from "./settle.ts";
import { promiseKey, scheduleKey, taskKey } from "./keys.ts";
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

  constructor(
    readonly snapshot: Snapshot,
    readonly now: number,
    readonly config: ProtocolConfig,
  ) {}

  /** The promise as stored, without settling it if it is past its deadline. */
  storedPromise(id: string): StoredPromise | undefined {
    const w = this.written.get(promiseKey(id));
    if (w !== undefined) return (w as { record: StoredPromise }).record;
    return this.snapshot.promise(id);
  }

  /** The promise, settled first if it is pending past its deadline (lazy timeout). */
  promise(id: string): StoredPromise | undefined {
    const p = this.storedPromise(id);
    if (p !== undefined && isPastTimeout(p, this.now)) return timeOut(this, p);
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
    return repairTask(this, task, promise);
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
    this.sent.push(message);
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
    return [...this.written.values()];
  }

  get messages(): Message[] {
    return [...this.sent];
  }

  private set(key: string, write: Write): void {
    // Keep the first position of a key so writes stay in causal order.
    this.written.set(key, write);
  }
}
