// A worker's most frequent requests (fence, fence batch, task
// create/fulfill, promise create/settle) as protobuf bytes written straight
// from the protocol's shape on the client, and read straight back into it
// on the node. See wire.ts.

import type { Kind, PromiseCreateRequest, PromiseSettleRequest, RequestOf, Value } from "../../protocol/types.ts";
import {
  EMPTY_VALUE,
  expect,
  GIVE_UP,
  LEN,
  promise,
  Reader,
  readMapEntry,
  readValue,
  stringMap,
  task,
  VARINT,
  Writer,
} from "./wire-format.ts";


const SETTLE_STATE: Readonly<Record<string, number>> = { resolved: 1, rejected: 2, rejected_canceled: 3 };

/** An int64 field the general path would take (toBigInt/timeToInt64) without throwing; else the general path decides. */
function finite(n: unknown): n is number {
  return typeof n === "number" && Number.isFinite(n);
}

// The writers below open fields with begin/end rather than message(closure): a fence batch writes hundreds.

function requestValue(w: Writer, field: number, v: Partial<Value> | undefined): void {
  const start = w.begin(field);
  if (v?.headers !== undefined) stringMap(w, 1, v.headers);
  if (v?.data) w.base64(2, v.data);
  w.end(start);
}

function createData(w: Writer, d: PromiseCreateRequest["data"]): boolean {
  if (!finite(d.timeoutAt)) return false;
  if (d.settled !== undefined && SETTLE_STATE[d.settled.state] === undefined) return false;
  if (d.id !== "") w.string(1, d.id);
  if (Math.trunc(d.timeoutAt) !== 0) w.int64(2, d.timeoutAt, true);
  if (d.param !== undefined) requestValue(w, 3, d.param);
  if (d.tags !== undefined) stringMap(w, 4, d.tags);
  const settled = d.settled;
  if (settled !== undefined) {
    const start = w.begin(5);
    w.tag(1, VARINT);
    w.varint(SETTLE_STATE[settled.state]!);
    requestValue(w, 2, settled.value);
    w.end(start);
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
  let ok: boolean;
  if (action.kind === "promise.create") {
    const start = w.begin(createField);
    ok = createData(w, action.data);
    w.end(start);
  } else if (action.kind === "promise.settle") {
    const start = w.begin(createField + 1);
    ok = settleData(w, action.data);
    w.end(start);
  } else ok = false;
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
    const start = w.begin(3);
    const ok = createData(w, d.action.data);
    w.end(start);
    return ok;
  },
  "task.fulfill": (w, d) => {
    if (!idAndVersion(w, d.id, d.version)) return false;
    const start = w.begin(3);
    const ok = settleData(w, d.action.data);
    w.end(start);
    return ok && (d.actions === undefined || fencedWrites(w, 4, d.actions));
  },
  "task.fence": (w, d) => idAndVersion(w, d.id, d.version) && fencedWrite(w, 3, d.action),
  "task.fence_batch": (w, d) => idAndVersion(w, d.id, d.version) && fencedWrites(w, 3, d.actions),
};

/** Repeated FencedWrite messages as field `field` (a batch's 3, a fulfill's 4). */
function fencedWrites(w: Writer, field: number, actions: readonly (PromiseCreateRequest | PromiseSettleRequest)[]): boolean {
  for (const action of actions) {
    const start = w.begin(field);
    const ok = fencedWrite(w, 1, action);
    w.end(start);
    if (!ok) return false;
  }
  return true;
}

/**
 * The protobuf bytes of a request, or undefined when this module does not
 * write that kind or the request holds a value it leaves to the general
 * path (which refuses it with its own message).
 */
export function encodeRequest<K extends Kind>(request: RequestOf<K>): Uint8Array | undefined {
  const encoder = requestEncoders[request.kind as K] as RequestEncoder<K> | undefined;
  if (encoder === undefined) return undefined;
  // A fence batch (or a fulfill carrying writes) holds many writes: room for about 512 bytes each from the start, rather than doubling up to it.
  const actions = (request.data as { actions?: unknown[] }).actions?.length ?? 0;
  const w = new Writer(512 * Math.max(1, actions));
  return encoder(w, request.data as never) ? w.finish() : undefined;
}


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

/** One FencedWrite message (its oneof: create 1, settle 2) of a batch or a fulfill. */
function readBatchWrite(r: Reader): PromiseCreateRequest | PromiseSettleRequest {
  const end = r.limit();
  let action: PromiseCreateRequest | PromiseSettleRequest | undefined;
  while (r.pos < end) {
    if (action !== undefined) throw GIVE_UP;
    action = readFencedWrite(r, 1, r.field(LEN));
  }
  if (r.pos !== end || action === undefined) throw GIVE_UP;
  return action;
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
      actions.push(readBatchWrite(r));
    });
    return { ...head, actions };
  },
  "task.fulfill": (r) => {
    let action: PromiseSettleRequest | undefined;
    const actions: (PromiseCreateRequest | PromiseSettleRequest)[] = [];
    const head = readTaskRequest(r, (field) => {
      if (field === 4) return void actions.push(readBatchWrite(r));
      if (field !== 3 || action !== undefined) throw GIVE_UP;
      action = { kind: "promise.settle", data: readSettleData(r, r.limit()) };
    });
    if (action === undefined) throw GIVE_UP;
    return actions.length > 0 ? { ...head, action, actions } : { ...head, action };
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

