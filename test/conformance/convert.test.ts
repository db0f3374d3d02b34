// The wire mapping the node and the SDK share (api/grpc/convert.ts): every
// request kind survives protocol -> protobuf -> protocol, and so does every
// successful answer, so the two sides cannot disagree about a field.

import { describe, expect, test } from "vitest";
import {
  fromProtocolRequest,
  fromProtocolResponse,
  kinds,
  messageFromProto,
  messageToProto,
  rpcOf,
  toProtocolRequest,
  toProtocolResponse,
  type OkResponse,
} from "@resonate-mesh/node/client";
import type { Kind, Message, PromiseRecord, RequestOf, ScheduleRecord, TaskRecord } from "@resonate-mesh/node/protocol";

const value = { headers: { enc: "json" }, data: Buffer.from('{"a":1}').toString("base64") };
const empty = { headers: {}, data: "" };
const promise: PromiseRecord = {
  id: "p",
  state: "resolved",
  param: value,
  value: empty,
  tags: { "resonate:target": "poll://any@g" },
  timeoutAt: 1_700_000_060_000,
  createdAt: 1_700_000_000_000,
  settledAt: 1_700_000_001_000,
};
const pending: PromiseRecord = { ...promise, id: "q", state: "pending", value: empty, settledAt: undefined };
delete pending.settledAt;
const task: TaskRecord = { id: "p", state: "acquired", version: 3, resumes: ["p.1"], pid: "w1", ttl: 60_000 };
const schedule: ScheduleRecord = {
  id: "s",
  cron: "*/5 * * * *",
  promiseId: "{{.id}}-{{.timestamp}}",
  promiseTimeout: 60_000,
  promiseParam: value,
  promiseTags: { "resonate:target": "g" },
  createdAt: 1,
  nextRunAt: 2,
  lastRunAt: 1,
};
const create = { id: "p", timeoutAt: 5, param: value, tags: { a: "b" } };
const settle = { id: "p", state: "rejected" as const, value };

const requests: { [K in Kind]: RequestOf<K>["data"] } = {
  "promise.get": { id: "p" },
  "promise.create": { ...create, settled: { state: "resolved", value } },
  "promise.settle": settle,
  "promise.register_callback": { awaited: "p.1", awaiter: "p" },
  "promise.register_listener": { awaited: "p", address: "poll://uni@g/w1" },
  "promise.search": { state: "pending", tags: { a: "b" }, id: "p*", limit: 10, cursor: "c" },
  "task.get": { id: "p" },
  "task.create": { pid: "w1", ttl: 1_000, action: { kind: "promise.create", data: create } },
  "task.acquire": { id: "p", version: 2, pid: "w1", ttl: 1_000 },
  "task.release": { id: "p", version: 2 },
  "task.suspend": { id: "p", version: 2, actions: [{ kind: "promise.register_callback", data: { awaited: "p.1", awaiter: "p" } }] },
  "task.fulfill": { id: "p", version: 2, action: { kind: "promise.settle", data: settle } },
  "task.fence": { id: "p", version: 2, action: { kind: "promise.create", data: { ...create, id: "p.1" } } },
  "task.fence_batch": {
    id: "p",
    version: 2,
    actions: [
      { kind: "promise.create", data: { ...create, id: "p.1", settled: { state: "resolved", value } } },
      { kind: "promise.settle", data: { ...settle, id: "p.2" } },
    ],
  },
  "task.heartbeat": { pid: "w1", tasks: [{ id: "p", version: 2 }, { id: "q", version: 0 }] },
  "task.halt": { id: "p" },
  "task.continue": { id: "p" },
  "task.search": { state: "suspended", id: "p", limit: 5, cursor: "c" },
  "schedule.get": { id: "s" },
  "schedule.create": {
    id: "s",
    cron: "*/5 * * * *",
    promiseId: "{{.id}}",
    promiseTimeout: 10,
    promiseParam: value,
    promiseTags: { "resonate:target": "g" },
  },
  "schedule.delete": { id: "s" },
  "schedule.search": { tags: { a: "b" }, id: "s", limit: 3, cursor: "c" },
};

const ok = <K extends Kind>(kind: K, data: unknown, status: 200 | 300 = 200) => ({ kind, status, data }) as OkResponse<K>;
const responses: { [K in Kind]: OkResponse<K> } = {
  "promise.get": ok("promise.get", { promise }),
  "promise.create": ok("promise.create", { promise: pending }),
  "promise.settle": ok("promise.settle", { promise }),
  "promise.register_callback": ok("promise.register_callback", { promise }),
  "promise.register_listener": ok("promise.register_listener", { promise }),
  "promise.search": ok("promise.search", { promises: [promise, pending], cursor: "q" }),
  "task.get": ok("task.get", { task }),
  "task.create": ok("task.create", { task, promise: pending, preload: [promise] }),
  "task.acquire": ok("task.acquire", { task, promise: pending, preload: [] }),
  "task.release": ok("task.release", {}),
  "task.suspend": ok("task.suspend", { preload: [promise] }, 300),
  "task.fulfill": ok("task.fulfill", { promise }),
  "task.fence": ok("task.fence", { action: ok("promise.settle", { promise }), preload: [pending] }),
  "task.fence_batch": ok("task.fence_batch", {
    actions: [
      ok("promise.create", { promise: pending }),
      { kind: "promise.settle", status: 404, error: { status: 404, code: "PROMISE_NOT_FOUND", message: 'promise "p.2" does not exist' } },
      ok("promise.settle", { promise }),
    ],
  }),
  "task.heartbeat": ok("task.heartbeat", {}),
  "task.halt": ok("task.halt", {}),
  "task.continue": ok("task.continue", {}),
  "task.search": ok("task.search", { tasks: [task] }),
  "schedule.get": ok("schedule.get", { schedule }),
  "schedule.create": ok("schedule.create", { schedule }),
  "schedule.delete": ok("schedule.delete", {}),
  "schedule.search": ok("schedule.search", { schedules: [schedule], cursor: "s" }),
};

describe("every request kind round-trips through protobuf", () => {
  for (const kind of kinds) {
    test(kind, () => {
      const request = { kind, data: requests[kind] } as RequestOf<typeof kind>;
      expect(toProtocolRequest(kind, fromProtocolRequest(request))).toEqual(request);
    });
  }
});

describe("every successful answer round-trips through protobuf", () => {
  for (const kind of kinds) {
    test(kind, () => {
      const response = responses[kind];
      expect(toProtocolResponse(kind, fromProtocolResponse(response))).toEqual(response);
    });
  }

  test("a suspend that suspended (200) stays a 200 without preload", () => {
    const response = ok("task.suspend", {});
    expect(toProtocolResponse("task.suspend", fromProtocolResponse(response))).toEqual(response);
  });
});

test("every kind names the RPC that carries it", () => {
  const paths = kinds.map((k) => `${rpcOf(k).service.typeName}/${rpcOf(k).method.name}`);
  expect(new Set(paths).size).toBe(kinds.length);
  expect(paths).toContain("resonate.mesh.v1.TaskService/Fence");
});

test("worker messages round-trip through the Poll stream message", () => {
  const messages: Message[] = [
    { kind: "execute", address: "poll://uni@g/w1", task: { id: "p", version: 4 } },
    { kind: "unblock", address: "poll://uni@g/w1", promise },
  ];
  for (const m of messages) expect(messageFromProto(messageToProto(m), m.address)).toEqual(m);
});
