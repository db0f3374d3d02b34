// The protobuf bytes of the node's most frequent answers (create, settle,
// get, fence, fence batch, task create/acquire/fulfill), and of a worker's
// most frequent requests (fence, fence batch, task create/fulfill, promise
// create/settle), written straight from the protocol's records. The general path (convert.ts: a protobuf-es
// message built with `create`, then the reflective `toBinary`) cost about
// 18 µs per fenced create, the largest single cost of a unary call after
// HTTP/2; this one writes the same fields in the same order without the
// intermediate message. Every other answer keeps the general path.
// node/test/api/wire.test.ts checks, for generated records, that these
// bytes decode to exactly the message the general path builds.

import type {
  Kind,
  PromiseCreateRequest,
  PromiseRecord,
  PromiseSettleRequest,
  PromiseState,
  RequestOf,
  Response,
  TaskRecord,
  TaskState,
  Value,
} from "../../protocol/types.ts";
import { NEVER } from "../../protocol/validate.ts";

type OkResponse<K extends Kind> = Extract<Response<K>, { data: unknown }>;

const VARINT = 0;
const LEN = 2;

const PROMISE_STATE: Record<PromiseState, number> = {
  pending: 1,
  resolved: 2,
  rejected: 3,
  rejected_canceled: 4,
  rejected_timedout: 5,
};
const TASK_STATE: Record<TaskState, number> = { pending: 1, acquired: 2, suspended: 3, halted: 4, fulfilled: 5 };
const INT64_MAX = (1n << 63n) - 1n;

/** A growing buffer with the few protobuf primitives the answers need. */
class Writer {
  buf = Buffer.allocUnsafe(512);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A non-negative integer below 2^53. */
  varint(n: number): void {
    this.ensure(10);
    const buf = this.buf;
    while (n > 0x7f) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[this.pos++] = n;
  }

  private bigVarint(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** An int64 of ms (or a count), as convert.ts's timeToInt64/toBigInt would give it. */
  int64(field: number, n: number, time: boolean): void {
    this.tag(field, VARINT);
    if (time && n >= NEVER) this.bigVarint(INT64_MAX);
    else if (n >= 0 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n)) this.varint(n);
    else this.bigVarint(BigInt(Math.trunc(n)));
  }

