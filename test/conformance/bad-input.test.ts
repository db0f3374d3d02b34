// Bad input (issue 3): every case is INVALID_ARGUMENT with a message that
// names the field (also in the `resonate-field` trailer) and the rule, and
// nothing is written, which a read afterwards confirms.

import { describe, expect, test } from "vitest";
import { HOUR, PromiseState, SettleState, T0, TaskState, expectInvalid, expectStatus, grpc, nodePerTest, target } from "./harness.ts";

const n = nodePerTest();

const LATER = BigInt(T0 + HOUR);
const absent = (id: string) => expectStatus(n.promises.get({ id }), grpc.status.NOT_FOUND, "PROMISE_NOT_FOUND");
const nothingStored = async () => expect((await n.promises.search({})).promises).toEqual([]);

describe("ids", () => {
  test("an empty id", async () => {
    await expectInvalid(n.promises.create({ id: "", timeoutAt: LATER }), "id", /must not be empty/);
    await nothingStored();
  });

  test("an id with a NUL byte", async () => {
    await expectInvalid(n.promises.create({ id: "a\0b", timeoutAt: LATER }), "id", /NUL/);
    await nothingStored();
  });

  test("an id longer than the limit", async () => {
    await expectInvalid(n.promises.create({ id: "x".repeat(1025), timeoutAt: LATER }), "id", /at most 1024/);
    await nothingStored();
  });

  test("an empty id in a read", async () => {
    await expectInvalid(n.tasks.get({ id: "" }), "id", /must not be empty/);
  });
});

describe("times and durations", () => {
  test("a negative timeout", async () => {
    await expectInvalid(n.promises.create({ id: "p", timeoutAt: -1n }), "timeout_at", /between 0 and 9223372036854775807/);
    await absent("p");
  });


  test("a negative ttl", async () => {
    await n.promises.create({ id: "job", timeoutAt: LATER, tags: target("g") });
    await expectInvalid(n.tasks.acquire({ id: "job", version: 0n, pid: "w1", ttl: -5n }), "ttl", /between 1 and/);
    expect((await n.tasks.get({ id: "job" })).task).toMatchObject({ state: TaskState.PENDING, version: 0n });
  });

  test("an absurd ttl (longer than a week)", async () => {
    await n.promises.create({ id: "job", timeoutAt: LATER, tags: target("g") });
    await expectInvalid(n.tasks.acquire({ id: "job", version: 0n, pid: "w1", ttl: 10n ** 12n }), "ttl");
    expect((await n.tasks.get({ id: "job" })).task!.state).toBe(TaskState.PENDING);
  });

  test("a negative version", async () => {
    await n.promises.create({ id: "job", timeoutAt: LATER, tags: target("g") });
    await expectInvalid(n.tasks.acquire({ id: "job", version: -1n, pid: "w1", ttl: 1_000n }), "version");
    expect((await n.tasks.get({ id: "job" })).task!.state).toBe(TaskState.PENDING);
  });

  test("a delay that is not a time", async () => {
    await expectInvalid(
      n.promises.create({ id: "p", timeoutAt: LATER, tags: { ...target("g"), "resonate:delay": "soon" } }),
      'tags["resonate:delay"]',
    );
    await absent("p");
  });
});

describe("workers", () => {
  test("an empty pid", async () => {
    await n.promises.create({ id: "job", timeoutAt: LATER, tags: target("g") });
    await expectInvalid(n.tasks.acquire({ id: "job", version: 0n, pid: "", ttl: 1_000n }), "pid", /must not be empty/);
    expect((await n.tasks.get({ id: "job" })).task!.state).toBe(TaskState.PENDING);
  });

  test("a heartbeat naming no task", async () => {
    await expectInvalid(n.tasks.heartbeat({ pid: "w1", tasks: [] }), "tasks", /non-empty/);
  });

  test("a suspend with no callbacks", async () => {
    await n.promises.create({ id: "job", timeoutAt: LATER, tags: target("g") });
    await n.tasks.acquire({ id: "job", version: 0n, pid: "w1", ttl: 10_000n });
    await expectInvalid(n.tasks.suspend({ id: "job", version: 1n, actions: [] }), "actions");
    expect((await n.tasks.get({ id: "job" })).task!.state).toBe(TaskState.ACQUIRED);
  });
});

