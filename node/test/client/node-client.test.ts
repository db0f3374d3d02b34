// The node client (SDK and CLI) against a real node on an ephemeral port:
// answers in the protocol's shape, fence answers read from what the node
// sends (the status and `resonate-inner-kind`), and no answer as an error.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NoAnswerError, NodeClient } from "../../src/client/index.ts";
import { startServer, type RunningServer } from "../../src/api/index.ts";
import { createMeshNode, ManualClock, type MeshNode } from "../../src/local/index.ts";
import { MemoryStore } from "../../src/store/index.ts";
import type { Response } from "../../src/protocol/index.ts";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

describe("NodeClient", () => {
  let node: MeshNode;
  let server: RunningServer;
  let client: NodeClient;

  beforeAll(async () => {
    node = createMeshNode({ store: new MemoryStore(), clock: new ManualClock(T0) });
    server = await startServer({ engine: node, port: 0 });
    client = new NodeClient({ address: server.address });
  });

  afterAll(async () => {
    client.close();
    await server.close();
    await node.stop();
  });

  /** A task acquired by this test at version 1 (task.create: the "run here" path). */
  async function heldTask(id: string): Promise<void> {
    const res = await client.send({
      kind: "task.create",
      data: { pid: "w1", ttl: 60_000, action: { kind: "promise.create", data: { id, timeoutAt: T0 + HOUR, tags: { "resonate:target": "poll://any@workers" } } } },
    });
    expect(res.status).toBe(200);
  }

  test("a refusal is an answer: an unknown promise is 404 PROMISE_NOT_FOUND", async () => {
    const res = await client.send({ kind: "promise.get", data: { id: "nothing-here" } });
    expect(res).toMatchObject({ kind: "promise.get", status: 404, error: { code: "PROMISE_NOT_FOUND" } });
  });

  test("a fence whose inner settle fails is answered 200 with the inner failure inside, as the node marked it", async () => {
    await heldTask("fence-inner");
    const res = (await client.send({
      kind: "task.fence",
      data: { id: "fence-inner", version: 1, action: { kind: "promise.settle", data: { id: "fence-inner.9", state: "resolved", value: { headers: {}, data: "" } } } },
    })) as Response<"task.fence">;
    expect(res.status).toBe(200);
    expect(res).toMatchObject({ data: { action: { kind: "promise.settle", status: 404, error: { code: "PROMISE_NOT_FOUND" } } } });
  });

  test("a fence refused as a whole (stale version) is answered 409, not as an inner failure", async () => {
    await heldTask("fence-stale");
    const res = await client.send({
      kind: "task.fence",
      data: { id: "fence-stale", version: 0, action: { kind: "promise.create", data: { id: "fence-stale.1", timeoutAt: T0 + HOUR } } },
    });
    expect(res).toMatchObject({ status: 409, error: { code: "TASK_VERSION_MISMATCH" } });
  });

  test("a fence refused as a whole for bad input (no task id) is answered 400, though its code has no TASK_ prefix", async () => {
    const res = await client.send({
      kind: "task.fence",
      data: { id: "", version: 1, action: { kind: "promise.create", data: { id: "x.1", timeoutAt: T0 + HOUR } } },
    });
    expect(res).toMatchObject({ status: 400, error: { code: "INVALID_ARGUMENT" } });
  });

  test("no node listening is no answer: NoAnswerError, not a protocol response", async () => {
    const probe = await startServer({ engine: node, port: 0 });
    const address = probe.address;
    await probe.close();
    const nowhere = new NodeClient({ address, requestTimeoutMs: 5_000 });
    try {
      await expect(nowhere.send({ kind: "promise.get", data: { id: "p" } })).rejects.toBeInstanceOf(NoAnswerError);
    } finally {
      nowhere.close();
    }
  });
});
