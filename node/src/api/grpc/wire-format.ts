// Protobuf on the wire for the node's hot path (wire.ts): a writer and a
// reader with the few primitives the frequent requests and answers need, and
// the records (Value, Promise, Task) both ways. The field numbers are those
// of proto/resonate/mesh/v1/records.proto.

import { isUtf8 } from "node:buffer";
import type { Kind, PromiseRecord, PromiseState, Response, TaskRecord, TaskState, Value } from "../../protocol/types.ts";
import { NEVER } from "../../protocol/validate.ts";

export type OkResponse<K extends Kind> = Extract<Response<K>, { data: unknown }>;

export const VARINT = 0;
export const LEN = 2;

export const PROMISE_STATE: Record<PromiseState, number> = {
  pending: 1,
  resolved: 2,
  rejected: 3,
  rejected_canceled: 4,
  rejected_timedout: 5,
};
export const TASK_STATE: Record<TaskState, number> = { pending: 1, acquired: 2, suspended: 3, halted: 4, fulfilled: 5 };
const INT64_MAX = (1n << 63n) - 1n;

/** A growing buffer with the few protobuf primitives the answers need. */
export class Writer {
  buf: Buffer;
  pos = 0;

  /** `capacity`: the bytes first reserved (it grows by doubling). */
  constructor(capacity = 512) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

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
    const start = this.begin(field);
    write();
    this.end(start);
  }

  /** Open a length-delimited field (message() without a closure, for the hot paths); end(start) closes it. */
  begin(field: number): number {
    this.tag(field, LEN);
    // One byte of length is reserved; a longer length moves the content right.
    this.ensure(1);
    return this.pos++;
  }

  end(start: number): void {
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

export function stringMap(w: Writer, field: number, map: Readonly<Record<string, string>>): void {
  for (const key in map) {
    const start = w.begin(field);
    w.string(1, key);
    w.string(2, map[key]!);
    w.end(start);
  }
}

export function value(w: Writer, field: number, v: Value): void {
  w.message(field, () => {
    stringMap(w, 1, v.headers);
    if (v.data) w.base64(2, v.data);
  });
}

export function promise(w: Writer, field: number, p: PromiseRecord): void {
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

export function task(w: Writer, field: number, t: TaskRecord): void {
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

/** Thrown inside the reader when the bytes hold anything but the common, well-formed case. */
export const GIVE_UP = Symbol("leave it to the general path");

const PROMISE_STATE_NAME: readonly (PromiseState | undefined)[] = [undefined, "pending", "resolved", "rejected", "rejected_canceled", "rejected_timedout"];
const TASK_STATE_NAME: readonly (TaskState | undefined)[] = [undefined, "pending", "acquired", "suspended", "halted", "fulfilled"];

export class Reader {
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
    // toString replaces invalid UTF-8 with U+FFFD where protobuf-es refuses it: let the general path refuse it.
    if (s.includes("\uFFFD") && !isUtf8(this.bytes.subarray(this.pos, end))) throw GIVE_UP;
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

export function expect(wire: number, expected: number): void {
  if (wire !== expected) throw GIVE_UP;
}

export function readMapEntry(r: Reader, into: Record<string, string>): void {
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

export function readValue(r: Reader): Value {
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

export const EMPTY_VALUE = (): Value => ({ headers: {}, data: "" });

export function readPromise(r: Reader): PromiseRecord {
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

export function readTask(r: Reader): TaskRecord {
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
