// One protocol, two adapters: the same sequence of requests, sent as JSON
// envelopes to one node and as gRPC calls to another (both on a ManualClock
// at the same time), gets the same statuses and the same records.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeResponse } from "@resonate-mesh/node/internal-for-tests";
import type { Request, Response } from "@resonate-mesh/node/protocol";
import { b64, startTestNode, T0, type TestNode } from "./helpers.ts";

const LATER = T0 + 86_400_000;
const value = (v: unknown) => ({ headers: {}, data: b64(v) });
const local = (id: string, origin: string) => ({ "resonate:scope": "local", "resonate:branch": origin, "resonate:parent": origin, "resonate:origin": origin });

/** Every kind, with successes and failures, in an order where each step's outcome depends on the ones before. */
const scenario: Request[] = [
  { kind: "promise.create", data: { id: "plain", timeoutAt: LATER, param: value("p"), tags: { team: "a" } } },
  { kind: "promise.get", data: { id: "plain" } },
  { kind: "promise.get", data: { id: "missing" } },
  { kind: "promise.create", data: { id: "bad", timeoutAt: LATER, param: value(1), tags: { "resonate:target": "poll://nobody" } } },
  { kind: "promise.create", data: { id: "wf", timeoutAt: LATER, param: value({ func: "wf", args: [1], version: 1 }), tags: { "resonate:target": "poll://any@g", "resonate:origin": "wf", "resonate:branch": "wf", "resonate:parent": "wf" } } },
  { kind: "promise.create", data: { id: "wf", timeoutAt: LATER + 1, param: value("other"), tags: {} } },
  { kind: "task.get", data: { id: "wf" } },
  { kind: "task.acquire", data: { id: "wf", version: 0, pid: "w", ttl: 60_000 } },
  { kind: "task.acquire", data: { id: "wf", version: 0, pid: "w2", ttl: 60_000 } },
  { kind: "task.get", data: { id: "wf" } },
  { kind: "task.fence", data: { id: "wf", version: 1, action: { kind: "promise.create", data: { id: "wf:0", timeoutAt: LATER, param: value(null), tags: local("wf:0", "wf") } } } },
  { kind: "task.fence", data: { id: "wf", version: 1, action: { kind: "promise.settle", data: { id: "wf:0", state: "resolved", value: value(2) } } } },
  { kind: "task.fence", data: { id: "wf", version: 9, action: { kind: "promise.create", data: { id: "wf:x", timeoutAt: LATER, param: value(null), tags: {} } } } },
  { kind: "task.fence", data: { id: "wf", version: 1, action: { kind: "promise.create", data: { id: "wf", timeoutAt: LATER, param: value(null), tags: {} } } } },
  { kind: "task.fence", data: { id: "wf", version: 1, action: { kind: "promise.create", data: { id: "wf:1", timeoutAt: LATER, param: value(null), tags: { "resonate:scope": "global", "resonate:branch": "wf:1", "resonate:parent": "wf", "resonate:origin": "wf" } } } } },
  { kind: "task.fence_batch", data: { id: "wf", version: 1, actions: [{ kind: "promise.create", data: { id: "wf:b", timeoutAt: LATER, param: value(null), tags: local("wf:b", "wf") } }, { kind: "promise.settle", data: { id: "wf:b", state: "resolved", value: value(3) } }, { kind: "promise.settle", data: { id: "wf:none", state: "resolved", value: value(3) } }] } },
  { kind: "task.fence_batch", data: { id: "wf", version: 9, actions: [{ kind: "promise.create", data: { id: "wf:c", timeoutAt: LATER, param: value(null), tags: {} } }] } },
  { kind: "task.fence_batch", data: { id: "wf", version: 1, actions: [] } },
  { kind: "task.suspend", data: { id: "wf", version: 1, actions: [{ kind: "promise.register_callback", data: { awaiter: "wf", awaited: "wf:1" } }] } },
  { kind: "task.get", data: { id: "wf" } },
  { kind: "promise.settle", data: { id: "wf:1", state: "resolved", value: value("yes") } },
  { kind: "task.get", data: { id: "wf" } },
  { kind: "task.acquire", data: { id: "wf", version: 1, pid: "w", ttl: 60_000 } },
  { kind: "task.suspend", data: { id: "wf", version: 2, actions: [{ kind: "promise.register_callback", data: { awaiter: "wf", awaited: "wf:1" } }] } },
  { kind: "task.suspend", data: { id: "wf", version: 2, actions: [{ kind: "promise.register_callback", data: { awaiter: "wf", awaited: "wf:7" } }] } },
  { kind: "task.heartbeat", data: { pid: "w", tasks: [{ id: "wf", version: 2 }, { id: "elsewhere", version: 1 }] } },
  { kind: "task.release", data: { id: "wf", version: 5 } },
  { kind: "task.release", data: { id: "wf", version: 2 } },
  { kind: "task.acquire", data: { id: "wf", version: 2, pid: "w", ttl: 60_000 } },
  { kind: "task.fulfill", data: { id: "wf", version: 3, action: { kind: "promise.settle", data: { id: "wf", state: "resolved", value: value(42) } } } },
  { kind: "task.fulfill", data: { id: "wf", version: 3, action: { kind: "promise.settle", data: { id: "wf", state: "resolved", value: value(43) } } } },
  { kind: "task.get", data: { id: "wf" } },
  { kind: "task.create", data: { pid: "w", ttl: 10_000, action: { kind: "promise.create", data: { id: "tc", timeoutAt: LATER, param: value({ func: "f", args: [], version: 1 }), tags: { "resonate:target": "poll://any@g/w" } } } } },
  { kind: "task.create", data: { pid: "w2", ttl: 10_000, action: { kind: "promise.create", data: { id: "tc", timeoutAt: LATER, param: value(null), tags: { "resonate:target": "poll://any@g/w" } } } } },
  { kind: "task.create", data: { pid: "w", ttl: 10_000, action: { kind: "promise.create", data: { id: "plain", timeoutAt: LATER, param: value(null), tags: { "resonate:target": "poll://any@g" } } } } },
  { kind: "task.halt", data: { id: "tc" } },
  { kind: "task.halt", data: { id: "nope" } },
  { kind: "task.continue", data: { id: "tc" } },
  { kind: "task.continue", data: { id: "tc" } },
  { kind: "promise.create", data: { id: "cb", timeoutAt: LATER, param: value(null), tags: { "resonate:target": "poll://any@g" } } },
  { kind: "promise.create", data: { id: "cb.1", timeoutAt: LATER, param: value(null), tags: {} } },
  { kind: "promise.register_callback", data: { awaited: "cb.1", awaiter: "cb" } },
  { kind: "promise.register_callback", data: { awaited: "cb.2", awaiter: "cb" } },
  { kind: "promise.register_callback", data: { awaited: "cb.1", awaiter: "plain.x" } },
  { kind: "promise.register_listener", data: { awaited: "plain", address: "poll://uni@clients/c" } },
  { kind: "promise.register_listener", data: { awaited: "missing", address: "poll://uni@clients/c" } },
  { kind: "promise.settle", data: { id: "plain", state: "rejected_canceled", value: value(null) } },
  { kind: "promise.settle", data: { id: "plain", state: "resolved", value: value(null) } },
  { kind: "promise.settle", data: { id: "missing", state: "resolved", value: value(null) } },
  { kind: "promise.search", data: { state: "resolved" } },
  { kind: "promise.search", data: { tags: { "resonate:origin": "wf" }, limit: 1 } },
  { kind: "promise.search", data: { limit: 5000 } },
  { kind: "task.search", data: { state: "fulfilled" } },
  { kind: "task.search", data: {} },
  { kind: "schedule.create", data: { id: "nightly", cron: "0 2 * * *", promiseId: "{{.id}}-{{.timestamp}}", promiseTimeout: 60_000, promiseParam: value({ func: "f", args: [], version: 1 }), promiseTags: { "resonate:target": "poll://any@g" } } },
  { kind: "schedule.create", data: { id: "broken", cron: "not a cron", promiseId: "{{.id}}", promiseTimeout: 60_000, promiseParam: value(null), promiseTags: { "resonate:target": "poll://any@g" } } },
  { kind: "schedule.get", data: { id: "nightly" } },
  { kind: "schedule.get", data: { id: "daily" } },
  { kind: "schedule.search", data: {} },
  { kind: "schedule.delete", data: { id: "nightly" } },
  { kind: "schedule.delete", data: { id: "nightly" } },
];

