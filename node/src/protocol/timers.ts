// The transitions the timer loop drives. Each first checks that its record is
// still due (the loop may act on a stale view) and is a no-op otherwise.

import { resolveConfig, type ProtocolConfig } from "./config.ts";
import { isTimer, targetOf } from "./records.ts";
import { fireDueTicks } from "./schedules.ts";
import { dispatch } from "./settle.ts";
import type { Effect, Locality } from "./outbox.ts";
import { Tx } from "./tx.ts";
import type { Message, PromiseRecord, ScheduleRecord, Snapshot, StoredPromise, StoredTask, TaskRecord, Write } from "./types.ts";

export interface TimerEffects {
  writes: Write[];
  messages: Message[];
  /** Effects on other partitions (protocol/outbox.ts). */
  effects?: Effect[];
}

const nothing = (): TimerEffects => ({ writes: [], messages: [] });

function run(snapshot: Snapshot, now: number, config: Partial<ProtocolConfig> | undefined, body: (tx: Tx) => void, locality?: Locality): TimerEffects {
  const tx = new Tx(snapshot, now, resolveConfig(config), locality);
  body(tx);
  return { writes: tx.writes, messages: tx.messages, effects: tx.effects };
}

/** A pending promise past its deadline times out (a timer resolves), with every settlement trigger. */
export function timeoutPromise(snapshot: Snapshot, id: string, now: number, config?: Partial<ProtocolConfig>, locality?: Locality): TimerEffects {
  const p = snapshot.promise(id);
  if (p === undefined || p.state !== "pending" || now < p.timeoutAt) return nothing();
  return run(snapshot, now, config, (tx) => tx.promise(id), locality);
}

/** An acquired task whose lease ended returns to pending (same version) and is dispatched again. */
export function expireLease(snapshot: Snapshot, id: string, now: number, config?: Partial<ProtocolConfig>, locality?: Locality): TimerEffects {
  const t = snapshot.task(id);
  if (t === undefined || t.state !== "acquired" || t.leaseExpiresAt === undefined || t.leaseExpiresAt > now) {
    return nothing();
  }
  return run(snapshot, now, config, (tx) => {
    const task = tx.task(id);
    const promise = tx.storedPromise(id);
    if (task?.state === "acquired" && promise !== undefined) dispatch(tx, task, promise);
  }, locality);
}

/** A pending task not acquired by its retry time gets its `execute` again. */
export function retryTask(snapshot: Snapshot, id: string, now: number, config?: Partial<ProtocolConfig>, locality?: Locality): TimerEffects {
  const t = snapshot.task(id);
  if (t === undefined || t.state !== "pending" || t.retryAt === undefined || t.retryAt > now) return nothing();
  return run(snapshot, now, config, (tx) => {
    const task = tx.task(id);
    const promise = tx.storedPromise(id);
    if (task?.state === "pending" && promise !== undefined) dispatch(tx, task, promise);
  }, locality);
}

/** Create the promise of every tick of the schedule due by now (catch-up, capped per call). */
export function fireSchedule(snapshot: Snapshot, id: string, now: number, config?: Partial<ProtocolConfig>, locality?: Locality): TimerEffects {
  const s = snapshot.schedule(id);
  if (s === undefined || s.nextRunAt > now) return nothing();
  return run(snapshot, now, config, (tx) => fireDueTicks(tx, s), locality);
}

/**
 * When the timer loop must look at a record, or undefined when no timer
 * applies: a pending promise that is targeted, a timer, or awaited (callbacks
 * or listeners) at its deadline; an
 * acquired task at its lease end; a pending task at its retry time; a schedule
 * at its next run.
 */
export function dueAt(kind: "promise", record: PromiseRecord): number | undefined;
export function dueAt(kind: "task", record: StoredTask | TaskRecord): number | undefined;
export function dueAt(kind: "schedule", record: ScheduleRecord): number | undefined;
export function dueAt(
  kind: "promise" | "task" | "schedule",
  record: PromiseRecord | StoredTask | TaskRecord | ScheduleRecord,
): number | undefined;
export function dueAt(
  kind: "promise" | "task" | "schedule",
  record: PromiseRecord | StoredTask | TaskRecord | ScheduleRecord,
): number | undefined {
  switch (kind) {
    case "promise": {
      // Timed out actively when something waits on it: its task, a timer's
      // awaiter, or a registered callback or listener (a latent promise with a
      // deadline). Anything else times out lazily, on its next read.
      const p = record as PromiseRecord & Partial<StoredPromise>;
      if (p.state !== "pending") return undefined;
      const awaited = (p.callbacks?.length ?? 0) > 0 || (p.listeners?.length ?? 0) > 0;
      return targetOf(p) !== undefined || isTimer(p) || awaited ? p.timeoutAt : undefined;
    }
    case "task": {
      const t = record as StoredTask;
      if (t.state === "acquired") return t.leaseExpiresAt;
      if (t.state === "pending") return t.retryAt;
      return undefined;
    }
    case "schedule":
      return (record as ScheduleRecord).nextRunAt;
  }
}
