// The hand-written answers and requests (api/grpc/wire.ts) are the general
// path's bytes: for generated records, each kind's encoding is byte for
// byte what protobuf-es writes for the message convert.ts builds, so every
// peer decodes exactly the same message.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { fromProtocolRequest, fromProtocolResponse, rpcOf, toProtocolRequest, toProtocolResponse } from "../../src/api/grpc/convert.ts";
import { decodeAnswer, decodeRequest, encodeAnswer, encodeRequest } from "../../src/api/grpc/wire.ts";
import type { Kind, PromiseRecord, RequestOf, Response, TaskRecord, Value } from "../../src/protocol/types.ts";
import { NEVER } from "../../src/protocol/validate.ts";

type OkResponse<K extends Kind> = Extract<Response<K>, { data: unknown }>;

const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme", maxLength: 200 }), fc.constant(""));
const usualTime = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.constantFrom(0, NEVER));
const time = fc.oneof(usualTime, fc.constantFrom(-1, 1.5, 2 ** 40 + 0.25, 2 ** 52));
const record = fc.dictionary(fc.string({ maxLength: 30 }), text, { maxKeys: 5 });
const value: fc.Arbitrary<Value> = fc.record({
  headers: record,
  data: fc.oneof(
    fc.constant(""),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("base64")),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString("base64url")),
  ),
});
const promise: fc.Arbitrary<PromiseRecord> = fc
  .record({
    id: fc.oneof(text, fc.string({ minLength: 100, maxLength: 400 })),
    state: fc.constantFrom("pending", "resolved", "rejected", "rejected_canceled", "rejected_timedout"),
    param: value,
    value,
    tags: record,
    timeoutAt: time,
    createdAt: time,
    settledAt: fc.option(time, { nil: undefined }),
  })
  .map((p) => {
    if (p.settledAt === undefined) delete p.settledAt;
    return p as PromiseRecord;
  });
const task: fc.Arbitrary<TaskRecord> = fc
  .record({
    id: text,
    state: fc.constantFrom("pending", "acquired", "suspended", "halted", "fulfilled"),
    version: fc.oneof(fc.nat(), fc.constant(0)),
    resumes: fc.array(text, { maxLength: 4 }),
    pid: fc.option(text, { nil: undefined }),
    ttl: fc.option(fc.nat(), { nil: undefined }),
  })
  .map((t) => {
    if (t.pid === undefined) delete t.pid;
    if (t.ttl === undefined) delete t.ttl;
    return t as TaskRecord;
  });
const preload = fc.array(promise, { maxLength: 3 });
const fenced = fc.oneof(
  promise.map((p) => ({ kind: "promise.create" as const, status: 200 as const, data: { promise: p } })),
  promise.map((p) => ({ kind: "promise.settle" as const, status: 200 as const, data: { promise: p } })),
);
const fencedError = fc.record({
  kind: fc.constantFrom("promise.create" as const, "promise.settle" as const),
  status: fc.constantFrom(409 as const, 404 as const, 422 as const),
  error: fc.record({ status: fc.constant(409 as const), code: fc.constant("TASK_STATE_CONFLICT" as const), message: text }),
});

/** Written, the answer is protobuf-es's bytes; read back, it is what the general path reads (or left to it). */
function sameBytes<K extends Kind>(answer: OkResponse<K>): void {
  const { method } = rpcOf(answer.kind);
  const general = toBinary(method.output, fromProtocolResponse(answer) as never);
  const lean = encodeAnswer(answer);
  expect(lean).toBeDefined();
  expect(Buffer.from(lean!).toString("hex")).toBe(Buffer.from(general).toString("hex"));
  const read = decodeAnswer(answer.kind, general);
  const expected = toProtocolResponse(answer.kind, fromBinary(method.output, general) as never);
  if (read !== undefined || (usual && !hasProtoKey(answer))) expect(read).toEqual(expected);
}

/** A map key "__proto__" is left to the general path on purpose (a plain object cannot hold it as a key by assignment). */
function hasProtoKey(value: unknown): boolean {
  return JSON.stringify(value).includes('"__proto__"');
}

/** Records in the usual domain (times and counts below 2^49 or NEVER): the reader must read them itself. */
let usual = false;

const ok = <K extends Kind>(kind: K, data: unknown) => ({ kind, status: 200, data }) as unknown as OkResponse<K>;

