// The outbox: how an effect that crosses partitions is never half-applied.
//
// A call tree lives in one partition, and a commit is atomic only within one.
// A transition runs in the partition of the record its request is about (its
// "home", `homeIdOf`); what it would do to another tree's records (wake an
// awaiter, register a callback, create a schedule's promise, a fenced create
// or settle of a foreign id, extend a foreign lease, time out a foreign
// promise it read) it records as an Effect (tx.ts `abroad`/`defer`). The
// driver commits each effect as an outbox entry in the same atomic batch as
// the cause (`outboxWrites`), in the cause's partition.
//
// Applying an entry is a transition of the target partition
// (`applyOutboxEntry`): the effect is re-derived by the protocol from the
// target's current records, never copied, so a target that moved on meanwhile
// is not clobbered; and it writes a receipt next to the effect, in the same
// batch, that must not exist yet. So two nodes racing to apply one entry (the
// cause's node right after the commit, the target's owner from its scan)
// apply it once: the loser's receipt write conflicts and its retry finds the
// receipt. The entry is then deleted; the receipt stays a while longer
// (OutboxReceipt).

import type { ProtocolConfig } from "./config.ts";
import { resolveConfig } from "./config.ts";
import { outboxKey, parseOutboxKey, partitionOfId, receiptKey, treeRootOf } from "./keys.ts";
import { createPromise } from "./promises.ts";
import { addCallback, settle, wake } from "./settle.ts";
import { Tx } from "./tx.ts";
import type { Message, PromiseCreateData, PromiseSettleData, Request, Snapshot, Value, Write } from "./types.ts";

/** A transition's partition, when there are several: it writes only records of `home`. */
export interface Locality {
  partitions: number;
  home: number;
}

/** What one partition asks another to do, re-derived there by the protocol. */
export type Effect =
  /** `awaited` settled: resume the awaiter's task (protocol rule 4). */
  | { kind: "resume"; awaiter: string; awaited: string }
  /** Register `awaiter` on `awaited`; if that has settled meanwhile, resume the awaiter instead. */
  | { kind: "callback"; awaited: string; awaiter: string }
  /** Read the record as the protocol does: a promise past its deadline times out, a settled promise's task is fulfilled. */
  | { kind: "touch"; id: string }
  /** Create a promise (idempotent by id), with `createdAt` when a schedule tick decides it. */
  | { kind: "create"; data: PromiseCreateData; createdAt?: number }
  /** Settle a promise if still pending. */
  | { kind: "settle"; id: string; state: PromiseSettleData["state"]; value: Value }
  /** A heartbeat: extend the lease if the task is still acquired at `version` by `pid`. */
  | { kind: "extend"; id: string; version: number; pid: string };

/** An outbox entry as stored. `at` is the cause's time: the effect is applied as of then. */
export interface OutboxEntry {
  effect: Effect;
  at: number;
  /** The id whose transition caused it (for people reading the stream). */
  cause: string;
}

/**
 * What a receipt records. It outlives its entry (the target's owner removes
 * it some minutes later): an applier that read the entry before it was
 * deleted must still find the receipt, or it would apply the effect again.
 */
export interface OutboxReceipt {
  appliedAt: number;
}

/** The id whose call tree an effect changes. */
export function effectTarget(effect: Effect): string {
  switch (effect.kind) {
    case "resume":
      return effect.awaiter;
    case "callback":
      return effect.awaited;
    case "touch":
    case "settle":
    case "extend":
      return effect.id;
    case "create":
      return effect.data.id;
  }
}

/**
 * The id whose partition a request's transition runs in: the record it is
 * about. A register_callback runs with its awaiter (the awaited's callback
 * list is the effect), a heartbeat with its first task.
 */
export function homeIdOf(request: Request): string {
  const d = request.data as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  switch (request.kind) {
    case "promise.register_callback":
      return str(d.awaiter);
    case "promise.register_listener":
      return str(d.awaited);
    case "task.create":
      return str((d.action as { data?: { id?: unknown } } | undefined)?.data?.id);
    case "task.heartbeat":
      return str((d.tasks as { id?: unknown }[] | undefined)?.[0]?.id);
    default:
      return str(d.id);
  }
}

