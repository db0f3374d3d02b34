// Which record ids a request names, and where. This is the one list the
// node's scoping (a token's `prefix` claim, api/auth.ts) and anything else
// that must know a request's reach derive from: a new request kind that is
// not added here fails to compile (the table is a Record over Kind).
//
// The request is untrusted data of any shape (scoping runs before the
// engine validates it): a field that is not a string is left out, because
// validation refuses that request with 400 anyway, and nothing here throws.

import { idListPrefix } from "./search.ts";
import { Tag, type Kind, type ProtocolError, type Request } from "./types.ts";

/**
 * How a request names records:
 * - `id`: one record by its exact id;
 * - `filter`: a search's id filter (a prefix, or a glob with `*`); empty or absent means every id;
 * - `template`: a schedule's promise id template, rendered with `{{.id}}` and `{{.timestamp}}` per tick.
 */
export type TouchMode = "id" | "filter" | "template";

export interface TouchedId {
  /** Dotted path of the field in the request, as validation errors name it (`data.action.data.id`). */
  field: string;
  /** The value as the request spells it. */
  value: string;
  mode: TouchMode;
  /** The literal start every record id this names begins with (the id itself, a filter's part before `*`, ...). */
  fixed: string;
}

/** The tags whose values are ids of the same call tree (they decide lineage and the preload). */
export const LINEAGE_TAGS = [Tag.origin, Tag.branch, Tag.parent, Tag.prefix] as const;

type Obj = Record<string, unknown>;
type Collect = (data: Obj, at: string, out: TouchedId[]) => void;

const collectors: Record<Kind, Collect> = {
  "promise.get": (d, at, out) => id(d, at, "id", out),
  "promise.create": promiseCreate,
  "promise.settle": (d, at, out) => id(d, at, "id", out),
  "promise.register_callback": (d, at, out) => {
    id(d, at, "awaited", out);
    id(d, at, "awaiter", out);
  },
  "promise.register_listener": (d, at, out) => id(d, at, "awaited", out),
  "promise.search": (d, at, out) => filter(d, at, out),
  "task.get": (d, at, out) => id(d, at, "id", out),
  "task.create": (d, at, out) => nested(d, at, "action", out),
  "task.acquire": (d, at, out) => id(d, at, "id", out),
  "task.release": (d, at, out) => id(d, at, "id", out),
  "task.suspend": (d, at, out) => {
    id(d, at, "id", out);
    const actions = d["actions"];
    if (!Array.isArray(actions)) return;
    actions.forEach((action: unknown, i) => {
      if (isObject(action)) nestedRequest(action, "promise.register_callback", `${at}.actions[${i}]`, out);
    });
  },
  "task.fulfill": (d, at, out) => {
    id(d, at, "id", out);
    nested(d, at, "action", out);
    fencedWrites(d, at, out);
  },
  "task.fence": (d, at, out) => {
    id(d, at, "id", out);
    nested(d, at, "action", out);
  },
  "task.fence_batch": (d, at, out) => {
    id(d, at, "id", out);
    fencedWrites(d, at, out);
  },
  "task.heartbeat": (d, at, out) => {
    const tasks = d["tasks"];
    if (!Array.isArray(tasks)) return;
    tasks.forEach((task: unknown, i) => {
      if (isObject(task)) id(task, `${at}.tasks[${i}]`, "id", out);
    });
  },
  "task.halt": (d, at, out) => id(d, at, "id", out),
  "task.continue": (d, at, out) => id(d, at, "id", out),
  "task.search": (d, at, out) => filter(d, at, out),
  "schedule.get": (d, at, out) => id(d, at, "id", out),
  "schedule.create": (d, at, out) => {
    id(d, at, "id", out);
    const template = d["promiseId"];
    const scheduleId = d["id"];
    if (typeof template !== "string") return;
    // Every tick's id starts with the part before the first timestamp, with {{.id}} filled in.
    const head = template.split("{{.timestamp}}", 1)[0]!;
    const fixed = typeof scheduleId === "string" ? head.replaceAll("{{.id}}", scheduleId) : head.split("{{.id}}", 1)[0]!;
    out.push({ field: `${at}.promiseId`, value: template, mode: "template", fixed });
  },
  "schedule.delete": (d, at, out) => id(d, at, "id", out),
  "schedule.search": (d, at, out) => filter(d, at, out),
};