describe("hand-written answers equal protobuf-es's bytes", () => {
  for (const kind of ["promise.get", "promise.create", "promise.settle", "task.fulfill"] as const) {
    test(`${kind}`, () => fc.assert(fc.property(promise, (p) => sameBytes(ok(kind, { promise: p }))), { numRuns: 300 }));
  }

  for (const kind of ["task.create", "task.acquire"] as const) {
    test(`${kind}`, () =>
      fc.assert(fc.property(task, promise, preload, (t, p, pre) => sameBytes(ok(kind, { task: t, promise: p, preload: pre }))), {
        numRuns: 200,
      }));
  }

  test("task.fence", () =>
    fc.assert(fc.property(fenced, preload, (action, pre) => sameBytes(ok("task.fence", { action, preload: pre }))), { numRuns: 300 }));

  test("task.fence_batch, with refused writes among the answers", () =>
    fc.assert(
      fc.property(fc.array(fc.oneof(fenced, fencedError), { maxLength: 6 }), (actions) => sameBytes(ok("task.fence_batch", { actions }))),
      { numRuns: 200 },
    ));

  test("task.fulfill with the answers of the writes it carried, refused ones among them", () =>
    fc.assert(
      fc.property(promise, fc.array(fc.oneof(fenced, fencedError), { minLength: 1, maxLength: 6 }), (p, actions) =>
        sameBytes(ok("task.fulfill", { promise: p, actions })),
      ),
      { numRuns: 200 },
    ));

  test("a fence whose inner write failed is left to the general path", () => {
    const answer = ok("task.fence", {
      action: { kind: "promise.create", status: 409, error: { status: 409, code: "TASK_STATE_CONFLICT", message: "no" } },
      preload: [],
    });
    expect(encodeAnswer(answer)).toBeUndefined();
  });

  test("kinds without a hand-written answer are left to the general path", () => {
    expect(encodeAnswer(ok("task.release", {}))).toBeUndefined();
  });
});

/** Written, the request is protobuf-es's bytes; read back on the node, it is what the general path converts (or left to it). */
function sameRequestBytes<K extends Kind>(request: RequestOf<K>): void {
  const { method } = rpcOf(request.kind);
  const general = toBinary(method.input, fromProtocolRequest(request) as never);
  const lean = encodeRequest(request);
  expect(lean).toBeDefined();
  expect(Buffer.from(lean!).toString("hex")).toBe(Buffer.from(general).toString("hex"));
  const read = decodeRequest(request.kind, general);
  let expected: RequestOf<K> | undefined;
  try {
    expected = toProtocolRequest(request.kind, fromBinary(method.input, general) as never);
  } catch {
    expected = undefined; // the general path refuses it; the reader must leave it to it
  }
  if (expected === undefined) expect(read).toBeUndefined();
  else if (read !== undefined || (usualRequests && !hasProtoKey(request))) expect(read).toEqual(expected);
}

/** Requests in the usual domain (non-negative times and counts below 2^49): the node must read them itself. */
let usualRequests = false;

const optionalValue = fc.option(
  fc.record({ headers: fc.option(record, { nil: undefined }), data: fc.option(value.map((v) => v.data), { nil: undefined }) }),
  { nil: undefined },
);
const createData = fc
  .record({
    id: text,
    timeoutAt: time,
    param: optionalValue,
    tags: fc.option(record, { nil: undefined }),
    settled: fc.option(fc.record({ state: fc.constantFrom("resolved" as const, "rejected" as const), value: optionalValue }), {
      nil: undefined,
    }),
  })
  .map((d) => JSON.parse(JSON.stringify(d)) as RequestOf<"promise.create">["data"]);
const settleData = fc
  .record({ id: text, state: fc.constantFrom("resolved" as const, "rejected" as const, "rejected_canceled" as const), value: optionalValue })
  .map((d) => JSON.parse(JSON.stringify(d)) as RequestOf<"promise.settle">["data"]);
const fencedWrite = fc.oneof(
  createData.map((data) => ({ kind: "promise.create" as const, data })),
  settleData.map((data) => ({ kind: "promise.settle" as const, data })),
);
const version = fc.oneof(fc.nat(), fc.constant(0));

describe("hand-written requests equal protobuf-es's bytes", () => {
  test("promise.create", () => fc.assert(fc.property(createData, (data) => sameRequestBytes({ kind: "promise.create", data })), { numRuns: 300 }));
  test("promise.settle", () => fc.assert(fc.property(settleData, (data) => sameRequestBytes({ kind: "promise.settle", data })), { numRuns: 300 }));
  test("task.create", () =>
    fc.assert(
      fc.property(text, fc.nat(), createData, (pid, ttl, data) =>
        sameRequestBytes({ kind: "task.create", data: { pid, ttl, action: { kind: "promise.create", data } } }),
      ),
      { numRuns: 200 },
    ));
  test("task.fulfill", () =>
    fc.assert(
      fc.property(text, version, settleData, (id, v, data) =>
        sameRequestBytes({ kind: "task.fulfill", data: { id, version: v, action: { kind: "promise.settle", data } } }),
      ),
      { numRuns: 200 },
    ));
  test("task.fulfill carrying fenced writes", () =>
    fc.assert(
      fc.property(text, version, settleData, fc.array(fencedWrite, { minLength: 1, maxLength: 6 }), (id, v, data, actions) =>
        sameRequestBytes({ kind: "task.fulfill", data: { id, version: v, action: { kind: "promise.settle", data }, actions } }),
      ),
      { numRuns: 200 },
    ));
  test("task.fence", () =>
    fc.assert(
      fc.property(text, version, fencedWrite, (id, v, action) => sameRequestBytes({ kind: "task.fence", data: { id, version: v, action } })),
      { numRuns: 300 },
    ));
  test("task.fence_batch", () =>
    fc.assert(
      fc.property(text, version, fc.array(fencedWrite, { maxLength: 6 }), (id, v, actions) =>
        sameRequestBytes({ kind: "task.fence_batch", data: { id, version: v, actions } }),
      ),
      { numRuns: 200 },
    ));
  test("a request the wire cannot carry is left to the general path, which refuses it", () => {
    const request = { kind: "task.fence", data: { id: "a", version: Number.NaN, action: { kind: "promise.settle", data: { id: "a.1", state: "resolved", value: { headers: {}, data: "" } } } } } as RequestOf<"task.fence">;
    expect(encodeRequest(request)).toBeUndefined();
    const settle = { kind: "promise.settle", data: { id: "a", state: "sideways", value: { headers: {}, data: "" } } } as unknown as RequestOf<"promise.settle">;
    expect(encodeRequest(settle)).toBeUndefined();
  });
});

