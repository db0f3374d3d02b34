// Validation that needs no records. Every rule answers 400 INVALID_ARGUMENT
// with the dotted path of the field at fault and one sentence naming the
// field and the rule. Input is treated as untrusted data of any shape: this
// never throws.

import { parseAddress } from "./address.ts";
import { defaultProtocolConfig, type ProtocolConfig } from "./config.ts";
import { cronProblem } from "./cron.ts";
import { sameOrigin } from "./ids.ts";
import { MAX_FENCE_BATCH } from "./fence-batch.ts";
import { renderPromiseId } from "./schedules.ts";
import { Tag, type Kind, type ProtocolError, type Request } from "./types.ts";

export const KINDS: readonly Kind[] = [
  "promise.get",
  "promise.create",
  "promise.settle",
  "promise.register_callback",
  "promise.register_listener",
  "promise.search",
  "task.get",
  "task.create",
  "task.acquire",
  "task.release",
  "task.suspend",
  "task.fulfill",
  "task.fence",
  "task.fence_batch",
  "task.heartbeat",
  "task.halt",
  "task.continue",
  "task.search",
  "schedule.get",
  "schedule.create",
  "schedule.delete",
  "schedule.search",
];

// ------------------------------------------------------------ times

/** 2^63 - 1, the largest int64: how Go, Rust and Java programs (and our wires) say "never". */
export const INT64_MAX = 9223372036854775807n;
/**
 * "Never" inside the node, whose records hold times as JavaScript numbers:
 * every time from 2^53 - 1 ms on (the year 287396) is the same never. It
 * leaves the node as INT64_MAX, a value every int64 reader can hold.
 */
export const NEVER = Number.MAX_SAFE_INTEGER;
const BIG_NEVER = BigInt(NEVER);

/**
 * A point in time as a sender wrote it (a number, or an exact bigint from an
 * int64 field or a large JSON literal) -> the node's ms: integers from 2^53
 * up to INT64_MAX become NEVER, safe integers become numbers. Anything else
 * (negative, beyond int64, not an integer) passes through unchanged, for the
 * validation to refuse with its value.
 */
export function timeIn(v: unknown): unknown {
  if (typeof v === "bigint") {
    if (v >= BIG_NEVER && v <= INT64_MAX) return NEVER;
    return v >= -BIG_NEVER && v < BIG_NEVER ? Number(v) : v;
  }
  if (typeof v === "number" && Number.isInteger(v) && v > NEVER && v < 2 ** 63) return NEVER;
  return v;
}

/** An int64 time field (gRPC) -> the node's ms. Out-of-range values cannot occur; negatives stay for the validation. */
export function timeFromInt64(v: bigint): number {
  const ms = timeIn(v);
  return typeof ms === "number" ? ms : Number(v);
}

/** The node's ms -> an int64 on a wire: NEVER (and beyond) is INT64_MAX. */
export function timeToInt64(ms: number): bigint {
  return ms >= NEVER ? INT64_MAX : BigInt(Math.trunc(ms));
}

/** The node's ms -> a JSON number: NEVER is written as INT64_MAX (a bigint, for an exact JSON writer). */
export function timeToJson(ms: number): number | bigint {
  return ms >= NEVER ? INT64_MAX : ms;
}

export const PROMISE_STATES = ["pending", "resolved", "rejected", "rejected_canceled", "rejected_timedout"] as const;
const SETTLE_STATES = ["resolved", "rejected", "rejected_canceled"] as const;
const CREATE_SETTLED_STATES = ["resolved", "rejected"] as const;
export const TASK_STATES = ["pending", "acquired", "suspended", "halted", "fulfilled"] as const;

type Problem = ProtocolError | undefined;
type Obj = Record<string, unknown>;

/**
 * Requests found valid, with the config they were checked against. The node
 * checks a request before running it, and transition() checks it again on
 * every run (the driver re-runs a step after loading a record or losing a
 * race): the same request object under the same config needs checking once.
 * Requests are not changed after they are built, so identity is enough.
 */
const validated = new WeakMap<object, ProtocolConfig>();

