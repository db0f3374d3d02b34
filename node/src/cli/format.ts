// What the CLI reads from a command line (durations, JSON values, tags) and what it
// prints for people (records, tables, the call tree). Pure: `now` is an argument,
// so the same record always prints the same way.

import type { PromiseRecord, ScheduleRecord, TaskRecord, Value } from "../protocol/types.ts";
import { Tag } from "../protocol/types.ts";
import { UsageError } from "./errors.ts";

// ---------------------------------------------------------------- durations

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** `1h`, `30s`, `1m30s`, `100ms`, `1.5s`, `2d` -> milliseconds. `what` names the flag in the error. */
export function parseDuration(text: string, what = "duration"): number {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) {
    const hint = /^\d+(\.\d+)?$/.test(trimmed) ? ` needs a unit` : ` is not a duration`;
    throw new UsageError(`${what} "${text}"${hint}; use a number and a unit (ms, s, m, h, d), such as 100ms, 30s, 1m30s or 1h`);
  }
  let ms = 0;
  for (const [, amount, unit] of trimmed.matchAll(DURATION_PART)) ms += Number(amount) * UNIT_MS[unit!]!;
  return Math.round(ms);
}

/** Milliseconds for people: `350ms`, `1.25s`, `12.3s`, `1m30s`, `2h5m`, `3d4h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${trimZeros((ms / 1_000).toFixed(2))}s`;
  if (ms < 60_000) return `${trimZeros((ms / 1_000).toFixed(1))}s`;
  let rest = Math.round(ms / 1_000);
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400], ["h", 3_600], ["m", 60], ["s", 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join("");
}

function trimZeros(fixed: string): string {
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

/** An absolute time with how far it is from now: `2026-05-01T12:00:00Z (in 59m)`. */
export function formatTime(at: number | undefined, now: number): string {
  if (at === undefined || !Number.isFinite(at)) return "-";
  const iso = new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
  const delta = at - now;
  const relative = Math.abs(delta) < 1_000 ? "now" : delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
  return `${iso} (${relative})`;
}

// ---------------------------------------------------------------- values

/** Parse a JSON argument given on the command line; `what` names the flag. */
export function parseJsonArg(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const hint = /^[A-Za-z_]/.test(text.trim()) ? ` (quote strings: '"${text}"')` : "";
    throw new UsageError(`${what} ${JSON.stringify(text)} is not valid JSON${hint}`);
  }
}

/** Encode like the SDKs: base64 of the JSON text, no headers; `undefined` is empty data. */
export function encodeValue(value: unknown): Value {
  if (value === undefined) return { headers: {}, data: "" };
  return { headers: {}, data: Buffer.from(JSON.stringify(value), "utf8").toString("base64") };
}

export type Decoded = { kind: "empty" } | { kind: "json"; value: unknown } | { kind: "raw"; data: string };

/** Decode a payload the way the SDKs encode it; anything else stays raw base64. */
export function decodeValue(value: Value | undefined): Decoded {
  const data = value?.data ?? "";
  if (data === "") return { kind: "empty" };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return { kind: "raw", data };
  try {
    return { kind: "json", value: JSON.parse(Buffer.from(data, "base64").toString("utf8")) };
  } catch {
    return { kind: "raw", data };
  }
}

/** A payload on one line for people: JSON, an error as `Name: message`, or `base64:...`. */
export function renderValue(value: Value | undefined, pretty = false): string {
  const decoded = decodeValue(value);
  if (decoded.kind === "empty") return "-";
  if (decoded.kind === "raw") return `base64:${decoded.data}`;
  const v = decoded.value;
  if (isEncodedError(v)) return `${v.name ?? "Error"}: ${v.message ?? ""}`.trim();
  return pretty ? JSON.stringify(v, null, 2) : JSON.stringify(v);
}

function isEncodedError(v: unknown): v is { __type: "error"; name?: string; message?: string } {
  return typeof v === "object" && v !== null && (v as { __type?: unknown }).__type === "error";
}

/** The invocation param the SDKs and `resonate invoke` write: `{func, args, version}`. */
export interface InvocationParam {
  func: string;
  args: unknown[];
  version: number;
}

/** The function name a promise invokes, when its param says so. */
export function funcOf(promise: Pick<PromiseRecord, "param" | "tags">): string | undefined {
  if (promise.tags[Tag.timer] === "true") return "sleep";
  const decoded = decodeValue(promise.param);
  if (decoded.kind !== "json") return undefined;
  const func = (decoded.value as { func?: unknown } | null)?.func;
  if (typeof func !== "string" || func === "") return undefined;
  // The SDK's own steps (`resonate:promise`, `resonate:now`) read better without the namespace.
  return func.startsWith("resonate:") && func.length > "resonate:".length ? func.slice("resonate:".length) : func;
}

// ---------------------------------------------------------------- tags

/** `key=value` from a repeatable `--tag`. */
export function parseTag(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = text.indexOf("=");
  if (at <= 0) throw new UsageError(`--tag "${text}" is not of the form key=value`);
  return { ...previous, [text.slice(0, at)]: text.slice(at + 1) };
}