describe("answers in the usual domain are read without the general path", () => {
  const usualPromise = promise.map((p) => ({ ...p, timeoutAt: Math.trunc(Math.abs(p.timeoutAt)) % 2 ** 45, createdAt: 7, settledAt: NEVER }));
  test("task.fence, task.fence_batch and task.fulfill", () => {
    usual = true;
    try {
      fc.assert(fc.property(fenced, fc.array(usualPromise, { maxLength: 2 }), (action, pre) => {
        const a = { ...action, data: { promise: { ...action.data.promise, timeoutAt: 1, createdAt: 2 } } };
        delete (a.data.promise as Partial<PromiseRecord>).settledAt;
        sameBytes(ok("task.fence", { action: a, preload: pre }));
      }), { numRuns: 200 });
      fc.assert(fc.property(fc.array(fencedError, { maxLength: 4 }), (actions) => sameBytes(ok("task.fence_batch", { actions }))), { numRuns: 100 });
      fc.assert(
        fc.property(usualPromise, fc.array(fencedError, { minLength: 1, maxLength: 4 }), (p, actions) => sameBytes(ok("task.fulfill", { promise: p, actions }))),
        { numRuns: 100 },
      );
    } finally {
      usual = false;
    }
  });

  test("task.create with its task and preload", () => {
    usual = true;
    try {
      fc.assert(fc.property(task, usualPromise, (t, p) => sameBytes(ok("task.create", { task: t, promise: p, preload: [p] }))), { numRuns: 200 });
    } finally {
      usual = false;
    }
  });

  test("bytes with a field the reader does not know are left to the general path", () => {
    const bytes = encodeAnswer(ok("promise.get", { promise: { id: "a", state: "pending", param: { headers: {}, data: "" }, value: { headers: {}, data: "" }, tags: {}, timeoutAt: 1, createdAt: 1 } }))!;
    const withUnknown = Buffer.concat([Buffer.from(bytes), Buffer.from([0x50, 0x01])]); // field 10, varint 1
    expect(decodeAnswer("promise.get", withUnknown)).toBeUndefined();
  });
});

describe("requests in the usual domain are read without the general path", () => {
  const usualCreate = createData.map((d) => ({ ...d, timeoutAt: Math.trunc(Math.abs(d.timeoutAt)) % 2 ** 45 }));
  const usualWrite = fc.oneof(
    usualCreate.map((data) => ({ kind: "promise.create" as const, data })),
    settleData.map((data) => ({ kind: "promise.settle" as const, data })),
  );
  test("task.fence, task.fence_batch, task.create and task.fulfill", () => {
    usualRequests = true;
    try {
      fc.assert(fc.property(text, version, usualWrite, (id, v, action) => sameRequestBytes({ kind: "task.fence", data: { id, version: v, action } })), { numRuns: 200 });
      fc.assert(
        fc.property(text, version, fc.array(usualWrite, { maxLength: 5 }), (id, v, actions) =>
          sameRequestBytes({ kind: "task.fence_batch", data: { id, version: v, actions } }),
        ),
        { numRuns: 100 },
      );
      fc.assert(
        fc.property(text, fc.nat(), usualCreate, (pid, ttl, data) =>
          sameRequestBytes({ kind: "task.create", data: { pid, ttl, action: { kind: "promise.create", data } } }),
        ),
        { numRuns: 100 },
      );
      fc.assert(
        fc.property(text, version, settleData, (id, v, data) =>
          sameRequestBytes({ kind: "task.fulfill", data: { id, version: v, action: { kind: "promise.settle", data } } }),
        ),
        { numRuns: 100 },
      );
      fc.assert(
        fc.property(text, version, settleData, fc.array(usualWrite, { minLength: 1, maxLength: 5 }), (id, v, data, actions) =>
          sameRequestBytes({ kind: "task.fulfill", data: { id, version: v, action: { kind: "promise.settle", data }, actions } }),
        ),
        { numRuns: 100 },
      );
    } finally {
      usualRequests = false;
    }
  });

  test("a fence without an action is left to the general path", () => {
    const { method } = rpcOf("task.fence");
    const bytes = toBinary(method.input, create(method.input, { id: "a", version: 1n }));
    expect(decodeRequest("task.fence", bytes)).toBeUndefined();
  });
});