  string(field: number, s: string): void {
    this.tag(field, LEN);
    // UTF-8 takes at most 3 bytes per UTF-16 unit; short strings skip the exact count.
    const max = s.length * 3;
    if (max < 0x80) {
      this.ensure(1 + max);
      const start = this.pos++;
      const n = this.buf.write(s, this.pos, "utf8");
      this.buf[start] = n;
      this.pos += n;
      return;
    }
    const n = Buffer.byteLength(s, "utf8");
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, "utf8");
  }

  /** Bytes given as base64 (the protocol's `Value.data`), decoded as Buffer.from(data, "base64") does. */
  base64(field: number, data: string): void {
    const n = Buffer.byteLength(data, "base64");
    this.tag(field, LEN);
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(data, this.pos, n, "base64");
  }

  /** A length-delimited field whose content `write` appends. */
  message(field: number, write: () => void): void {
    this.tag(field, LEN);
    // One byte of length is reserved; a longer length moves the content right.
    this.ensure(1);
    const start = this.pos++;
    write();
    const length = this.pos - start - 1;
    if (length < 0x80) {
      this.buf[start] = length;
      return;
    }
    const lengthBytes = varintSize(length);
    this.ensure(lengthBytes - 1);
    this.buf.copyWithin(start + lengthBytes, start + 1, this.pos);
    const end = this.pos + lengthBytes - 1;
    this.pos = start;
    this.varint(length);
    this.pos = end;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function varintSize(n: number): number {
  let size = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

function stringMap(w: Writer, field: number, map: Readonly<Record<string, string>>): void {
  for (const key in map) {
    const value = map[key]!;
    w.message(field, () => {
      w.string(1, key);
      w.string(2, value);
    });
  }
}

function value(w: Writer, field: number, v: Value): void {
  w.message(field, () => {
    stringMap(w, 1, v.headers);
    if (v.data) w.base64(2, v.data);
  });
}

function promise(w: Writer, field: number, p: PromiseRecord): void {
  w.message(field, () => {
    if (p.id !== "") w.string(1, p.id);
    w.tag(2, VARINT);
    w.varint(PROMISE_STATE[p.state]);
    value(w, 3, p.param);
    value(w, 4, p.value);
    stringMap(w, 5, p.tags);
    if (Math.trunc(p.timeoutAt) !== 0) w.int64(6, p.timeoutAt, true);
    if (Math.trunc(p.createdAt) !== 0) w.int64(7, p.createdAt, true);
    if (p.settledAt !== undefined) w.int64(8, p.settledAt, true);
  });
}

function task(w: Writer, field: number, t: TaskRecord): void {
  w.message(field, () => {
    if (t.id !== "") w.string(1, t.id);
    w.tag(2, VARINT);
    w.varint(TASK_STATE[t.state]);
    if (Math.trunc(t.version) !== 0) w.int64(3, t.version, false);
    for (const resume of t.resumes) w.string(4, resume);
    if (t.pid !== undefined) w.string(5, t.pid);
    if (t.ttl !== undefined) w.int64(6, t.ttl, false);
  });
}

/** The fenced write's own answer: `PromiseServiceCreateResponse`/`SettleResponse` under field 1 or 2. */
function fencedAction(w: Writer, action: OkResponse<"task.fence">["data"]["action"]): boolean {
  if (!("data" in action)) return false;
  w.message(action.kind === "promise.create" ? 1 : 2, () => promise(w, 1, action.data.promise));
  return true;
}

type Encoder<K extends Kind> = (w: Writer, answer: OkResponse<K>) => boolean;

type OnePromise = "promise.get" | "promise.create" | "promise.settle" | "task.fulfill";
const onePromise = (w: Writer, r: OkResponse<OnePromise>): boolean => {
  promise(w, 1, r.data.promise);
  return true;
};
const taskAndPromise = (w: Writer, r: OkResponse<"task.create" | "task.acquire">): boolean => {
  task(w, 1, r.data.task);
  promise(w, 2, r.data.promise);
  for (const p of r.data.preload) promise(w, 3, p);
  return true;
};

const encoders: Partial<{ [K in Kind]: Encoder<K> }> = {
  "promise.get": onePromise,
  "promise.create": onePromise,
  "promise.settle": onePromise,
  "task.fulfill": onePromise,
  "task.create": taskAndPromise,
  "task.acquire": taskAndPromise,
  "task.fence": (w, r) => {
    if (!fencedAction(w, r.data.action)) return false;
    for (const p of r.data.preload) promise(w, 3, p);
    return true;
  },
  "task.fence_batch": (w, r) => {
    for (const action of r.data.actions) {
      w.message(1, () => {
        if (fencedAction(w, action)) return;
        if ("data" in action) return;
        const { status, code, message } = action.error;
        w.message(3, () => {
          w.string(1, action.kind);
          w.tag(2, VARINT);
          w.varint(status);
          w.string(3, code);
          if (message !== "") w.string(4, message);
        });
      });
    }
    return true;
  },
};

/**
 * The protobuf bytes of a successful answer of `kind`, or undefined when
 * this module does not write that kind (the caller takes the general path).
 */
export function encodeAnswer<K extends Kind>(answer: OkResponse<K>): Uint8Array | undefined {
  const encoder = encoders[answer.kind as K] as Encoder<K> | undefined;
  if (encoder === undefined) return undefined;
  const w = new Writer();
  return encoder(w, answer) ? w.finish() : undefined;
}

// ---------------------------------------------------------------- requests (the client side)

const SETTLE_STATE: Readonly<Record<string, number>> = { resolved: 1, rejected: 2, rejected_canceled: 3 };

/** An int64 field the general path would take (toBigInt/timeToInt64) without throwing; else the general path decides. */
function finite(n: unknown): n is number {
  return typeof n === "number" && Number.isFinite(n);
}

function requestValue(w: Writer, field: number, v: Partial<Value> | undefined): void {
  w.message(field, () => {
    stringMap(w, 1, v?.headers ?? {});
    if (v?.data) w.base64(2, v.data);
  });
}

function createData(w: Writer, d: PromiseCreateRequest["data"]): boolean {
  if (!finite(d.timeoutAt)) return false;
  if (d.settled !== undefined && SETTLE_STATE[d.settled.state] === undefined) return false;
  if (d.id !== "") w.string(1, d.id);
  if (Math.trunc(d.timeoutAt) !== 0) w.int64(2, d.timeoutAt, true);
  if (d.param !== undefined) requestValue(w, 3, d.param);
  stringMap(w, 4, d.tags ?? {});
  const settled = d.settled;
  if (settled !== undefined) {
    w.message(5, () => {
      w.tag(1, VARINT);
      w.varint(SETTLE_STATE[settled.state]!);
      requestValue(w, 2, settled.value);
    });
  }
  return true;
}

function settleData(w: Writer, d: PromiseSettleRequest["data"]): boolean {
  const state = SETTLE_STATE[d.state];
  if (state === undefined) return false;
  if (d.id !== "") w.string(1, d.id);
  w.tag(2, VARINT);
  w.varint(state);
  requestValue(w, 3, d.value);
  return true;
}

/** A fenced create or settle as its oneof case `createField`/`createField + 1`. */
function fencedWrite(w: Writer, createField: number, action: PromiseCreateRequest | PromiseSettleRequest): boolean {
  let ok = true;
  if (action.kind === "promise.create") w.message(createField, () => (ok = createData(w, action.data)));
  else if (action.kind === "promise.settle") w.message(createField + 1, () => (ok = settleData(w, action.data)));
  else ok = false;
  return ok;
}

function idAndVersion(w: Writer, id: string, version: number): boolean {
  if (!finite(version)) return false;
  if (id !== "") w.string(1, id);
  if (Math.trunc(version) !== 0) w.int64(2, version, false);
  return true;
}

type RequestEncoder<K extends Kind> = (w: Writer, request: RequestOf<K>["data"]) => boolean;

const requestEncoders: Partial<{ [K in Kind]: RequestEncoder<K> }> = {
  "promise.create": createData,
  "promise.settle": settleData,
  "task.create": (w, d) => {
    if (!finite(d.ttl)) return false;
    if (d.pid !== "") w.string(1, d.pid);
    if (Math.trunc(d.ttl) !== 0) w.int64(2, d.ttl, false);
    let ok = true;
    w.message(3, () => (ok = createData(w, d.action.data)));
    return ok;
  },
  "task.fulfill": (w, d) => {
    if (!idAndVersion(w, d.id, d.version)) return false;
    let ok = true;
    w.message(3, () => (ok = settleData(w, d.action.data)));
    return ok;
  },
  "task.fence": (w, d) => idAndVersion(w, d.id, d.version) && fencedWrite(w, 3, d.action),
  "task.fence_batch": (w, d) => {
    if (!idAndVersion(w, d.id, d.version)) return false;
    for (const action of d.actions) {
      let ok = true;
      w.message(3, () => (ok = fencedWrite(w, 1, action)));
      if (!ok) return false;
    }
    return true;
  },
};

/**
 * The protobuf bytes of a request, or undefined when this module does not
 * write that kind or the request holds a value it leaves to the general
 * path (which refuses it with its own message).
 */
export function encodeRequest<K extends Kind>(request: RequestOf<K>): Uint8Array | undefined {
  const encoder = requestEncoders[request.kind as K] as RequestEncoder<K> | undefined;
  if (encoder === undefined) return undefined;
  const w = new Writer();
  return encoder(w, request.data as never) ? w.finish() : undefined;
}

// ---------------------------------------------------------------- answers read (the client side)

/** Thrown inside the reader when the bytes hold anything but the common, well-formed case. */
const GIVE_UP = Symbol("leave it to the general path");

const PROMISE_STATE_NAME: readonly (PromiseState | undefined)[] = [undefined, "pending", "resolved", "rejected", "rejected_canceled", "rejected_timedout"];
const TASK_STATE_NAME: readonly (TaskState | undefined)[] = [undefined, "pending", "acquired", "suspended", "halted", "fulfilled"];

class Reader {
  pos = 0;
  private readonly bytes: Buffer;

  constructor(bytes: Uint8Array) {
    this.bytes = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get end(): number {
    return this.bytes.length;
  }

  /** A varint of at most 7 bytes (below 2^49); a longer one is INT64_MAX (the node's NEVER) or not read here. */
  varint(): number {
    const buf = this.bytes;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= buf.length) throw GIVE_UP;
      const byte = buf[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
    throw GIVE_UP;
  }

  /** An int64 time: NEVER for INT64_MAX (9 bytes), as timeFromInt64 reads it. */
  time(): number {
    const start = this.pos;
    try {
      return this.varint();
    } catch {
      this.pos = start;
      const buf = this.bytes;
      if (this.pos + 9 > buf.length) throw GIVE_UP;
      for (let i = 0; i < 8; i++) if (buf[this.pos + i] !== 0xff) throw GIVE_UP;
      if (buf[this.pos + 8] !== 0x7f) throw GIVE_UP;
      this.pos += 9;
      return NEVER;
    }
  }

  /** The end of the length-delimited field that starts here. */
  limit(): number {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.bytes.length) throw GIVE_UP;
    return end;
  }

  string(): string {
    const end = this.limit();
    const s = this.bytes.toString("utf8", this.pos, end);
    this.pos = end;
    return s;
  }

  base64(): string {
    const end = this.limit();
    const s = this.bytes.toString("base64", this.pos, end);
    this.pos = end;
    return s;
  }

  /** The field number of the next field, whose wire type must be `wire`. */
  field(wire: number): number {
    const tag = this.varint();
    if ((tag & 7) !== wire) throw GIVE_UP;
    return tag >>> 3;
  }

  /** The wire type of the tag just read must be LEN: the field number then. */
  next(): { field: number; wire: number } {
    const tag = this.varint();
    return { field: tag >>> 3, wire: tag & 7 };
  }
}

function expect(wire: number, expected: number): void {
  if (wire !== expected) throw GIVE_UP;
}

function readMapEntry(r: Reader, into: Record<string, string>): void {
  const end = r.limit();
  let key = "";
  let val = "";
  while (r.pos < end) {
    const { field, wire } = r.next();
    expect(wire, LEN);
    if (field === 1) key = r.string();
    else if (field === 2) val = r.string();
    else throw GIVE_UP;
  }
  if (r.pos !== end || key === "__proto__") throw GIVE_UP;
  into[key] = val;
}

function readValue(r: Reader): Value {
  const end = r.limit();
  const headers: Record<string, string> = {};
  let data = "";
  while (r.pos < end) {
    const { field, wire } = r.next();
    expect(wire, LEN);
    if (field === 1) readMapEntry(r, headers);
    else if (field === 2) data = r.base64();
    else throw GIVE_UP;
  }
  if (r.pos !== end) throw GIVE_UP;
  return { headers, data };
}

const EMPTY_VALUE = (): Value => ({ headers: {}, data: "" });

function readPromise(r: Reader): PromiseRecord {
  const end = r.limit();
  let id = "";
  let state: PromiseState | undefined;
  let param: Value | undefined;
  let value: Value | undefined;
  const tags: Record<string, string> = {};
  let timeoutAt = 0;
  let createdAt = 0;
  let settledAt: number | undefined;
  while (r.pos < end) {
    const { field, wire } = r.next();
    switch (field) {
      case 1:
        expect(wire, LEN);
        id = r.string();
        break;
      case 2:
        expect(wire, VARINT);
        state = PROMISE_STATE_NAME[r.varint()];
        break;
      case 3:
        expect(wire, LEN);
        param = readValue(r);
        break;
      case 4:
        expect(wire, LEN);
        value = readValue(r);
        break;
      case 5:
        expect(wire, LEN);
        readMapEntry(r, tags);
        break;
      case 6:
        expect(wire, VARINT);
        timeoutAt = r.time();
        break;
      case 7:
        expect(wire, VARINT);
        createdAt = r.time();
        break;
      case 8:
        expect(wire, VARINT);
        settledAt = r.time();
        break;
      default:
        throw GIVE_UP;
    }
  }
  // An unknown state is the general path's to refuse, with its message.
  if (r.pos !== end || state === undefined) throw GIVE_UP;
  const record: PromiseRecord = { id, state, param: param ?? EMPTY_VALUE(), value: value ?? EMPTY_VALUE(), tags, timeoutAt, createdAt };
  if (settledAt !== undefined) record.settledAt = settledAt;
  return record;
}

function readTask(r: Reader): TaskRecord {
  const end = r.limit();
  let id = "";
  let state: TaskState | undefined;
  let version = 0;
  const resumes: string[] = [];
  let pid: string | undefined;
  let ttl: number | undefined;
  while (r.pos < end) {
    const { field, wire } = r.next();
    switch (field) {
      case 1:
        expect(wire, LEN);
        id = r.string();
        break;
      case 2:
        expect(wire, VARINT);
        state = TASK_STATE_NAME[r.varint()];
        break;
      case 3:
        expect(wire, VARINT);
        version = r.varint();
        break;
      case 4:
        expect(wire, LEN);
        resumes.push(r.string());
        break;
      case 5:
        expect(wire, LEN);
        pid = r.string();
        break;
      case 6:
        expect(wire, VARINT);
        ttl = r.varint();
        break;
      default:
        throw GIVE_UP;
    }
  }
  if (r.pos !== end || state === undefined) throw GIVE_UP;
  const record: TaskRecord = { id, state, version, resumes };
  if (pid !== undefined) record.pid = pid;
  if (ttl !== undefined) record.ttl = ttl;
  return record;
}

/** A message whose only field is `Promise promise = 1` (PromiseServiceCreateResponse and its kin). */
function readPromiseOnly(r: Reader, end: number): PromiseRecord {
  let promise: PromiseRecord | undefined;
  while (r.pos < end) {
    if (r.field(LEN) !== 1) throw GIVE_UP;
    promise = readPromise(r);
  }
  if (r.pos !== end || promise === undefined) throw GIVE_UP;
  return promise;
}

type FencedAnswer = OkResponse<"task.fence">["data"]["action"];

/** A FencedWriteResult (or the result oneof of a fence answer: create 1, settle 2) read into the protocol's answer. */
function readFenced(r: Reader, field: number): FencedAnswer {
  const end = r.limit();
  if (field === 1) return { kind: "promise.create", status: 200, data: { promise: readPromiseOnly(r, end) } };
  if (field === 2) return { kind: "promise.settle", status: 200, data: { promise: readPromiseOnly(r, end) } };
  throw GIVE_UP;
}

function readFencedError(r: Reader): FencedAnswer {
  const end = r.limit();
  let kind = "";
  let status = 0;
  let code = "";
  let message = "";
  while (r.pos < end) {
    const { field, wire } = r.next();
    if (field === 2) {
      expect(wire, VARINT);
      status = r.varint();
      continue;
    }
    expect(wire, LEN);
    if (field === 1) kind = r.string();
    else if (field === 3) code = r.string();
    else if (field === 4) message = r.string();
    else throw GIVE_UP;
  }
  if (r.pos !== end || (kind !== "promise.create" && kind !== "promise.settle")) throw GIVE_UP;
  const error = { status, code, message } as unknown as Extract<FencedAnswer, { error: unknown }>["error"];
  return { kind, status: error.status, error } as FencedAnswer;
}

type AnswerReader<K extends Kind> = (r: Reader) => OkResponse<K>;

const ok = <K extends Kind>(kind: K, data: unknown): OkResponse<K> => ({ kind, status: 200, data }) as OkResponse<K>;
const promiseAnswer =
  <K extends "promise.get" | "promise.create" | "promise.settle" | "task.fulfill">(kind: K): AnswerReader<K> =>
  (r) =>
    ok(kind, { promise: readPromiseOnly(r, r.end) });
const taskAnswer =
  <K extends "task.create" | "task.acquire">(kind: K): AnswerReader<K> =>
  (r) => {
    let task: TaskRecord | undefined;
    let promise: PromiseRecord | undefined;
    const preload: PromiseRecord[] = [];
    while (r.pos < r.end) {
      const field = r.field(LEN);
      if (field === 1) task = readTask(r);
      else if (field === 2) promise = readPromise(r);
      else if (field === 3) preload.push(readPromise(r));
      else throw GIVE_UP;
    }
    if (task === undefined || promise === undefined) throw GIVE_UP;
    return ok(kind, { task, promise, preload });
  };

const answerReaders: Partial<{ [K in Kind]: AnswerReader<K> }> = {
  "promise.get": promiseAnswer("promise.get"),
  "promise.create": promiseAnswer("promise.create"),
  "promise.settle": promiseAnswer("promise.settle"),
  "task.fulfill": promiseAnswer("task.fulfill"),
  "task.create": taskAnswer("task.create"),
  "task.acquire": taskAnswer("task.acquire"),
  "task.fence": (r) => {
    let action: FencedAnswer | undefined;
    const preload: PromiseRecord[] = [];
    while (r.pos < r.end) {
      const field = r.field(LEN);
      if (field === 3) preload.push(readPromise(r));
      else if (action === undefined) action = readFenced(r, field);
      else throw GIVE_UP;
    }
    if (action === undefined) throw GIVE_UP;
    return ok("task.fence", { action, preload });
  },
  "task.fence_batch": (r) => {
    const actions: FencedAnswer[] = [];
    while (r.pos < r.end) {
      if (r.field(LEN) !== 1) throw GIVE_UP;
      const end = r.limit();
      let action: FencedAnswer | undefined;
      while (r.pos < end) {
        if (action !== undefined) throw GIVE_UP;
        const field = r.field(LEN);
        action = field === 3 ? readFencedError(r) : readFenced(r, field);
      }
      if (r.pos !== end || action === undefined) throw GIVE_UP;
      actions.push(action);
    }
    return ok("task.fence_batch", { actions });
  },
};

/**
 * A successful answer of `kind` read from its protobuf bytes, or undefined
 * when this module does not read that kind or the bytes hold anything
 * beyond the common case (unknown fields or enum values, missing records,
 * numbers past 2^49): the general path then reads them, and refuses what
 * it refuses, with its own messages.
 */
export function decodeAnswer<K extends Kind>(kind: K, bytes: Uint8Array): OkResponse<K> | undefined {
  const read = answerReaders[kind] as AnswerReader<K> | undefined;
  if (read === undefined) return undefined;
  try {
    return read(new Reader(bytes));
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

// ---------------------------------------------------------------- requests read (the server side)

function readCreateData(r: Reader, end: number): PromiseCreateRequest["data"] {
  let id = "";
  let timeoutAt = 0;
  let param: Value | undefined;
  const tags: Record<string, string> = {};
  let settled: { state: "resolved" | "rejected"; value: Value } | undefined;
  while (r.pos < end) {
    const { field, wire } = r.next();
    if (field === 2) {
      expect(wire, VARINT);
      timeoutAt = r.time();
      continue;
    }
    expect(wire, LEN);
    if (field === 1) id = r.string();
    else if (field === 3) param = readValue(r);
    else if (field === 4) readMapEntry(r, tags);
    else if (field === 5) settled = readSettlement(r);
    else throw GIVE_UP;
  }
  if (r.pos !== end) throw GIVE_UP;
  const data: PromiseCreateRequest["data"] = { id, timeoutAt, tags };
  if (param !== undefined) data.param = param;
  if (settled !== undefined) data.settled = settled;
  return data;
}

/** Resolved or rejected; anything else is the general path's to refuse. */
function readSettlement(r: Reader): { state: "resolved" | "rejected"; value: Value } {
  const end = r.limit();
  let state: "resolved" | "rejected" | undefined;
  let value: Value | undefined;
  while (r.pos < end) {
    const { field, wire } = r.next();
    if (field === 1) {
      expect(wire, VARINT);
      const n = r.varint();
      state = n === 1 ? "resolved" : n === 2 ? "rejected" : undefined;
      if (state === undefined) throw GIVE_UP;
    } else if (field === 2) {
      expect(wire, LEN);
      value = readValue(r);
    } else throw GIVE_UP;
  }
  if (r.pos !== end || state === undefined) throw GIVE_UP;
  return { state, value: value ?? EMPTY_VALUE() };
}

const SETTLE_STATE_NAME = [undefined, "resolved", "rejected", "rejected_canceled"] as const;

function readSettleData(r: Reader, end: number): PromiseSettleRequest["data"] {
  let id = "";
  let state: PromiseSettleRequest["data"]["state"] | undefined;
  let value: Value | undefined;
  while (r.pos < end) {
    const { field, wire } = r.next();
    if (field === 2) {
      expect(wire, VARINT);
      state = SETTLE_STATE_NAME[r.varint()];
      continue;
    }
    expect(wire, LEN);
    if (field === 1) id = r.string();
    else if (field === 3) value = readValue(r);
    else throw GIVE_UP;
  }
  if (r.pos !== end || state === undefined) throw GIVE_UP;
  return { id, state, value: value ?? EMPTY_VALUE() };
}

function readFencedWrite(r: Reader, createField: number, field: number): PromiseCreateRequest | PromiseSettleRequest {
  const end = r.limit();
  if (field === createField) return { kind: "promise.create", data: readCreateData(r, end) };
  if (field === createField + 1) return { kind: "promise.settle", data: readSettleData(r, end) };
  throw GIVE_UP;
}

/** The `id = 1`, `version = 2` head of a task request, then `rest` for every other field. */
function readTaskRequest(r: Reader, rest: (field: number) => void): { id: string; version: number } {
  let id = "";
  let version = 0;
  while (r.pos < r.end) {
    const { field, wire } = r.next();
    if (field === 1) {
      expect(wire, LEN);
      id = r.string();
    } else if (field === 2) {
      expect(wire, VARINT);
      version = r.varint();
    } else {
      expect(wire, LEN);
      rest(field);
    }
  }
  return { id, version };
}

type RequestReader<K extends Kind> = (r: Reader) => RequestOf<K>["data"];

const requestReaders: Partial<{ [K in Kind]: RequestReader<K> }> = {
  "promise.create": (r) => readCreateData(r, r.end),
  "promise.settle": (r) => readSettleData(r, r.end),
  "task.fence": (r) => {
    let action: PromiseCreateRequest | PromiseSettleRequest | undefined;
    const head = readTaskRequest(r, (field) => {
      if (action !== undefined) throw GIVE_UP;
      action = readFencedWrite(r, 3, field);
    });
    if (action === undefined) throw GIVE_UP;
    return { ...head, action };
  },
  "task.fence_batch": (r) => {
    const actions: (PromiseCreateRequest | PromiseSettleRequest)[] = [];
    const head = readTaskRequest(r, (field) => {
      if (field !== 3) throw GIVE_UP;
      const end = r.limit();
      let action: PromiseCreateRequest | PromiseSettleRequest | undefined;
      while (r.pos < end) {
        if (action !== undefined) throw GIVE_UP;
        action = readFencedWrite(r, 1, r.field(LEN));
      }
      if (r.pos !== end || action === undefined) throw GIVE_UP;
      actions.push(action);
    });
    return { ...head, actions };
  },
  "task.fulfill": (r) => {
    let action: PromiseSettleRequest | undefined;
    const head = readTaskRequest(r, (field) => {
      if (field !== 3 || action !== undefined) throw GIVE_UP;
      action = { kind: "promise.settle", data: readSettleData(r, r.limit()) };
    });
    if (action === undefined) throw GIVE_UP;
    return { ...head, action };
  },
  "task.create": (r) => {
    let pid = "";
    let ttl = 0;
    let action: PromiseCreateRequest | undefined;
    while (r.pos < r.end) {
      const { field, wire } = r.next();
      if (field === 2) {
        expect(wire, VARINT);
        ttl = r.varint();
        continue;
      }
      expect(wire, LEN);
      if (field === 1) pid = r.string();
      else if (field === 3 && action === undefined) action = { kind: "promise.create", data: readCreateData(r, r.limit()) };
      else throw GIVE_UP;
    }
    if (action === undefined) throw GIVE_UP;
    return { pid, ttl, action };
  },
};

/**
 * A request of `kind` read from its protobuf bytes into the protocol's
 * shape, or undefined when this module does not read that kind or the
 * bytes hold anything beyond the common case: the general path then
 * converts (and refuses) it with its own messages.
 */
export function decodeRequest<K extends Kind>(kind: K, bytes: Uint8Array): RequestOf<K> | undefined {
  const read = requestReaders[kind] as RequestReader<K> | undefined;
  if (read === undefined) return undefined;
  try {
    return { kind, data: read(new Reader(bytes)) } as unknown as RequestOf<K>;
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}