export function validateRequest(request: Request, config: ProtocolConfig = defaultProtocolConfig): ProtocolError | undefined {
  if (request !== null && typeof request === "object" && validated.get(request) === config) return undefined;
  const problem = checkRequest(request, config);
  if (problem === undefined) validated.set(request, config);
  return problem;
}

function checkRequest(request: Request, config: ProtocolConfig): ProtocolError | undefined {
  const r: unknown = request;
  if (!isObject(r)) return invalid("request", `must be an object with "kind" and "data", got ${show(r)}`);
  const kind = r["kind"];
  if (typeof kind !== "string" || !(KINDS as readonly string[]).includes(kind)) {
    return invalid("kind", `must be one of ${KINDS.join(", ")}, got ${show(kind)}`);
  }
  const data = r["data"];
  if (!isObject(data)) return invalid("data", `must be an object, got ${show(data)}`);
  return byKind[kind as Kind](data, config);
}

const byKind: Record<Kind, (d: Obj, c: ProtocolConfig) => Problem> = {
  "promise.get": (d, c) => id(d, "data", "id", c),
  "promise.create": (d, c) => promiseCreate(d, "data", c, false),
  "promise.settle": (d, c) => promiseSettle(d, "data", c),
  "promise.register_callback": (d, c) => registerCallback(d, "data", c),
  "promise.register_listener": (d, c) => id(d, "data", "awaited", c) ?? address(d["address"], "data.address", c),
  "promise.search": (d, c) =>
    optionalEnum(d["state"], "data.state", PROMISE_STATES) ?? optionalTags(d["tags"], "data.tags", c) ?? searchCommon(d, c),
  "task.get": (d, c) => id(d, "data", "id", c),
  "task.create": (d, c) => taskCreate(d, c),
  "task.acquire": (d, c) =>
    id(d, "data", "id", c) ?? version(d) ?? nonEmpty(d["pid"], "data.pid") ?? ttl(d["ttl"], "data.ttl", c),
  "task.release": (d, c) => id(d, "data", "id", c) ?? version(d),
  "task.suspend": (d, c) => taskSuspend(d, c),
  "task.fulfill": (d, c) => taskFulfill(d, c),
  "task.fence": (d, c) => taskFence(d, c),
  "task.fence_batch": (d, c) => taskFenceBatch(d, c),
  "task.heartbeat": (d, c) => taskHeartbeat(d, c),
  "task.halt": (d, c) => id(d, "data", "id", c),
  "task.continue": (d, c) => id(d, "data", "id", c),
  "task.search": (d, c) => optionalEnum(d["state"], "data.state", TASK_STATES) ?? searchCommon(d, c),
  "schedule.get": (d, c) => id(d, "data", "id", c),
  "schedule.create": (d, c) => scheduleCreate(d, c),
  "schedule.delete": (d, c) => id(d, "data", "id", c),
  "schedule.search": (d, c) => optionalTags(d["tags"], "data.tags", c) ?? searchCommon(d, c),
};

// ------------------------------------------------------------ per kind

function promiseCreate(d: Obj, at: string, c: ProtocolConfig, inTaskCreate: boolean): Problem {
  const problem =
    id(d, at, "id", c) ??
    time(d["timeoutAt"], `${at}.timeoutAt`, c) ??
    optionalValue(d["param"], `${at}.param`, c) ??
    optionalTags(d["tags"], `${at}.tags`, c);
  if (problem) return problem;
  const tags = (d["tags"] ?? {}) as Record<string, string>;
  const target = tags[Tag.target];
  const targetField = `${at}.tags["${Tag.target}"]`;
  if (target !== undefined) {
    const p = address(target, targetField, c);
    if (p) return p;
  } else if (inTaskCreate) {
    return invalid(targetField, "is required: task.create makes a task, and only a promise with a target has one");
  }
  const delay = tags[Tag.delay];
  if (delay !== undefined) {
    const field = `${at}.tags["${Tag.delay}"]`;
    if (inTaskCreate) return invalid(field, "is not allowed in task.create: the caller runs the task now");
    if (target === undefined) return invalid(field, `needs ${Tag.target}: only a targeted promise has an execute to defer`);
    if (!/^\d+$/.test(delay) || !Number.isSafeInteger(Number(delay))) {
      return invalid(field, `must be an integer number of ms since the epoch, got ${show(delay)}`);
    }
    if (Number(delay) >= (d["timeoutAt"] as number)) {
      return invalid(field, `must be before timeoutAt (${d["timeoutAt"]}), got ${delay}`);
    }
  }
  const settled = d["settled"];
  if (settled !== undefined) {
    const field = `${at}.settled`;
    if (!isObject(settled)) return invalid(field, `must be an object {state, value}, got ${show(settled)}`);
    const p =
      enumValue(settled["state"], `${field}.state`, CREATE_SETTLED_STATES) ??
      optionalValue(settled["value"], `${field}.value`, c);
    if (p) return p;
    if (target !== undefined) {
      return invalid(field, `cannot be combined with ${Tag.target}: a targeted promise is settled by its task`);
    }
  }
  return undefined;
}