describe("addresses", () => {
  test("a malformed target address", async () => {
    await expectInvalid(
      n.promises.create({ id: "p", timeoutAt: LATER, tags: target("poll://maybe@workers") }),
      'tags["resonate:target"]',
      /valid address/,
    );
    await absent("p");
  });

  test("a unicast target without a pid", async () => {
    await expectInvalid(
      n.promises.create({ id: "p", timeoutAt: LATER, tags: target("poll://uni@workers") }),
      'tags["resonate:target"]',
      /pid/,
    );
    await absent("p");
  });
});

describe("payloads", () => {
  test("a param over the 4 MiB limit", async () => {
    const big = new Uint8Array(4 * 1024 * 1024 + 1);
    await expectInvalid(n.promises.create({ id: "p", timeoutAt: LATER, param: { data: big } }), "param.data", /4194304 bytes/);
    await absent("p");
  });

  test("a settlement value over the limit leaves the promise pending", async () => {
    await n.promises.create({ id: "p", timeoutAt: LATER });
    const big = new Uint8Array(4 * 1024 * 1024 + 1);
    await expectInvalid(n.promises.settle({ id: "p", state: SettleState.RESOLVED, value: { data: big } }), "value.data");
    expect((await n.promises.get({ id: "p" })).promise!.state).toBe(PromiseState.PENDING);
  });
});

describe("enums and required messages", () => {
  test("an unknown settle state", async () => {
    await n.promises.create({ id: "p", timeoutAt: LATER });
    await expectInvalid(n.promises.settle({ id: "p", state: 42 as SettleState }), "state", /unknown value 42/);
    expect((await n.promises.get({ id: "p" })).promise!.state).toBe(PromiseState.PENDING);
  });

  test("an unspecified settle state", async () => {
    await n.promises.create({ id: "p", timeoutAt: LATER });
    await expectInvalid(n.promises.settle({ id: "p", state: SettleState.UNSPECIFIED }), "state", /UNSPECIFIED/);
    expect((await n.promises.get({ id: "p" })).promise!.state).toBe(PromiseState.PENDING);
  });

  test("an unknown state filter in a search", async () => {
    await expectInvalid(n.promises.search({ state: 9 as PromiseState }), "state", /unknown value 9/);
    await expectInvalid(n.tasks.search({ state: 9 as TaskState }), "state", /unknown value 9/);
  });

  test("a promise created settled as canceled", async () => {
    await expectInvalid(
      n.promises.create({ id: "p", timeoutAt: LATER, settled: { state: SettleState.REJECTED_CANCELED } }),
      "settled.state",
    );
    await absent("p");
  });

  test("a fence without an action", async () => {
    await n.promises.create({ id: "job", timeoutAt: LATER, tags: target("g") });
    await n.tasks.acquire({ id: "job", version: 0n, pid: "w1", ttl: 10_000n });
    await expectInvalid(n.tasks.fence({ id: "job", version: 1n }), "action", /create or settle/);
  });

  test("a fulfil without an action", async () => {
    await n.promises.create({ id: "job", timeoutAt: LATER, tags: target("g") });
    await n.tasks.acquire({ id: "job", version: 0n, pid: "w1", ttl: 10_000n });
    await expectInvalid(n.tasks.fulfill({ id: "job", version: 1n }), "action", /required/);
    expect((await n.promises.get({ id: "job" })).promise!.state).toBe(PromiseState.PENDING);
  });

  test("a task.create without an action", async () => {
    await expectInvalid(n.tasks.create({ pid: "w1", ttl: 1_000n }), "action", /required/);
    await nothingStored();
  });

  test("a task.create whose promise has no target", async () => {
    await expectInvalid(
      n.tasks.create({ pid: "w1", ttl: 1_000n, action: { id: "p", timeoutAt: LATER } }),
      'action.tags["resonate:target"]',
    );
    await absent("p");
  });

  test("a fenced create names the field inside the action", async () => {
    await n.promises.create({ id: "job", timeoutAt: LATER, tags: target("g") });
    await n.tasks.acquire({ id: "job", version: 0n, pid: "w1", ttl: 10_000n });
    await expectInvalid(
      n.tasks.fence({ id: "job", version: 1n, action: { case: "create", value: { id: "job.1", timeoutAt: -1n } } }),
      "create.timeout_at",
    );
    await absent("job.1");
  });
});
