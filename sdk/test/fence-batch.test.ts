// The batch of fenced writes through both SDK transports (in-process and
// gRPC to a real server on an ephemeral port): the same call, the same
// answers, so the replay core can batch without caring which it runs on.

import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NodeClient } from "@resonate-mesh/node/client";
import { createMeshNode, ManualClock, type MeshNode } from "@resonate-mesh/node/local";
import type { PromiseCreateRequest, PromiseSettleRequest, Response } from "@resonate-mesh/node/protocol";
import { startServer, type RunningServer } from "@resonate-mesh/node/server";
import { MemoryStore } from "@resonate-mesh/node/store";
import { GrpcTransport } from "../src/transport/grpc.ts";
import { LocalTransport } from "../src/transport/local.ts";
import { fenceBatch, type Transport } from "../src/transport/types.ts";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

let node: MeshNode;
let server: RunningServer;
const transports: Record<string, Transport> = {};

beforeAll(async () => {
  node = createMeshNode({ store: new MemoryStore(), clock: new ManualClock(T0) });
  server = await startServer({ engine: node, port: 0, host: "127.0.0.1" });
  transports.local = new LocalTransport({ node });
  transports.grpc = new GrpcTransport({ url: `http://${server.address}`, logger: pino({ level: "silent" }) });
});

afterAll(async () => {
  for (const t of Object.values(transports)) await t.close();
  await server.close();
  await node.stop();
});

async function heldTask(transport: Transport, id: string): Promise<void> {
  const res = await transport.send({
    kind: "task.create",
    data: { pid: "w1", ttl: 60_000, action: { kind: "promise.create", data: { id, timeoutAt: T0 + HOUR, tags: { "resonate:target": "poll://any@workers" } } } },
  });
  expect(res.status).toBe(200);
}

const writes = (root: string): (PromiseCreateRequest | PromiseSettleRequest)[] => [
  { kind: "promise.create", data: { id: `${root}.1`, timeoutAt: T0 + HOUR, tags: { "resonate:branch": root }, settled: { state: "resolved", value: { headers: {}, data: "MQ==" } } } },
  { kind: "promise.create", data: { id: `${root}.2`, timeoutAt: T0 + HOUR, tags: { "resonate:branch": root } } },
  { kind: "promise.settle", data: { id: `${root}.9`, state: "resolved", value: { headers: {}, data: "" } } },
];

/** The answers without what differs by id. */
const shape = (res: Response<"task.fence_batch">) =>
  "data" in res ? res.data.actions.map((a) => ("data" in a ? [a.kind, a.status, a.data.promise.state] : [a.kind, a.status, a.error.code])) : res.status;

describe("fenceBatch through each transport", () => {
  for (const name of ["local", "grpc"]) {
    test(`${name}: answers every write in order, a refused one in its slot`, async () => {
      const transport = transports[name]!;
      await heldTask(transport, `${name}-root`);
      const res = await fenceBatch(transport, { id: `${name}-root`, version: 1 }, writes(`${name}-root`));
      expect(shape(res)).toEqual([
        ["promise.create", 200, "resolved"],
        ["promise.create", 200, "pending"],
        ["promise.settle", 404, "PROMISE_NOT_FOUND"],
      ]);
    });

    test(`${name}: a stale version is the answer of the whole call and writes nothing`, async () => {
      const transport = transports[name]!;
      await heldTask(transport, `${name}-stale`);
      const res = await fenceBatch(transport, { id: `${name}-stale`, version: 0 }, writes(`${name}-stale`));
      expect(res).toMatchObject({ kind: "task.fence_batch", status: 409, error: { code: "TASK_VERSION_MISMATCH" } });
      const child = await transport.send({ kind: "promise.get", data: { id: `${name}-stale.1` } });
      expect(child.status).toBe(404);
    });
  }

  test("NodeClient.fenceBatch is the same call", async () => {
    const client = new NodeClient({ address: server.address });
    try {
      await heldTask(transports.grpc!, "client-root");
      const res = await client.fenceBatch({ id: "client-root", version: 1 }, writes("client-root"));
      expect(shape(res)).toEqual([
        ["promise.create", 200, "resolved"],
        ["promise.create", 200, "pending"],
        ["promise.settle", 404, "PROMISE_NOT_FOUND"],
      ]);
    } finally {
      client.close();
    }
  });
});