function promiseSettle(d: Obj, at: string, c: ProtocolConfig): Problem {
  return (
    id(d, at, "id", c) ??
    enumValue(d["state"], `${at}.state`, SETTLE_STATES) ??
    optionalValue(d["value"], `${at}.value`, c)
  );
}

function registerCallback(d: Obj, at: string, c: ProtocolConfig): Problem {
  const problem = id(d, at, "awaited", c) ?? id(d, at, "awaiter", c);
  if (problem) return problem;
  const awaited = d["awaited"] as string;
  const awaiter = d["awaiter"] as string;
  if (awaited === awaiter) return invalid(`${at}.awaited`, `must differ from the awaiter: a promise cannot await itself, got "${awaited}"`);
  if (c.requireSameOrigin && !sameOrigin(awaited, awaiter)) {
    return invalid(`${at}.awaited`, `must belong to the same origin as the awaiter "${awaiter}", got "${awaited}"`);
  }
  return undefined;
}

function taskCreate(d: Obj, c: ProtocolConfig): Problem {
  const problem = nonEmpty(d["pid"], "data.pid") ?? ttl(d["ttl"], "data.ttl", c);
  if (problem) return problem;
  const action = nested(d["action"], "data.action", ["promise.create"]);
  if ("problem" in action) return action.problem;
  return promiseCreate(action.data, "data.action.data", c, true);
}

function taskSuspend(d: Obj, c: ProtocolConfig): Problem {
  const problem = id(d, "data", "id", c) ?? version(d);
  if (problem) return problem;
  const taskId = d["id"] as string;
  const actions = d["actions"];
  if (!Array.isArray(actions) || actions.length === 0) {
    return invalid("data.actions", `must be a non-empty array of promise.register_callback actions, got ${show(actions)}`);
  }
  for (let i = 0; i < actions.length; i++) {
    const at = `data.actions[${i}]`;
    const action = nested(actions[i], at, ["promise.register_callback"]);
    if ("problem" in action) return action.problem;
    const awaiter = action.data["awaiter"];
    if (awaiter !== taskId) return invalid(`${at}.data.awaiter`, `must be the task id "${taskId}", got ${show(awaiter)}`);
    const p = registerCallback(action.data, `${at}.data`, c);
    if (p) return p;
  }
  return undefined;
}

function taskFulfill(d: Obj, c: ProtocolConfig): Problem {
  const problem = id(d, "data", "id", c) ?? version(d);
  if (problem) return problem;
  const action = nested(d["action"], "data.action", ["promise.settle"]);
  if ("problem" in action) return action.problem;
  const p = promiseSettle(action.data, "data.action.data", c);
  if (p) return p;
  if (action.data["id"] !== d["id"]) {
    return invalid(
      "data.action.data.id",
      `must be the task id "${d["id"]}": a task fulfils its own promise, got ${show(action.data["id"])}`,
    );
  }
  // Our extension: fenced writes carried by the fulfill, checked as a batch's.
  return d["actions"] === undefined ? undefined : fencedActions(d["actions"], d["id"] as string, c, 0);
}

function taskFence(d: Obj, c: ProtocolConfig): Problem {
  const problem = id(d, "data", "id", c) ?? version(d);
  if (problem) return problem;
  return fencedAction(d["action"], "data.action", d["id"] as string, c);
}