/** The fenced writes of task.fence_batch and task.fulfill (`data.actions`). */
function fencedWrites(d: Obj, at: string, out: TouchedId[]): void {
  const actions = d["actions"];
  if (!Array.isArray(actions)) return;
  actions.forEach((action: unknown, i) => {
    if (isObject(action)) nestedRequest(action, action["kind"], `${at}.actions[${i}]`, out);
  });
}

/** Every id `request` names, with the field it came from, in request order. */
export function touchedIds(request: Request): TouchedId[] {
  const out: TouchedId[] = [];
  const r: unknown = request;
  if (!isObject(r) || typeof r["kind"] !== "string" || !isObject(r["data"])) return out;
  nestedRequest(r, r["kind"], "", out);
  return out;
}

/** The kinds `touchedIds` knows, i.e. every protocol kind (for tests that must cover them all). */
export const TOUCHING_KINDS = Object.keys(collectors) as Kind[];

/**
 * Hold a request to the ids starting with `prefix`: the request itself when
 * every id it names is in scope; for a search without an id filter, the same
 * search narrowed to the prefix; otherwise 403 naming the first id out of
 * scope, its field and the prefix.
 */
export function scopeRequest(request: Request, prefix: string): Request | ProtocolError {
  const touched = touchedIds(request);
  for (const t of touched) {
    if (t.mode === "filter" && t.value === "") continue;
    if (!t.fixed.startsWith(prefix)) return outOfScope(t, prefix);
  }
  const filtered = touched.some((t) => t.mode === "filter" && t.value !== "");
  if (isSearch(request) && !filtered && isObject(request.data)) return { ...request, data: { ...request.data, id: prefix } } as Request;
  return request;
}

export function outOfScope(touched: TouchedId, prefix: string): ProtocolError {
  const what =
    touched.mode === "id"
      ? `${touched.field} "${touched.value}" is outside`
      : touched.mode === "filter"
        ? `${touched.field} filter "${touched.value}" reaches ids outside`
        : `${touched.field} template "${touched.value}" makes ids outside`;
  return {
    status: 403,
    code: "PERMISSION_DENIED",
    message: `${what} this token's scope: it may only name ids starting with "${prefix}"`,
    field: touched.field,
  };
}

// ---------------------------------------------------------------- helpers

function nestedRequest(request: Obj, kind: unknown, at: string, out: TouchedId[]): void {
  const data = request["data"];
  if (typeof kind !== "string" || !Object.hasOwn(collectors, kind) || !isObject(data)) return;
  collectors[kind as Kind](data, at === "" ? "data" : `${at}.data`, out);
}

function nested(d: Obj, at: string, key: string, out: TouchedId[]): void {
  const action = d[key];
  if (isObject(action)) nestedRequest(action, action["kind"], `${at}.${key}`, out);
}

function promiseCreate(d: Obj, at: string, out: TouchedId[]): void {
  id(d, at, "id", out);
  const tags = d["tags"];
  if (!isObject(tags)) return;
  for (const tag of LINEAGE_TAGS) {
    const value = tags[tag];
    if (typeof value === "string") out.push({ field: `${at}.tags["${tag}"]`, value, mode: "id", fixed: value });
  }
}

function id(d: Obj, at: string, key: string, out: TouchedId[]): void {
  const value = d[key];
  if (typeof value === "string") out.push({ field: `${at}.${key}`, value, mode: "id", fixed: value });
}

function filter(d: Obj, at: string, out: TouchedId[]): void {
  const value = d["id"];
  if (value === undefined || value === null) return;
  if (typeof value === "string") out.push({ field: `${at}.id`, value, mode: "filter", fixed: idListPrefix(value) });
}

function isSearch(request: Request): boolean {
  return request.kind === "promise.search" || request.kind === "task.search" || request.kind === "schedule.search";
}

function isObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
