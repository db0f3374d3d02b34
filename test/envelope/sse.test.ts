// The worker inbox over Server-Sent Events, GET /poll/:group/:pid, on a real
// node: execute and unblock messages in the wire shape the official SDK
// reads, keep-alives, the connection limit, and a dropped stream that leaves
// nothing behind.

import { isMessage } from "@resonatehq/sdk";
import * as grpc from "@grpc/grpc-js";
import { TaskService } from "@resonate-mesh/node/proto";
import { createClient } from "@resonate-mesh/node/internal-for-tests";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { b64, eventually, SseClient, startTestNode, T0, type TestNode } from "./helpers.ts";

const LATER = T0 + 86_400_000;

let t: TestNode;
const streams: SseClient[] = [];
/** Workers the node holds itself (the gRPC Watch hub's inbox). */
let own = 0;
const workers = () => t.node.stats().messages.workers - own;
beforeAll(async () => {
  t = await startTestNode({ sse: { keepAliveMs: 50, maxConnections: 4, serverUrl: "http://node.example:8001" } });
  own = t.node.stats().messages.workers;
});
afterEach(async () => {
  await Promise.all(streams.splice(0).map((s) => s.close()));
  await eventually("every stream to be closed", () => workers() === 0);
});
afterAll(async () => {
  await t.close();
});

async function open(group: string, pid: string): Promise<SseClient> {
  const s = await SseClient.open(t.url, group, pid);
  streams.push(s);
  return s;
}

const createTargeted = (id: string, address: string) =>
  t.send({ kind: "promise.create", data: { id, timeoutAt: LATER, param: { headers: {}, data: b64({ func: "f", args: [], version: 1 }) }, tags: { "resonate:target": address } } });

describe("GET /poll/:group/:pid", () => {
  it("streams an execute for a task addressed to the worker's group, in the SDK's wire shape", async () => {
    const s = await open("sse-a", "w1");
    expect(s.status).toBe(200);
    expect(s.contentType).toBe("text/event-stream");
    await createTargeted("sse-1", "poll://any@sse-a");
    await s.waitFor((m) => m.length === 1);
    expect(s.messages[0]).toEqual({ kind: "execute", head: { serverUrl: "http://node.example:8001" }, data: { task: { id: "sse-1", version: 0 } } });
    expect(isMessage(s.messages[0])).toBe(true);
  });

  it("streams an unblock to a listener address when the promise settles", async () => {
    const s = await open("sse-clients", "c1");
    await t.send({ kind: "promise.create", data: { id: "sse-2", timeoutAt: LATER } });
    await t.send({ kind: "promise.register_listener", data: { awaited: "sse-2", address: "poll://uni@sse-clients/c1" } });
    await t.send({ kind: "promise.settle", data: { id: "sse-2", state: "resolved", value: { data: b64("ok") } } });
    await s.waitFor((m) => m.length === 1);
    expect(s.messages[0]).toMatchObject({ kind: "unblock", head: {}, data: { promise: { id: "sse-2", state: "resolved", value: { headers: {}, data: b64("ok") } } } });
    expect(Object.keys(s.messages[0].data.promise)).not.toContain("listeners");
    expect(isMessage(s.messages[0])).toBe(true);
  });

  it("delivers work created before the worker connected, once it connects", async () => {
    await createTargeted("sse-3", "poll://any@sse-late");
    const s = await open("sse-late", "w1");
    await s.waitFor((m) => m.some((x) => x.data.task?.id === "sse-3"));
  });

  it("decodes percent-encoded group and pid", async () => {
    const s = await open("sse:enc", "w~1");
    await createTargeted("sse-4", "poll://uni@sse:enc/w~1");
    await s.waitFor((m) => m.length === 1);
  });

  it("sends keep-alive comments while idle", async () => {
    const s = await open("sse-idle", "w1");
    await eventually("two keep-alives", () => s.comments.filter((c) => c === "keep-alive").length >= 2, 2_000);
    expect(s.messages).toEqual([]);
  });

  it("answers 503 in JSON once the connection limit is reached", async () => {
    for (let i = 0; i < 4; i++) expect((await open("sse-full", `w${i}`)).status).toBe(200);
    const refused = await open("sse-full", "w4");
    expect(refused.status).toBe(503);
    expect(refused.contentType).toBe("application/json");
    expect(JSON.parse(refused.body).error).toMatch(/4 worker streams/);
  });

  it("answers 400 in JSON for a group that cannot be addressed", async () => {
    const bad = await open("no spaces", "w1");
    expect(bad.status).toBe(400);
    expect(bad.contentType).toBe("application/json");
    expect(JSON.parse(bad.body).error).toMatch(/group/);
    const reserved = await open("__watch__", "w1");
    expect(reserved.status).toBe(400);
  });
});

describe("a dropped stream", () => {
  it("closes its subscription: new work goes to the worker still connected", async () => {
    const a = await open("sse-drop", "a");
    const b = await open("sse-drop", "b");
    await eventually("both workers registered", () => workers() === 2);
    await a.close();
    await eventually("the dropped worker to be gone", () => workers() === 1);
    for (const id of ["drop-1", "drop-2", "drop-3"]) await createTargeted(id, "poll://any@sse-drop");
    await b.waitFor((m) => m.length === 3);
    expect(a.messages).toEqual([]);
  });

  it("leaves its task to come back when the lease ends", async () => {
    const a = await open("sse-lease", "a");
    await createTargeted("lease-1", "poll://any@sse-lease");
    await a.waitFor((m) => m.length === 1);
    await t.send({ kind: "task.acquire", data: { id: "lease-1", version: 0, pid: "a", ttl: 5_000 } });
    await a.close();
    const b = await open("sse-lease", "b");
    t.clock.advance(5_000);
    await t.node.tick();
    await b.waitFor((m) => m.some((x) => x.data.task?.id === "lease-1"));
    expect(b.messages.find((x) => x.data.task?.id === "lease-1").data.task.version).toBe(1);
    expect((await t.send({ kind: "task.acquire", data: { id: "lease-1", version: 1, pid: "b", ttl: 5_000 } })).status).toBe(200);
  });
});

describe("one dispatcher for both transports", () => {
  it("a group's tasks reach its workers whether they listen over SSE or gRPC", async () => {
    const sse = await open("mixed", "sse-worker");
    const client = createClient(TaskService, t.server.address);
    const received: string[] = [];
    const call = (client as unknown as { grpcClient: grpc.Client }).grpcClient as unknown as Record<string, Function>;
    const stream = call["poll"]!.call(client.grpcClient, { group: "mixed", pid: "grpc-worker" }) as grpc.ClientReadableStream<{ message: { case: string; value: { task: { id: string } } } }>;
    stream.on("data", (m) => received.push(m.message.value.task.id));
    stream.on("error", () => {});
    try {
      await eventually("both workers registered", () => workers() === 2);
      for (let i = 0; i < 4; i++) await createTargeted(`mixed-${i}`, "poll://any@mixed");
      await eventually("all four delivered", () => sse.messages.length + received.length === 4);
      expect(sse.messages.length).toBeGreaterThan(0);
      expect(received.length).toBeGreaterThan(0);
    } finally {
      stream.cancel();
      client.close();
    }
  });
});
