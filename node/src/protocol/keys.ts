// The record key layout, in one place: every engine, the driver, the timers
// and the views name records through these functions. A key is
// `<kind prefix><id>`; `p/` promises, `t/` tasks, `s/` schedules. Which keys a
// request reads first and which partition a key lives in are functions of
// the request and the key alone, so every node of a mesh agrees on them.
// Two bookkeeping kinds of the outbox (protocol/outbox.ts) sit beside the
// records: `o/` entries and `r/` receipts; no listing of records sees them.

import type { Request, Write } from "./types.ts";

export type RecordKind = "promise" | "task" | "schedule";

export const KEY_PREFIX: Readonly<Record<RecordKind, string>> = { promise: "p/", task: "t/", schedule: "s/" };

const KIND_OF_PREFIX: ReadonlyMap<string, RecordKind> = new Map(
  (Object.entries(KEY_PREFIX) as [RecordKind, string][]).map(([kind, prefix]) => [prefix, kind]),
);

export function promiseKey(id: string): string {
  return KEY_PREFIX.promise + id;
}

export function taskKey(id: string): string {
  return KEY_PREFIX.task + id;
}

export function scheduleKey(id: string): string {
  return KEY_PREFIX.schedule + id;
}

export function recordKey(kind: RecordKind, id: string): string {
  return KEY_PREFIX[kind] + id;
}

/** The kind and id a key names; undefined for a key outside the layout. */
export function parseKey(key: string): { kind: RecordKind; id: string } | undefined {
  const kind = KIND_OF_PREFIX.get(key.slice(0, 2));
  return kind === undefined ? undefined : { kind, id: key.slice(2) };
}

/** The key a protocol write goes to. */
export function writeKey(write: Write): string {
  switch (write.type) {
    case "promise":
      return promiseKey(write.record.id);
    case "task":
      return taskKey(write.record.id);
    case "schedule":
      return scheduleKey(write.record.id);
    case "schedule.delete":
      return scheduleKey(write.id);
    case "outbox":
      return write.key;
  }
}

/**
 * The key prefixes under which the members of a branch may live: children
 * carry the branch id followed by '.' (our SDK, official 0.11.4) or ':'
 * (official 0.11.5); the `resonate:branch` tag decides actual membership.
 */
export function branchPrefixes(branch: string): string[] {
  return [promiseKey(`${branch}.`), promiseKey(`${branch}:`)];
}

/**
 * The keys a request will almost certainly read: the records it names
 * (promise and task of each id, the schedule of a schedule request). A hint
 * for loading in parallel up front; a step may read more, lazily. Searches
 * name no records.
 */
export function requestKeys(request: Request): string[] {
  const keys = new Set<string>();
  const promiseAndTask = (id: unknown) => {
    if (typeof id !== "string") return;
    keys.add(promiseKey(id));
    keys.add(taskKey(id));
  };
  const data = request.data as Record<string, unknown>;
  if (request.kind.endsWith(".search")) return [];
  if (request.kind.startsWith("schedule.")) {
    if (typeof data.id === "string") keys.add(scheduleKey(data.id));
    return [...keys];
  }
  promiseAndTask(data.id);
  promiseAndTask(data.awaiter);
  if (typeof data.awaited === "string") keys.add(promiseKey(data.awaited));
  const action = data.action as { data?: { id?: unknown } } | undefined;
  promiseAndTask(action?.data?.id);
  if (Array.isArray(data.actions)) {
    for (const a of data.actions as { data?: { awaited?: unknown; id?: unknown } }[]) {
      if (typeof a?.data?.awaited === "string") keys.add(promiseKey(a.data.awaited));
      promiseAndTask(a?.data?.id); // task.fence_batch's writes
    }
  }
  if (Array.isArray(data.tasks)) for (const t of data.tasks as { id?: unknown }[]) promiseAndTask(t?.id);
  return [...keys];
}

// ------------------------------------------------------------ stored units

/**
 * The keys a stream store keeps together in one message, given any of them:
 * a promise and the task of the same id; any other key alone. The writes
 * requests make together most (task.create and task.fulfill write a promise
 * and its task) are then one message, which a stream stores for the cost of
 * one where several cost an atomic batch. The first key names the unit.
 */
export function unitKeys(key: string): readonly string[] {
  const prefix = key.slice(0, 2);
  if (prefix !== KEY_PREFIX.promise && prefix !== KEY_PREFIX.task) return [key];
  const id = key.slice(2);
  return [promiseKey(id), taskKey(id)];
}

// ------------------------------------------------------------- partitions

/**
 * The root of the call tree an id belongs to, for partitioning: the id up to
 * its first '.' or ':'. Child ids extend their parent's id, so a whole tree
 * (including a dotted root such as `my.app.wf` and its `my.app.wf:1`
 * children) shares one root and so one partition.
 */
export function treeRootOf(id: string): string {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c === 0x2e || c === 0x3a) return id.slice(0, i);
  }
  return id;
}