/** The locality of a step about `homeId`, or undefined when one partition holds everything. */
export function localityOf(homeId: string, partitions: number): Locality | undefined {
  return partitions <= 1 ? undefined : { partitions, home: partitionOfId(homeId, partitions) };
}

/**
 * The outbox entries that carry `effects` of a step about `homeId` at `now`,
 * as writes of new keys (each must not exist). `unique` tells this commit's
 * entries from every other's (the driver passes a random token): two causes
 * of one effect are two entries, and applying is idempotent.
 */
export function outboxWrites(effects: readonly Effect[], homeId: string, now: number, partitions: number, unique: string): Write[] {
  const root = treeRootOf(homeId);
  return effects.map((effect, i) => {
    const entry: OutboxEntry = { effect, at: now, cause: homeId };
    const key = outboxKey(partitionOfId(effectTarget(effect), partitions), root, `${unique}-${i}`);
    return { type: "outbox", key, value: entry };
  });
}

export interface AppliedOutboxEntry {
  writes: Write[];
  messages: Message[];
  /** Effects of the target partition's own on yet other partitions (a callback on a settled promise resumes its awaiter). */
  effects: Effect[];
  /** False when the receipt showed it applied already: nothing to do but delete the entry. */
  applied: boolean;
}

/**
 * Apply the entry at `entryKey` in its target partition at `now`: unless its
 * receipt exists, re-derive the effect from the target's current records as
 * of the cause's time, and write the receipt. The snapshot must read the
 * receipt through `record`.
 */
export function applyOutboxEntry(
  snapshot: Snapshot,
  entryKey: string,
  entry: OutboxEntry,
  now: number,
  partitions: number,
  config?: Partial<ProtocolConfig>,
): AppliedOutboxEntry {
  const parsed = parseOutboxKey(entryKey);
  if (parsed === undefined || parsed.kind !== "entry") throw new Error(`not an outbox entry key: ${entryKey}`);
  if (snapshot.record === undefined) throw new Error("applying an outbox entry needs a snapshot that reads any record (Snapshot.record)");
  const receipt = receiptKey(entryKey);
  if (snapshot.record(receipt) !== undefined) return { writes: [], messages: [], effects: [], applied: false };
  const tx = new Tx(snapshot, entry.at, resolveConfig(config), { partitions, home: parsed.target });
  applyEffect(tx, entry.effect);
  const done: OutboxReceipt = { appliedAt: now };
  tx.putOutbox(receipt, done);
  return { writes: tx.writes, messages: tx.messages, effects: tx.effects, applied: true };
}

function applyEffect(tx: Tx, effect: Effect): void {
  switch (effect.kind) {
    case "resume":
      wake(tx, effect.awaiter, effect.awaited);
      return;
    case "callback": {
      const awaited = tx.promise(effect.awaited);
      if (awaited === undefined) return;
      if (awaited.state === "pending") addCallback(tx, awaited, effect.awaiter);
      // It settled before the callback arrived: the awaiter is owed the resume it would have had.
      else wake(tx, effect.awaiter, effect.awaited);
      return;
    }
    case "touch":
      if (tx.task(effect.id) === undefined) tx.promise(effect.id);
      return;
    case "create":
      createPromise(tx, effect.data, effect.createdAt === undefined ? {} : { createdAt: effect.createdAt });
      return;
    case "settle": {
      const promise = tx.promise(effect.id);
      if (promise?.state === "pending") settle(tx, promise, effect.state, effect.value, tx.now);
      return;
    }
    case "extend": {
      const task = tx.task(effect.id);
      if (task?.state !== "acquired" || task.version !== effect.version || task.pid !== effect.pid) return;
      tx.putTask({ ...task, leaseExpiresAt: Math.max(task.leaseExpiresAt ?? 0, tx.now + task.ttl!) });
      return;
    }
  }
}
