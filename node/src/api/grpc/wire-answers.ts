// The node's most frequent answers (create, settle, get, fence, fence
// batch, task create/acquire/fulfill) as protobuf bytes written straight
// from the protocol's records on the node, and read straight back into them
// on the client. See wire.ts.

import type { Kind, PromiseRecord, TaskRecord } from "../../protocol/types.ts";
import {
  expect,
  GIVE_UP,
  LEN,
  promise,
  Reader,
  readPromise,
  readTask,
  task,
  VARINT,
  Writer,
  type OkResponse,
} from "./wire-format.ts";

function fencedAction(w: Writer, action: OkResponse<"task.fence">["data"]["action"]): boolean {
  if (!("data" in action)) return false;
  w.message(action.kind === "promise.create" ? 1 : 2, () => promise(w, 1, action.data.promise));
  return true;
}

type Encoder<K extends Kind> = (w: Writer, answer: OkResponse<K>) => boolean;

type OnePromise = "promise.get" | "promise.create" | "promise.settle";
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
  "task.fulfill": (w, r) => {
    promise(w, 1, r.data.promise);
    for (const action of r.data.actions ?? []) fencedResult(w, 2, action);
    return true;
  },
  "task.create": taskAndPromise,
  "task.acquire": taskAndPromise,
  "task.fence": (w, r) => {
    if (!fencedAction(w, r.data.action)) return false;
    for (const p of r.data.preload) promise(w, 3, p);
    return true;
  },
  "task.fence_batch": (w, r) => {
    for (const action of r.data.actions) fencedResult(w, 1, action);
    return true;
  },
};

/** One FencedWriteResult as field `field` (a batch's 1, a fulfill's 2): the write's answer or its refusal. */
function fencedResult(w: Writer, field: number, action: OkResponse<"task.fence">["data"]["action"]): void {
  w.message(field, () => {
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
  <K extends "promise.get" | "promise.create" | "promise.settle">(kind: K): AnswerReader<K> =>
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
  "task.fulfill": (r) => {
    let promise: PromiseRecord | undefined;
    const actions: FencedAnswer[] = [];
    while (r.pos < r.end) {
      const field = r.field(LEN);
      if (field === 1 && promise === undefined) promise = readPromise(r);
      else if (field === 2) actions.push(readFencedResult(r));
      else throw GIVE_UP;
    }
    if (promise === undefined) throw GIVE_UP;
    return ok("task.fulfill", actions.length > 0 ? { promise, actions } : { promise });
  },
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
      actions.push(readFencedResult(r));
    }
    return ok("task.fence_batch", { actions });
  },
};

/** One FencedWriteResult message, its tag already read. */
function readFencedResult(r: Reader): FencedAnswer {
  const end = r.limit();
  let action: FencedAnswer | undefined;
  while (r.pos < end) {
    if (action !== undefined) throw GIVE_UP;
    const field = r.field(LEN);
    action = field === 3 ? readFencedError(r) : readFenced(r, field);
  }
  if (r.pos !== end || action === undefined) throw GIVE_UP;
  return action;
}

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

