// Values on the wire: `Value.data` is base64 of JSON, like the official SDK's,
// so both SDKs read each other's promises. JSON cannot carry bigint, Date,
// undefined, Map, Set, Error, NaN or bytes, so those travel as tagged objects
// `{"__type": ...}`; errors use the official SDK's exact shape
// `{__type:"error", name, message, stack}`. Anything else (functions, symbols,
// class instances without toJSON, cycles) is refused with the value's path,
// never silently dropped or mangled.

import type { Value } from "@resonate-mesh/node/protocol";
import { notDeserializable, notSerializable } from "./errors.ts";

export interface Codec {
  /** `path` names the value in error messages (`args[1].when`); `promiseId` the promise it belongs to. */
  encode(value: unknown, path?: string, promiseId?: string): Value;
  decode(value: Value | undefined, promiseId?: string): unknown;
}

// The official SDK's encoding of infinities, kept for interoperability.
const INF = "__INF__";
const NEG_INF = "__NEG_INF__";

const ERROR_TYPES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export class JsonCodec implements Codec {
  encode(value: unknown, path = "value", promiseId?: string): Value {
    if (value === undefined) return { headers: {}, data: "" };
    // Most values (an invocation, a step's result) are plain JSON: stringified as they are, no tagged copy made.
    const json = JSON.stringify(isPlainJson(value, 0) ? value : new Encoder(path, promiseId).encode(value));
    return { headers: {}, data: Buffer.from(json, "utf8").toString("base64") };
  }

  decode(value: Value | undefined, promiseId?: string): unknown {
    if (value === undefined || value.data === undefined || value.data === "") return undefined;
    let parsed: Json;
    try {
      parsed = JSON.parse(Buffer.from(value.data, "base64").toString("utf8")) as Json;
    } catch (err) {
      throw notDeserializable("its data is not base64-encoded JSON", promiseId, err);
    }
    return fromJson(parsed);
  }
}

/** Deeper values take the Encoder, which also finds cycles. */
const PLAIN_DEPTH = 32;

/**
 * Whether JSON.stringify gives `value` exactly as the Encoder would: strings,
 * booleans, null, finite numbers other than -0, dense arrays and plain objects
 * of those, no object with its own `__type`. Allocates nothing.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object":
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= PLAIN_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.prototype.hasOwnProperty.call(value, "__type")) return false;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

export const defaultCodec: Codec = new JsonCodec();

function member(path: string, key: string): string {
  if (path === "") return key;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function describe(value: unknown): string {
  if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
  if (typeof value === "symbol") return `a symbol (${String(value)})`;
  const ctor = (value as object).constructor?.name;
  if (value instanceof Promise) return "a Promise (await it first and pass its value)";
  return `an instance of ${ctor ?? "an unknown class"}, which has no toJSON()`;
}

/** One step from a value to a part of it: an object key, or a literal suffix such as `[2]` or `.cause`. */
type Step = { key: string } | string;

/**
 * Encodes one value. The path of the part being encoded (`args[1].when`) is
 * only needed to name a part that cannot be encoded, so it is kept as steps
 * and spelled out only then: encoding runs for every argument and result.
 */
class Encoder {
  private readonly seen = new Set<object>();
  private readonly steps: Step[] = [];

  constructor(
    private readonly root: string,
    private readonly promiseId: string | undefined,
  ) {}

  encode(value: unknown): Json {
    switch (typeof value) {
      case "undefined":
        return { __type: "undefined" };
      case "boolean":
      case "string":
        return value;
      case "number":
        if (Number.isNaN(value)) return { __type: "number", value: "NaN" };
        if (value === Infinity) return INF;
        if (value === -Infinity) return NEG_INF;
        if (Object.is(value, -0)) return { __type: "number", value: "-0" };
        return value;
      case "bigint":
        return { __type: "bigint", value: value.toString() };
      case "function":
      case "symbol":
        throw this.refuse(describe(value));
    }
    if (value === null) return null;
    const obj = value as object;
    if (this.seen.has(obj)) throw this.refuse("a circular reference (the value contains itself)");
    this.seen.add(obj);
    try {
      return this.object(obj);
    } finally {
      this.seen.delete(obj);
    }
  }

  /** Encode `value` as the part of the current value reached by `step`. */
  private part(value: unknown, step: Step): Json {
    this.steps.push(step);
    try {
      return this.encode(value);
    } finally {
      this.steps.pop();
    }
  }

