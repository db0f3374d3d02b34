// TaskService.FenceBatch (our extension) over gRPC against a real node:
// several fenced writes in one call, the fence checked once, the writes
// committed together, each answered in order.

import { describe, expect, test } from "vitest";
import { HOUR, PromiseState, SettleState, T0, TaskState, bytes, expectInvalid, expectStatus, grpc, nodePerTest, target, text } from "./harness.ts";

const n = nodePerTest();

async function heldRoot(): Promise<void> {
  await n.promises.create({ id: "root", timeoutAt: BigInt(T0 + HOUR), tags: target("poll://any@workers") });
  await n.tasks.acquire({ id: "root", version: 0n, pid: "w1", ttl: 10_000n });
}

const createChild = (id: string, extra: Record<string, unknown> = {}) => ({
  action: { case: "create" as const, value: { id, timeoutAt: BigInt(T0 + HOUR), tags: { "resonate:branch": "root" }, ...extra } },
});
const settleChild = (id: string, data = "") => ({
  action: { case: "settle" as const, value: { id, state: SettleState.RESOLVED, value: { data: bytes(data) } } },
});

describe("FenceBatch", () => {
  test("creates and settles children in one call and answers each write in order", async () => {
    await heldRoot();
    const res = await n.tasks.fenceBatch({
      id: "root",
      version: 1n,
      actions: [
        createChild("root.1"),
        createChild("root.2", { settled: { state: SettleState.RESOLVED, value: { data: bytes("2") } } }),
        settleChild("root.1", "1"),
      ],
    });
    expect(res.results.map((r) => r.result.case)).toEqual(["create", "create", "settle"]);
    const promiseOf = (i: number) => (res.results[i]!.result.value as { promise?: { state: PromiseState; value?: { data: Uint8Array } } }).promise!;
    expect(promiseOf(0).state).toBe(PromiseState.PENDING);
    expect(promiseOf(1).state).toBe(PromiseState.RESOLVED);
    expect(text(promiseOf(2).value?.data)).toBe("1");
    expect((await n.promises.get({ id: "root.1" })).promise!.state).toBe(PromiseState.RESOLVED);
    expect((await n.promises.get({ id: "root.2" })).promise!.state).toBe(PromiseState.RESOLVED);
  });

  test("a write the protocol refuses is an error in its slot, with the status and code its Fence would have failed with", async () => {
    await heldRoot();
    const res = await n.tasks.fenceBatch({ id: "root", version: 1n, actions: [settleChild("root.9"), createChild("root.1")] });
    expect(res.results[0]!.result).toMatchObject({ case: "error", value: { kind: "promise.settle", status: 404, code: "PROMISE_NOT_FOUND" } });
    expect(res.results[1]!.result.case).toBe("create");
    expect((await n.promises.get({ id: "root.1" })).promise!.state).toBe(PromiseState.PENDING);
  });

  test("a stale version is ABORTED and none of the writes happen", async () => {
    await heldRoot();
    await expectStatus(
      n.tasks.fenceBatch({ id: "root", version: 0n, actions: [createChild("root.1"), createChild("root.2")] }),
      grpc.status.ABORTED,
      "TASK_VERSION_MISMATCH",
    );
    await expectStatus(n.promises.get({ id: "root.1" }), grpc.status.NOT_FOUND, "PROMISE_NOT_FOUND");
    await expectStatus(n.promises.get({ id: "root.2" }), grpc.status.NOT_FOUND, "PROMISE_NOT_FOUND");
  });

  test("a task that is not acquired is FAILED_PRECONDITION", async () => {
    await n.promises.create({ id: "root", timeoutAt: BigInt(T0 + HOUR), tags: target("poll://any@workers") });
    await expectStatus(n.tasks.fenceBatch({ id: "root", version: 0n, actions: [createChild("root.1")] }), grpc.status.FAILED_PRECONDITION, "TASK_STATE_CONFLICT");
    expect((await n.tasks.get({ id: "root" })).task!.state).toBe(TaskState.PENDING);
  });

  test("one malformed write is INVALID_ARGUMENT naming it in protobuf terms, and nothing is written", async () => {
    await heldRoot();
    await expectInvalid(
      n.tasks.fenceBatch({ id: "root", version: 1n, actions: [createChild("root.1"), createChild("root.2", { timeoutAt: -5n })] }),
      "actions[1].create.timeout_at",
    );
    await expectStatus(n.promises.get({ id: "root.1" }), grpc.status.NOT_FOUND, "PROMISE_NOT_FOUND");
  });

  test("a write with neither create nor settle is INVALID_ARGUMENT naming its position", async () => {
    await heldRoot();
    await expectInvalid(n.tasks.fenceBatch({ id: "root", version: 1n, actions: [createChild("root.1"), {}] }), "actions[1]");
  });

  test("a targeted child created in a batch is dispatched", async () => {
    const inbox = await n.poll("workers", "w1");
    await heldRoot();
    await inbox.nextExecute();
    await n.tasks.fenceBatch({ id: "root", version: 1n, actions: [createChild("root.1", { tags: target("poll://any@workers") })] });
    expect(await inbox.nextExecute()).toEqual({ id: "root.1", version: 0n });
  });
});