/** One write of task.fence or task.fence_batch: a create or settle of another promise than the task's. */
function fencedAction(v: unknown, at: string, taskId: string, c: ProtocolConfig): Problem {
  const action = nested(v, at, ["promise.create", "promise.settle"]);
  if ("problem" in action) return action.problem;
  const p =
    (v as Obj)["kind"] === "promise.create"
      ? promiseCreate(action.data, `${at}.data`, c, false)
      : promiseSettle(action.data, `${at}.data`, c);
  if (p) return p;
  if (action.data["id"] === taskId) {
    return invalid(`${at}.data.id`, `must differ from the task id "${taskId}": a task settles its own promise with task.fulfill`);
  }
  return undefined;
}

function taskFenceBatch(d: Obj, c: ProtocolConfig): Problem {
  const problem = id(d, "data", "id", c) ?? version(d);
  if (problem) return problem;
  return fencedActions(d["actions"], d["id"] as string, c, 1);
}

/** The writes of task.fence_batch (at least one) or task.fulfill (possibly none): each a fenced write. */
function fencedActions(actions: unknown, taskId: string, c: ProtocolConfig, min: 0 | 1): Problem {
  if (!Array.isArray(actions) || actions.length < min) {
    const what = min === 0 ? "an array" : "a non-empty array";
    return invalid("data.actions", `must be ${what} of promise.create or promise.settle actions, got ${show(actions)}`);
  }
  if (actions.length > MAX_FENCE_BATCH) {
    return invalid("data.actions", `must hold at most ${MAX_FENCE_BATCH} actions, got ${actions.length}`);
  }
  for (let i = 0; i < actions.length; i++) {
    const p = fencedAction(actions[i], `data.actions[${i}]`, taskId, c);
    if (p) return p;
  }
  return undefined;
}

function taskHeartbeat(d: Obj, c: ProtocolConfig): Problem {
  const problem = nonEmpty(d["pid"], "data.pid");
  if (problem) return problem;
  const tasks = d["tasks"];
  if (!Array.isArray(tasks) || tasks.length === 0) {
    return invalid("data.tasks", `must be a non-empty array of {id, version}, got ${show(tasks)}`);
  }
  if (tasks.length > c.maxHeartbeatTasks) {
    return invalid("data.tasks", `must name at most ${c.maxHeartbeatTasks} tasks per heartbeat, got ${tasks.length}; send several`);
  }
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i];
    const at = `data.tasks[${i}]`;
    if (!isObject(t)) return invalid(at, `must be an object {id, version}, got ${show(t)}`);
    const p = id(t, at, "id", c) ?? integer(t["version"], `${at}.version`, 0, Number.MAX_SAFE_INTEGER);
    if (p) return p;
  }
  return undefined;
}

function scheduleCreate(d: Obj, c: ProtocolConfig): Problem {
  const problem = id(d, "data", "id", c);
  if (problem) return problem;
  const scheduleId = d["id"] as string;
  if (scheduleId.includes(".")) {
    return invalid("data.id", `must not contain '.', which separates the ids of child promises, got "${scheduleId}"`);
  }
  const cron = d["cron"];
  if (typeof cron !== "string") return invalid("data.cron", `must be a cron expression string, got ${show(cron)}`);
  const cronIssue = cronProblem(cron);
  if (cronIssue) return invalid("data.cron", `${cronIssue}, got ${show(cron)}`);
  const template = d["promiseId"];
  if (typeof template !== "string" || template.length === 0) {
    return invalid("data.promiseId", `must be a non-empty id template (with {{.id}} and {{.timestamp}}), got ${show(template)}`);
  }
  const sample = renderPromiseId(template, scheduleId, 9_999_999_999_999);
  if (sample.includes("\0")) return invalid("data.promiseId", "must not contain a NUL byte");
  if (sample.length > c.maxIdLength) {
    return invalid("data.promiseId", `must render ids of at most ${c.maxIdLength} characters, got ${sample.length}`);
  }
  const p =
    integer(d["promiseTimeout"], "data.promiseTimeout", 0, c.maxPromiseTimeoutMs, " (ms)") ??
    optionalValue(d["promiseParam"], "data.promiseParam", c) ??
    optionalTags(d["promiseTags"], "data.promiseTags", c);
  if (p) return p;
  const tags = (d["promiseTags"] ?? {}) as Record<string, string>;
  const targetField = `data.promiseTags["${Tag.target}"]`;
  if (tags[Tag.target] === undefined) {
    return invalid(targetField, "is required: each tick creates a promise whose task runs at that address");
  }
  const a = address(tags[Tag.target], targetField, c);
  if (a) return a;
  if (tags[Tag.delay] !== undefined) {
    return invalid(`data.promiseTags["${Tag.delay}"]`, "is not allowed: an absolute time cannot repeat with each tick");
  }
  return undefined;
}