/** A JSON object of string values from `--tags '{"k":"v"}'`. */
export function parseTagsJson(text: string, what = "--tags"): Record<string, string> {
  const parsed = parseJsonArg(text, what);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${what} must be a JSON object of strings, such as '{"env":"dev"}'`);
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== "string") throw new UsageError(`${what} value of "${k}" must be a string`);
  }
  return parsed as Record<string, string>;
}

// ---------------------------------------------------------------- records for people

/** Aligned `label  value` lines; a multi-line value continues under its column. */
export function fields(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows
    .map(([label, value]) =>
      value
        .split("\n")
        .map((line, i) => `${i === 0 ? label.padEnd(width) : " ".repeat(width)}  ${line}`.trimEnd())
        .join("\n"),
    )
    .join("\n");
}

function tagLines(tags: Record<string, string>): string {
  const keys = Object.keys(tags).sort();
  return keys.length === 0 ? "-" : keys.map((k) => `${k}=${tags[k]}`).join("\n");
}

export function formatPromise(p: PromiseRecord, now: number): string {
  const rows: [string, string][] = [
    ["id", p.id],
    ["state", p.state],
  ];
  const func = funcOf(p);
  if (func !== undefined) rows.push(["func", func]);
  rows.push(["param", renderValue(p.param)]);
  rows.push(["value", p.state === "pending" ? "-" : renderValue(p.value)]);
  rows.push(["tags", tagLines(p.tags)]);
  rows.push(["created", formatTime(p.createdAt, now)]);
  rows.push(["timeout", formatTime(p.timeoutAt, now)]);
  if (p.settledAt !== undefined) rows.push(["settled", formatTime(p.settledAt, now)]);
  if (p.settledAt !== undefined) rows.push(["took", formatDuration(p.settledAt - p.createdAt)]);
  return fields(rows);
}

export function formatTask(t: TaskRecord): string {
  const rows: [string, string][] = [
    ["id", t.id],
    ["state", t.state],
    ["version", String(t.version)],
  ];
  if (t.pid !== undefined) rows.push(["pid", t.pid]);
  if (t.ttl !== undefined) rows.push(["ttl", formatDuration(t.ttl)]);
  rows.push(["resumes", t.resumes.length === 0 ? "-" : t.resumes.join("\n")]);
  return fields(rows);
}

export function formatSchedule(s: ScheduleRecord, now: number): string {
  return fields([
    ["id", s.id],
    ["cron", s.cron],
    ["promise id", s.promiseId],
    ["promise timeout", formatDuration(s.promiseTimeout)],
    ["promise param", renderValue(s.promiseParam)],
    ["promise tags", tagLines(s.promiseTags)],
    ["created", formatTime(s.createdAt, now)],
    ["next run", formatTime(s.nextRunAt, now)],
    ["last run", formatTime(s.lastRunAt, now)],
  ]);
}

/** A table with a header row; columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function ago(at: number, now: number): string {
  return now - at < 1_000 ? "now" : `${formatDuration(now - at)} ago`;
}

export function promiseTable(promises: PromiseRecord[], now: number): string {
  return table(
    ["ID", "STATE", "FUNC", "CREATED"],
    promises.map((p) => [p.id, p.state, funcOf(p) ?? "-", ago(p.createdAt, now)]),
  );
}

export function taskTable(tasks: TaskRecord[]): string {
  return table(
    ["ID", "STATE", "VERSION", "PID"],
    tasks.map((t) => [t.id, t.state, String(t.version), t.pid ?? "-"]),
  );
}

export function scheduleTable(schedules: ScheduleRecord[], now: number): string {
  return table(
    ["ID", "CRON", "PROMISE ID", "NEXT RUN"],
    schedules.map((s) => [s.id, s.cron, s.promiseId, formatTime(s.nextRunAt, now)]),
  );
}

// ---------------------------------------------------------------- the call tree

export interface TreeNode {
  promise: PromiseRecord;
  children: TreeNode[];
}

/** Compare ids so that `x.2` comes before `x.10` (child ids end in sequence numbers). */
export function compareIds(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/**
 * Link the promises of one execution along `resonate:parent`. The root is the
 * promise `rootId`; a promise whose parent is missing hangs under the root so
 * nothing found is hidden.
 */
export function buildTree(rootId: string, promises: PromiseRecord[]): TreeNode | undefined {
  const byId = new Map(promises.map((p) => [p.id, { promise: p, children: [] as TreeNode[] }]));
  const root = byId.get(rootId);
  if (root === undefined) return undefined;
  for (const node of byId.values()) {
    if (node === root) continue;
    const parentId = node.promise.tags[Tag.parent];
    const parent = parentId !== undefined && parentId !== node.promise.id ? byId.get(parentId) : undefined;
    (parent ?? root).children.push(node);
  }
  const sort = (n: TreeNode) => {
    n.children.sort((x, y) => x.promise.createdAt - y.promise.createdAt || compareIds(x.promise.id, y.promise.id));
    n.children.forEach(sort);
  };
  sort(root);
  return root;
}

/** How long a promise took, or has been pending so far. */
export function elapsed(p: PromiseRecord, now: number): string {
  return p.settledAt !== undefined ? formatDuration(p.settledAt - p.createdAt) : `${formatDuration(now - p.createdAt)} so far`;
}

/**
 * The tree as aligned lines:
 *   greet-1          greet            resolved  1.2s
 *   └── greet-1.0    format_greeting  resolved  3ms
 */
export function formatTree(root: TreeNode, now: number): string {
  const rows: string[][] = [];
  const walk = (node: TreeNode, prefix: string, branch: string) => {
    const p = node.promise;
    rows.push([`${branch}${p.id}`, funcOf(p) ?? "-", p.state, elapsed(p, now)]);
    node.children.forEach((child, i) => {
      const last = i === node.children.length - 1;
      walk(child, prefix + (last ? "    " : "│   "), prefix + (last ? "└── " : "├── "));
    });
  };
  walk(root, "", "");
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  return rows
    .map((r) => r.map((c, i) => (i < 3 ? c + " ".repeat(widths[i]! - [...c].length) : c)).join("  "))
    .join("\n");
}

/** JSON for `--json`: stable two-space indentation, one document per command. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
