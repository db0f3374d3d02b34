// task.fulfill carrying fenced writes (our extension) as a JSON envelope and
// over gRPC: each write a nested envelope, its answer an envelope echoing
// its corrId; one malformed write refuses everything and nothing is written.

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
const settleRoot = { kind: "promise.settle", data: { id: "root", state: "resolved", value: { headers: {}, data: "Mw==" } } };

async function heldRoot(): Promise<void> {
  await n.send({ kind: "promise.create", data: { id: "root", timeoutAt: LATER, param: empty, tags: { "resonate:target": "poll://any@g" } } });
  const acquired = await n.send({ kind: "task.acquire", data: { id: "root", version: 0, pid: "w", ttl: 60_000 } });
  expect(acquired.status).toBe(200);
}

const wrap = (corrId: string, kind: string, data: unknown) => ({ kind, head: { corrId, version: VERSION }, data });

describe("task.fulfill with actions over the JSON envelope", () => {
  it("applies the writes, settles the root, and answers each write with an envelope echoing its corrId", async () => {
    await heldRoot();
    const body = {
      kind: "task.fulfill",
      head: { corrId: "outer", version: VERSION },
      data: {
        id: "root",
        version: 1,
        action: wrap("s", settleRoot.kind, settleRoot.data),
        actions: [
          wrap("a", "promise.create", { id: "root.1", timeoutAt: LATER, param: empty, tags: {}, settled: { state: "resolved", value: { headers: {}, data: "MQ==" } } }),
          wrap("b", "promise.settle", { id: "root.9", state: "resolved", value: empty }),
        ],
      },
    };
    const answer = await n.post(JSON.stringify(body));
    expect(answer.status).toBe(200);
    expect(answer.body.data.promise).toMatchObject({ id: "root", state: "resolved" });
    const actions = answer.body.data.actions as { kind: string; head: { corrId: string; status: number }; data: any }[];
    expect(actions.map((a) => [a.kind, a.head.corrId, a.head.status])).toEqual([
      ["promise.create", "a", 200],
      ["promise.settle", "b", 404],
    ]);
    expect(actions[0]!.data.promise).toMatchObject({ id: "root.1", state: "resolved", value: { data: "MQ==" } });
  });

  it("one malformed write refuses the whole request (400) naming it, and nothing is written", async () => {
    await heldRoot();
    const before = await n.dump();
    const answer = await n.post(
      JSON.stringify(
        envelopeOf({
          kind: "task.fulfill",
          data: {
            id: "root",
            version: 1,
            action: settleRoot,
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

describe("task.fulfill with actions over gRPC", () => {
  it("answers every write in `results`, as the envelope does", async () => {
    await heldRoot();
    const answer = await n.grpc({
      kind: "task.fulfill",
      data: {
        id: "root",
        version: 1,
        action: settleRoot as never,
        actions: [{ kind: "promise.create", data: { id: "root.1", timeoutAt: LATER, param: empty, tags: {} } }],
      },
    });
    expect(answer.status).toBe(200);
    if (!("data" in answer)) throw new Error("refused");
    expect(answer.data.promise.state).toBe("resolved");
    expect(answer.data.actions!.map((a) => [a.kind, a.status])).toEqual([["promise.create", 200]]);
  });

  it("a malformed write is INVALID_ARGUMENT naming actions[i] in protobuf terms, and nothing is written", async () => {
    await heldRoot();
    const before = await n.dump();
    const answer = await n.grpc({
      kind: "task.fulfill",
      data: {
        id: "root",
        version: 1,
        action: settleRoot as never,
        actions: [
          { kind: "promise.create", data: { id: "root.1", timeoutAt: LATER, param: empty, tags: {} } },
          { kind: "promise.settle", data: { id: "root", state: "resolved", value: empty } },
        ],
      },
    });
    expect(answer.status).toBe(400); // read back from the status INVALID_ARGUMENT
    if (!("error" in answer)) throw new Error("accepted");
    expect(answer.error.field).toBe("actions[1].settle.id");
    expect(answer.error.message).toMatch(/^actions\[1\]\.settle\.id must differ from the task id "root"/);
    expect(await n.dump()).toEqual(before);
  });
});