function searchCommon(d: Obj, c: ProtocolConfig): Problem {
  const pattern = d["id"];
  if (pattern !== undefined) {
    if (typeof pattern !== "string") return invalid("data.id", `must be an id prefix or a glob with '*', got ${show(pattern)}`);
    if (pattern.length > c.maxIdLength) {
      return invalid("data.id", `must be at most ${c.maxIdLength} characters long, got ${pattern.length}`);
    }
  }
  if (d["limit"] !== undefined) {
    const p = integer(d["limit"], "data.limit", 1, c.maxSearchLimit);
    if (p) return p;
  }
  const cursor = d["cursor"];
  if (cursor !== undefined && typeof cursor !== "string") {
    return invalid("data.cursor", `must be the cursor string of a previous page, got ${show(cursor)}`);
  }
  return undefined;
}

// ------------------------------------------------------------ fields

function invalid(field: string, rule: string): ProtocolError {
  return { status: 400, code: "INVALID_ARGUMENT", field, message: `${field} ${rule}` };
}

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A short description of a bad value for a message. */
function show(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "string") return v.length > 60 ? `${JSON.stringify(v.slice(0, 60))}...` : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return `a${typeof v === "object" ? "n object" : ` ${typeof v}`}`;
}

function id(d: Obj, at: string, key: string, c: ProtocolConfig): Problem {
  const field = `${at}.${key}`;
  const v = d[key];
  if (typeof v !== "string") return invalid(field, `must be a non-empty string, got ${show(v)}`);
  if (v.length === 0) return invalid(field, "must not be empty");
  if (v.includes("\0")) return invalid(field, "must not contain a NUL byte");
  if (v.length > c.maxIdLength) return invalid(field, `must be at most ${c.maxIdLength} characters long, got ${v.length}`);
  if (!isWellFormed(v)) return invalid(field, NOT_UNICODE);
  return undefined;
}

function nonEmpty(v: unknown, field: string): Problem {
  if (typeof v !== "string") return invalid(field, `must be a non-empty string, got ${show(v)}`);
  if (v.length === 0) return invalid(field, "must not be empty");
  if (v.includes("\0")) return invalid(field, "must not contain a NUL byte");
  if (!isWellFormed(v)) return invalid(field, NOT_UNICODE);
  return undefined;
}

function integer(v: unknown, field: string, min: number, max: number, unit = ""): Problem {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    return invalid(field, `must be an integer between ${min} and ${max}${unit}, got ${show(v)}`);
  }
  return undefined;
}

/** An absolute time: ms since the epoch, any non-negative int64 (see timeIn: the large ones mean never). */
function time(v: unknown, field: string, c: ProtocolConfig): Problem {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > c.maxTimeoutAt) {
    const max = c.maxTimeoutAt >= NEVER ? `${INT64_MAX} (ms since the epoch; from 2^53 on it means never)` : `${c.maxTimeoutAt} (ms since the epoch)`;
    return invalid(field, `must be an integer between 0 and ${max}, got ${show(v)}`);
  }
  return undefined;
}

function version(d: Obj): Problem {
  return integer(d["version"], "data.version", 0, Number.MAX_SAFE_INTEGER);
}

function ttl(v: unknown, field: string, c: ProtocolConfig): Problem {
  return integer(v, field, 1, c.maxTtlMs, " (ms)");
}

