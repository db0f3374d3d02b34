// Decoding a JSON envelope `{kind, head, data}` into a protocol request.
//
// Only the envelope itself is checked here (a JSON object, head.corrId,
// head.version, a known kind, an object data). The data is reshaped, not
// judged: known fields are copied, the wire's defaults filled in (a payload
// `{headers: {}, data: ""}`, tags `{}`), nested requests stripped of their
// head, JSON nulls read as absent. Every rule about the fields (types, ids,
// ranges, addresses, lineage) is the protocol's validation, which the engine
// runs on every request of either transport before it touches state.

import { PROTOCOL_VERSION } from "../../protocol/types.ts";
import type { Kind, Request } from "../../protocol/types.ts";
import { timeIn } from "../../protocol/validate.ts";

export const SUPPORTED_VERSIONS: readonly string[] = [PROTOCOL_VERSION];

export const DEBUG_KINDS = ["debug.start", "debug.reset", "debug.tick", "debug.snap", "debug.stop"] as const;
export type DebugKind = (typeof DEBUG_KINDS)[number];

/** An envelope that cannot become a request; answered with `status` and the sentence. */
export class EnvelopeError extends Error {
  constructor(
    readonly status: 400 | 403 | 501,
    message: string,
  ) {
    super(message);
    this.name = "EnvelopeError";
  }
}

export interface DecodedEnvelope {
  kind: Kind;
  corrId: string;
  request: Request;
  /** `task.fence` answers with a response envelope echoing its inner request's corrId. */
  innerCorrId?: string;
  /** `task.fence_batch`, `task.fulfill` with actions: the corrId each inner answer echoes, one per action (the outer one when an action has none). */
  innerCorrIds?: string[];
}

export interface DecodedDebug {
  kind: DebugKind;
  corrId: string;
}

/** What can be echoed back even when decoding fails: best effort, never throws. */
export function echoOf(body: unknown): { kind: string; corrId: string } {
  const obj = isObject(body) ? body : {};
  const head = isObject(obj.head) ? obj.head : {};
  return {
    kind: typeof obj.kind === "string" ? obj.kind : "",
    corrId: typeof head.corrId === "string" ? head.corrId : "",
  };
}

/** Decode a parsed JSON body; throws EnvelopeError naming what is wrong. */
export function decodeEnvelope(body: unknown): DecodedEnvelope | DecodedDebug {
  if (!isObject(body)) {
    throw new EnvelopeError(400, `the request body must be a JSON object {kind, head, data}, got ${describe(body)}`);
  }
  if (body.head === undefined || body.head === null) {
    throw new EnvelopeError(400, "head is required: an object with corrId and version");
  }
  if (!isObject(body.head)) {
    throw new EnvelopeError(400, `head must be an object with corrId and version, got ${describe(body.head)}`);
  }
  const head = body.head;
  if (head.corrId === undefined || head.corrId === null) {
    throw new EnvelopeError(400, "head.corrId is required: a string the answer echoes");
  }
  if (typeof head.corrId !== "string") {
    throw new EnvelopeError(400, `head.corrId must be a string, got ${describe(head.corrId)}`);
  }
  if (typeof head.version !== "string" || !SUPPORTED_VERSIONS.includes(head.version)) {
    // Not JSON.stringify of any value: a deeply nested one overflows the stack (and a long one floods the answer).
    const got = head.version === undefined ? "none" : typeof head.version === "string" ? JSON.stringify(head.version) : describe(head.version);
    throw new EnvelopeError(
      400,
      `unsupported protocol version ${got} in head.version; this node supports ${SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(", ")}`,
    );
  }
  if (typeof body.kind !== "string" || body.kind.length === 0) {
    throw new EnvelopeError(400, `kind is required: one of ${KNOWN_KINDS.join(", ")}`);
  }
  const kind = body.kind;
  if (!isObject(body.data)) {
    throw new EnvelopeError(400, `data must be a JSON object, got ${describe(body.data)}`);
  }
  if ((DEBUG_KINDS as readonly string[]).includes(kind)) {
    return { kind: kind as DebugKind, corrId: head.corrId };
  }
  if (!Object.hasOwn(MAPPERS, kind)) {
    throw new EnvelopeError(400, `unknown kind "${kind}"; expected one of ${KNOWN_KINDS.join(", ")}`);
  }
  const k = kind as Kind;
  // The protocol validates the shape; the cast only names what it will check.
  const request = { kind: k, data: MAPPERS[k](body.data) } as Request;
  const decoded: DecodedEnvelope = { kind: k, corrId: head.corrId, request };
  if (k === "task.fence") decoded.innerCorrId = nestedCorrId(body.data.action) ?? head.corrId;
  if ((k === "task.fence_batch" || k === "task.fulfill") && Array.isArray(body.data.actions)) {
    const outer = head.corrId;
    decoded.innerCorrIds = body.data.actions.map((a) => nestedCorrId(a) ?? outer);
  }
  return decoded;
}

export function isDebug(d: DecodedEnvelope | DecodedDebug): d is DecodedDebug {
  return !("request" in d);
}

// ---------------------------------------------------------------- per kind

type Obj = Record<string, unknown>;