interface Outcome {
  kind: string;
  status: number;
  data?: unknown;
}

/**
 * gRPC has no "200 with a failure inside": a fence whose inner create or
 * settle fails is the inner failure. Errors compare by status (the sentences
 * name fields in each transport's own spelling).
 */
function outcomeOf(kind: string, status: number, data: unknown): Outcome {
  if (kind === "task.fence" && status === 200) {
    const inner = (data as { action: { head: { status: number } } }).action;
    if (inner.head.status !== 200) return { kind, status: inner.head.status };
  }
  return status === 200 || status === 300 ? { kind, status, data } : { kind, status };
}

let http: TestNode;
let grpc: TestNode;
beforeAll(async () => {
  [http, grpc] = await Promise.all([startTestNode(), startTestNode()]);
});
afterAll(async () => {
  await Promise.all([http.close(), grpc.close()]);
});

describe("the same requests over the JSON envelope and over gRPC", () => {
  it("get the same statuses and the same records, step by step", async () => {
    const viaHttp: Outcome[] = [];
    const viaGrpc: Outcome[] = [];
    for (const request of scenario) {
      const answer = await http.send(request, "x");
      viaHttp.push(outcomeOf(request.kind, answer.status, answer.body.data));
      const response = (await grpc.grpc(request as never)) as Response;
      const envelope = encodeResponse({ kind: request.kind, corrId: "x", innerCorrId: "x" }, response);
      viaGrpc.push(outcomeOf(request.kind, envelope.head.status, envelope.data));
    }
    expect(viaHttp).toEqual(viaGrpc);
    // The scenario exercises every outcome the SDK distinguishes.
    expect(new Set(viaHttp.map((o) => o.status))).toEqual(new Set([200, 300, 400, 404, 409, 422]));
    expect(new Set(viaHttp.map((o) => o.kind)).size).toBe(22);
  });
});