function enumValue(v: unknown, field: string, allowed: readonly string[]): Problem {
  if (typeof v !== "string" || !allowed.includes(v)) {
    return invalid(field, `must be one of ${allowed.join(", ")}, got ${show(v)}`);
  }
  return undefined;
}

function optionalEnum(v: unknown, field: string, allowed: readonly string[]): Problem {
  return v === undefined ? undefined : enumValue(v, field, allowed);
}

function optionalTags(v: unknown, field: string, c: ProtocolConfig): Problem {
  if (v === undefined) return undefined;
  if (!isObject(v)) return invalid(field, `must be an object of string values, got ${show(v)}`);
  const entries = Object.entries(v);
  if (entries.length > c.maxTags) return invalid(field, `must have at most ${c.maxTags} entries, got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length === 0) return invalid(field, "must not have an empty key");
    if (typeof value !== "string") return invalid(`${field}["${key}"]`, `must be a string, got ${show(value)}`);
    if (key.length + value.length > c.maxTagLength) {
      return invalid(`${field}["${key.slice(0, 64)}"]`, `key and value must be at most ${c.maxTagLength} characters together, got ${key.length + value.length}`);
    }
    if (!isWellFormed(key) || !isWellFormed(value)) return invalid(`${field}["${key.slice(0, 64)}"]`, NOT_UNICODE);
  }
  return undefined;
}

/** Unpaired UTF-16 surrogates have no UTF-8 form: gRPC (and JetStream subjects) could not carry them. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NOT_UNICODE = "must be well-formed Unicode (it contains an unpaired UTF-16 surrogate)";

/** Does `s` have a UTF-8 encoding (no unpaired surrogate)? */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

function address(v: unknown, field: string, c?: ProtocolConfig): Problem {
  if (typeof v !== "string") return invalid(field, `must be an address string, got ${show(v)}`);
  const max = c?.maxAddressLength ?? Infinity;
  if (v.length > max) return invalid(field, `must be at most ${max} characters long, got ${v.length}`);
  if (!isWellFormed(v)) return invalid(field, NOT_UNICODE);
  const parsed = parseAddress(v);
  return typeof parsed === "string" ? invalid(field, `must be a valid address: ${parsed}`) : undefined;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function optionalValue(v: unknown, field: string, c: ProtocolConfig): Problem {
  if (v === undefined) return undefined;
  if (!isObject(v)) return invalid(field, `must be an object {headers, data}, got ${show(v)}`);
  const headers = optionalTags(v["headers"], `${field}.headers`, c);
  if (headers) return headers;
  const data = v["data"];
  if (data === undefined) return undefined;
  if (typeof data !== "string") return invalid(`${field}.data`, `must be a base64 string, got ${show(data)}`);
  const unpadded = data.endsWith("==") ? data.slice(0, -2) : data.endsWith("=") ? data.slice(0, -1) : data;
  const wellFormed =
    BASE64.test(data) &&
    !unpadded.includes("=") &&
    unpadded.length % 4 !== 1 &&
    (unpadded.length === data.length || data.length % 4 === 0);
  if (!wellFormed) return invalid(`${field}.data`, "must be base64 (standard or URL-safe alphabet, optional padding)");
  const bytes = Math.floor((unpadded.length * 3) / 4);
  if (bytes > c.maxPayloadBytes) {
    return invalid(`${field}.data`, `must decode to at most ${c.maxPayloadBytes} bytes, got ${bytes}`);
  }
  return undefined;
}

/** A nested request envelope of one of `kinds`: its data, or the problem. */
function nested(v: unknown, field: string, kinds: readonly string[]): { data: Obj } | { problem: ProtocolError } {
  if (!isObject(v)) {
    return { problem: invalid(field, `must be a ${kinds.join(" or ")} request {kind, data}, got ${show(v)}`) };
  }
  const kind = v["kind"];
  if (typeof kind !== "string" || !kinds.includes(kind)) {
    return { problem: invalid(`${field}.kind`, `must be ${kinds.join(" or ")}, got ${show(kind)}`) };
  }
  const data = v["data"];
  if (!isObject(data)) return { problem: invalid(`${field}.data`, `must be an object, got ${show(data)}`) };
  return { data };
}
