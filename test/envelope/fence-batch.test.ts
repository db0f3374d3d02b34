// task.fence_batch (our extension) as a JSON envelope: each write is a nested
// envelope, each answer an envelope echoing that write's corrId, in order.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { envelopeOf, startTestNode, T0, VERSION, type TestNode } from "./helpers.ts";

let n: TestNode;
beforeEach(async () => {
  n = await startTestNode();
});
afterEach(async () => {
  await n.close();
});

const LATER = T0 + 3_600_000;
const empty = { headers: {}, data: "" };

async function heldRoot(): Promise<void> {
  await n.send({ kind: "promise.create", data: { id: "root", timeoutAt: LATER, param: empty, tags: { "resonate:target": "poll://any@g" } } });
  const acquired = await n.send({ kind: "task.acquire", data: { id: "root", version: 0, pid: "w", ttl: 60_000 } });
  expect(acquired.status).toBe(200);
}

const wrap = (corrId: string, kind: string, data: unknown) => ({ kind, head: { corrId, version: VERSION }, data });

describe("task.fence_batch over the JSON envelope", () => {
  it("answers one envelope per write, in order, each echoing its own corrId", async () => {
    await heldRoot();
    const body = {
      kind: "task.fence_batch",
      head: { corrId: "outer", version: VERSION },
      data: {
        id: "root",
        version: 1,
        actions: [
          wrap("a", "promise.create", { id: "root.1", timeoutAt: LATER, param: empty, tags: {} }),
          wrap("b", "promise.settle", { id: "root.1", state: "resolved", value: { headers: {}, data: "MQ==" } }),
          wrap("c", "promise.settle", { id: "root.9", state: "resolved", value: empty }),
        ],
      },
    };
    const answer = await n.post(JSON.stringify(body));
    expect(answer.status).toBe(200);
    expect(answer.body.head).toEqual({ corrId: "outer", status: 200, version: VERSION });
    const actions = answer.body.data.actions as { kind: string; head: { corrId: string; status: number }; data: any }[];
    expect(actions.map((a) => [a.kind, a.head.corrId, a.head.status])).toEqual([
      ["promise.create", "a", 200],
      ["promise.settle", "b", 200],
      ["promise.settle", "c", 404],
    ]);
    expect(actions[0]!.data.promise.state).toBe("pending");
    expect(actions[1]!.data.promise).toMatchObject({ id: "root.1", state: "resolved", value: { data: "MQ==" } });
    expect(typeof actions[2]!.data).toBe("string");
  });

  it("answers exactly what gRPC answers for the same batch", async () => {
    await heldRoot();
    const request = {
      kind: "task.fence_batch" as const,
      data: { id: "root", version: 1, actions: [{ kind: "promise.create" as const, data: { id: "root.1", timeoutAt: LATER, param: empty, tags: {} } }] },
    };
    const viaHttp = await n.send(request, "x");
    // The first call created root.1; the same batch again answers the existing record over gRPC.
    const viaGrpc = await n.grpc(request);
    expect(viaGrpc.status).toBe(200);
    const grpcPromise = "data" in viaGrpc && "data" in viaGrpc.data.actions[0]! ? viaGrpc.data.actions[0].data.promise : undefined;
    expect(viaHttp.body.data.actions[0].data.promise).toEqual({ ...grpcPromise });
  });

  it("a stale version refuses the whole batch (409) and nothing is written", async () => {
    await heldRoot();
    const before = await n.dump();
    const answer = await n.send({
      kind: "task.fence_batch",
      data: { id: "root", version: 7, actions: [{ kind: "promise.create", data: { id: "root.1", timeoutAt: LATER, param: empty, tags: {} } }] },
    });
    expect(answer.status).toBe(409);
    expect(answer.body.data).toMatch(/version 1, not 7/);
    expect(await n.dump()).toEqual(before);
  });

  it("one malformed write refuses the whole batch (400) naming it, and nothing is written", async () => {
    await heldRoot();
    const before = await n.dump();
    const answer = await n.post(
      JSON.stringify(
        envelopeOf({
          kind: "task.fence_batch",
          data: {
            id: "root",
            version: 1,
            actions: [
              { kind: "promise.create", data: { id: "root.1", timeoutAt: LATER, tags: {} } },
              { kind: "promise.settle", data: { id: "root.1", state: "maybe" } },
            ],
          },
        }),
      ),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.data).toMatch(/^data\.actions\[1\]\.data\.state must be one of/);
    expect(await n.dump()).toEqual(before);
  });
});