const MAPPERS: Record<Kind, (d: Obj) => Obj> = {
  "promise.get": (d) => pick(d, ["id"]),
  "promise.create": promiseCreate,
  "promise.settle": promiseSettle,
  "promise.register_callback": (d) => pick(d, ["awaited", "awaiter"]),
  "promise.register_listener": (d) => pick(d, ["awaited", "address"]),
  "promise.search": (d) => pick(d, ["state", "tags", "id", "limit", "cursor"]),
  "task.get": (d) => pick(d, ["id"]),
  "task.create": (d) => ({ ...pick(d, ["pid", "ttl"]), ...nestedField(d, "action") }),
  "task.acquire": (d) => pick(d, ["id", "version", "pid", "ttl"]),
  "task.release": (d) => pick(d, ["id", "version"]),
  "task.suspend": (d) => {
    const out = pick(d, ["id", "version"]);
    if (present(d.actions)) out.actions = Array.isArray(d.actions) ? d.actions.map(nested) : d.actions;
    return out;
  },
  "task.fulfill": (d) => {
    const out: Obj = { ...pick(d, ["id", "version"]), ...nestedField(d, "action") };
    // Our extension: fenced writes carried by the fulfill, each an envelope as in task.fence_batch.
    if (present(d.actions)) out.actions = Array.isArray(d.actions) ? d.actions.map(nested) : d.actions;
    return out;
  },
  "task.fence": (d) => ({ ...pick(d, ["id", "version"]), ...nestedField(d, "action") }),
  // Our extension: several fenced writes, each an envelope like task.fence's action.
  "task.fence_batch": (d) => {
    const out = pick(d, ["id", "version"]);
    if (present(d.actions)) out.actions = Array.isArray(d.actions) ? d.actions.map(nested) : d.actions;
    return out;
  },
  "task.heartbeat": (d) => {
    const out = pick(d, ["pid"]);
    if (present(d.tasks)) {
      out.tasks = Array.isArray(d.tasks) ? d.tasks.map((t) => (isObject(t) ? pick(t, ["id", "version"]) : t)) : d.tasks;
    }
    return out;
  },
  "task.halt": (d) => pick(d, ["id"]),
  "task.continue": (d) => pick(d, ["id"]),
  "task.search": (d) => pick(d, ["state", "id", "limit", "cursor"]),
  "schedule.get": (d) => pick(d, ["id"]),
  "schedule.create": (d) => ({
    ...pick(d, ["id", "cron", "promiseId", "promiseTimeout"]),
    promiseParam: value(d.promiseParam),
    promiseTags: tags(d.promiseTags),
  }),
  "schedule.delete": (d) => pick(d, ["id"]),
  "schedule.search": (d) => pick(d, ["tags", "id", "limit", "cursor"]),
};

/** Every protocol kind this node serves, for error messages. */
export const KNOWN_KINDS: readonly string[] = Object.keys(MAPPERS);

function promiseCreate(d: Obj): Obj {
  const out: Obj = { ...pick(d, ["id", "timeoutAt"]), param: value(d.param), tags: tags(d.tags) };
  // An int64 time (exact, from json.ts) as the node holds it; the validation judges the rest.
  if (present(out.timeoutAt)) out.timeoutAt = timeIn(out.timeoutAt);
  // Our extension (a completed step recorded in one call); the official SDK never sends it.
  if (present(d.settled)) {
    const s = d.settled;
    out.settled = isObject(s) ? { ...pick(s, ["state"]), value: value(s.value) } : s;
  }
  return out;
}

function promiseSettle(d: Obj): Obj {
  return { ...pick(d, ["id", "state"]), value: value(d.value) };
}

const NESTED: Record<string, (d: Obj) => Obj> = {
  "promise.create": promiseCreate,
  "promise.settle": promiseSettle,
  "promise.register_callback": (d) => pick(d, ["awaited", "awaiter"]),
};

function nestedField(d: Obj, name: string): Obj {
  return present(d[name]) ? { [name]: nested(d[name]) } : {};
}

/** A request nested in another (`action`, `actions[i]`) is an envelope too; its head has no meaning inside. */
function nested(v: unknown): unknown {
  if (!isObject(v)) return v;
  const mapper = typeof v.kind === "string" && Object.hasOwn(NESTED, v.kind) ? NESTED[v.kind] : undefined;
  const data = isObject(v.data) && mapper ? mapper(v.data) : v.data;
  return { kind: v.kind, data };
}

function nestedCorrId(raw: unknown): string | undefined {
  if (!isObject(raw) || !isObject(raw.head)) return undefined;
  return typeof raw.head.corrId === "string" ? raw.head.corrId : undefined;
}

/** A payload; absent parts become `{}` and `""`, as the SDK's own encoder writes them. */
function value(v: unknown): unknown {
  if (!present(v)) return { headers: {}, data: "" };
  if (!isObject(v)) return v;
  return { headers: present(v.headers) ? v.headers : {}, data: present(v.data) ? v.data : "" };
}

function tags(v: unknown): unknown {
  return present(v) ? v : {};
}

/** The listed fields that are present; JSON null counts as absent. */
function pick(d: Obj, keys: readonly string[]): Obj {
  const out: Obj = {};
  for (const key of keys) if (present(d[key])) out[key] = d[key];
  return out;
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "bigint") return `number ${v}`;
  if (typeof v === "string") return v.length > 40 ? `the string ${JSON.stringify(v.slice(0, 40))}...` : `the string ${JSON.stringify(v)}`;
  if (v === undefined) return "nothing";
  return `${typeof v} ${String(v)}`;
}