/** The partition (0 .. partitions-1) a key lives in: a hash of its tree root. */
export function partitionOf(key: string, partitions: number): number {
  if (partitions <= 1) return 0;
  const outbox = parseOutboxKey(key);
  if (outbox !== undefined) {
    // An entry lives with its cause (same batch), a receipt with its effect.
    return outbox.kind === "entry" ? fnv1a(treeRootOf(outbox.id)) % partitions : outbox.target % partitions;
  }
  const parsed = parseKey(key);
  return fnv1a(treeRootOf(parsed === undefined ? key : parsed.id)) % partitions;
}

/** The partition of the call tree an id belongs to. */
export function partitionOfId(id: string, partitions: number): number {
  return partitions <= 1 ? 0 : fnv1a(treeRootOf(id)) % partitions;
}

// ------------------------------------------------------------ outbox keys

/** Outbox entries (`o/<target partition>/<entry id>`), kept in their cause's partition. */
export const OUTBOX_PREFIX = "o/";
/** Receipts (`r/<target partition>/<entry id>`): an entry's effect was applied; kept in the target partition. */
export const RECEIPT_PREFIX = "r/";

/**
 * The key of an outbox entry for `target` made by a step of the call tree
 * rooted at `causeRoot`; `unique` tells apart entries of one tree. The entry
 * id starts with the cause's root, so the entry lands in the cause's partition.
 */
export function outboxKey(target: number, causeRoot: string, unique: string): string {
  return `${OUTBOX_PREFIX}${target}/${causeRoot}.${unique}`;
}

/** The outbox entries (of every cause) whose effect belongs in `target`. */
export function outboxPrefix(target: number): string {
  return `${OUTBOX_PREFIX}${target}/`;
}

/** The receipt that says the entry at `entryKey` was applied. */
export function receiptKey(entryKey: string): string {
  return RECEIPT_PREFIX + entryKey.slice(OUTBOX_PREFIX.length);
}

/** The entry a receipt answers for. */
export function entryKeyOfReceipt(key: string): string {
  return OUTBOX_PREFIX + key.slice(RECEIPT_PREFIX.length);
}

/** An outbox entry or receipt key: its kind, target partition and entry id; undefined for any other key. */
export function parseOutboxKey(key: string): { kind: "entry" | "receipt"; target: number; id: string } | undefined {
  const kind = key.startsWith(OUTBOX_PREFIX) ? "entry" : key.startsWith(RECEIPT_PREFIX) ? "receipt" : undefined;
  if (kind === undefined) return undefined;
  const slash = key.indexOf("/", 2);
  if (slash < 0) return undefined;
  const target = Number(key.slice(2, slash));
  if (!Number.isInteger(target) || target < 0 || key.slice(2, slash) !== String(target)) return undefined;
  return { kind, target, id: key.slice(slash + 1) };
}

/** FNV-1a over the UTF-16 code units: stable across nodes and versions, cheap, well spread. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

// ------------------------------------------------------ subject tokens

/**
 * An id as one NATS subject token, reversibly, for any JavaScript string
 * (lone surrogates included). Letters, digits and '-' stay as they are
 * (subjects stay readable in `nats` tools); any other UTF-16 code unit below
 * 256 becomes `_` and two upper-case hex digits, any other `~` and four. The
 * empty id is `_` alone, which no encoding of a non-empty id produces.
 */
export function encodeToken(id: string): string {
  if (id.length === 0) return "_";
  // Runs of plain characters are copied whole: one string per run, not per character (every commit encodes its keys).
  let out = "";
  let run = 0;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (isPlain(c)) continue;
    out += id.slice(run, i) + (c < 0x100 ? `_${HEX[c]}` : `~${HEX[c >> 8]}${HEX[c & 0xff]}`);
    run = i + 1;
  }
  return run === 0 ? id : out + id.slice(run);
}

/** The id a token encodes; throws on a token `encodeToken` cannot have made. */
export function decodeToken(token: string): string {
  if (token === "_") return "";
  let out = "";
  let run = 0;
  for (let i = 0; i < token.length; ) {
    const c = token.charCodeAt(i);
    if (isPlain(c)) {
      i += 1;
      continue;
    }
    let unit: number;
    let length: number;
    if (c === 0x5f /* _ */ && isHex(token, i + 1, 2)) {
      unit = parseInt(token.slice(i + 1, i + 3), 16);
      // One id has one token: an escaped plain character is not an encoding.
      if (isPlain(unit)) throw new Error(`not an encoded subject token: ${token}`);
      length = 3;
    } else if (c === 0x7e /* ~ */ && isHex(token, i + 1, 4)) {
      unit = parseInt(token.slice(i + 1, i + 5), 16);
      if (unit < 0x100) throw new Error(`not an encoded subject token: ${token}`);
      length = 5;
    } else {
      throw new Error(`not an encoded subject token: ${token}`);
    }
    out += token.slice(run, i) + String.fromCharCode(unit);
    i += length;
    run = i;
  }
  return run === 0 ? token : out + token.slice(run);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, "0"));

function isPlain(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d;
}

function isHex(text: string, from: number, length: number): boolean {
  if (from + length > text.length) return false;
  for (let i = from; i < from + length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46))) return false;
  }
  return true;
}