  private object(obj: object): Json {
    if (Array.isArray(obj)) {
      const out: Json[] = [];
      for (let i = 0; i < obj.length; i++) out.push(this.part(obj[i], `[${i}]`));
      return out;
    }
    if (obj instanceof Date) {
      const time = obj.getTime();
      return { __type: "date", value: Number.isNaN(time) ? null : obj.toISOString() };
    }
    if (obj instanceof Error) return this.error(obj);
    if (obj instanceof Map) {
      let i = 0;
      const entries: Json[] = [];
      for (const [k, v] of obj) {
        entries.push([this.part(k, `<map key ${i}>`), this.part(v, `<map value ${i}>`)]);
        i++;
      }
      return { __type: "map", entries };
    }
    if (obj instanceof Set) {
      let i = 0;
      const values: Json[] = [];
      for (const v of obj) values.push(this.part(v, `<set element ${i++}>`));
      return { __type: "set", values };
    }
    if (obj instanceof Uint8Array) {
      return { __type: "bytes", value: Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString("base64") };
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const toJSON = (obj as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") return this.encode(toJSON.call(obj));
      throw this.refuse(describe(obj));
    }
    // fromEntries defines own properties: a key "__proto__" stays a key, not a prototype.
    const out: { [key: string]: Json } = Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, this.part(v, { key: k })]));
    // A plain object that has its own `__type` key is wrapped, so it is not mistaken for a tag.
    return "__type" in out ? { __type: "object", value: out } : out;
  }

  private error(err: Error): Json {
    const out: { [key: string]: Json } = {
      __type: err instanceof AggregateError ? "aggregate_error" : "error",
      name: err.name,
      message: err.message,
      stack: err.stack ?? null,
    };
    if (err instanceof AggregateError) out.errors = this.part(err.errors, ".errors");
    if (err.cause !== undefined) out.cause = this.part(err.cause, ".cause");
    // Own fields such as `code` or `status`: callers branch on them.
    const own = Object.entries(err).filter(([k]) => k !== "cause" && k !== "errors");
    if (own.length > 0) out.props = Object.fromEntries(own.map(([k, v]) => [k, this.part(v, { key: k })]));
    return out;
  }

  private refuse(what: string): Error {
    let path = this.root;
    for (const step of this.steps) path = typeof step === "string" ? `${path}${step}` : member(path, step.key);
    return notSerializable(path, what, this.promiseId);
  }
}

/**
 * The value a parsed JSON stands for. Arrays and plain objects are the parsed
 * ones, with their tagged parts replaced in place: JSON.parse made them for
 * this call alone, and most values have no tagged part at all.
 */
function fromJson(json: Json): unknown {
  if (json === INF) return Infinity;
  if (json === NEG_INF) return -Infinity;
  if (json === null || typeof json !== "object") return json;
  if (Array.isArray(json)) {
    for (let i = 0; i < json.length; i++) {
      const item = json[i]!;
      const value = fromJson(item);
      if (value !== item) (json as unknown[])[i] = value;
    }
    return json;
  }
  const type = json.__type;
  switch (type) {
    case "undefined":
      return undefined;
    case "number":
      return json.value === "-0" ? -0 : NaN;
    case "bigint":
      return BigInt(json.value as string);
    case "date":
      return new Date(json.value === null ? NaN : (json.value as string));
    case "map":
      return new Map((json.entries as Json[][]).map(([k, v]) => [fromJson(k!), fromJson(v!)]));
    case "set":
      return new Set((json.values as Json[]).map(fromJson));
    case "bytes":
      return new Uint8Array(Buffer.from(json.value as string, "base64"));
    case "error":
    case "aggregate_error":
      return errorFromJson(json);
    case "object":
      return plainFromJson(json.value as { [key: string]: Json });
  }
  return plainFromJson(json);
}

function plainFromJson(json: { [key: string]: Json }): Record<string, unknown> {
  for (const key in json) {
    // JSON.parse made only own properties; for-in also walks the prototype's enumerable ones.
    if (!Object.prototype.hasOwnProperty.call(json, key)) continue;
    const item = json[key]!;
    const value = fromJson(item);
    if (value === item) continue;
    // Defined, not assigned: a key "__proto__" stays a key, not a prototype.
    Object.defineProperty(json, key, { value, writable: true, enumerable: true, configurable: true });
  }
  return json;
}

function errorFromJson(json: { [key: string]: Json }): Error {
  const name = typeof json.name === "string" ? json.name : "Error";
  const message = typeof json.message === "string" ? json.message : "";
  const cause = json.cause === undefined ? undefined : { cause: fromJson(json.cause) };
  let err: Error;
  if (json.__type === "aggregate_error") {
    err = new AggregateError((fromJson(json.errors ?? []) as unknown[]) ?? [], message, cause);
  } else {
    const Ctor = ERROR_TYPES[name] ?? Error;
    err = new Ctor(message, cause);
  }
  if (err.name !== name) {
    // Keep `name` an own, non-enumerable property, as Error's own is on the prototype.
    Object.defineProperty(err, "name", { value: name, writable: true, configurable: true, enumerable: false });
  }
  if (typeof json.stack === "string") err.stack = json.stack;
  if (json.props !== undefined && json.props !== null && typeof json.props === "object" && !Array.isArray(json.props)) {
    Object.assign(err, plainFromJson(json.props));
  }
  return err;
}
