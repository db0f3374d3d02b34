// 64-bit times on gRPC (issue 11): every time is an int64, and Go, Rust and
// Java programs say "never" with its maximum. The node accepts the whole
// non-negative range; every time from 2^53 on means never and is read back as
// 9223372036854775807, so the answer round-trips through an int64.

import { describe, expect, test } from "vitest";
import { HOUR, PromiseState, T0, TaskState, expectInvalid, nodePerTest, target } from "./harness.ts";

const n = nodePerTest();
const INT64_MAX = 2n ** 63n - 1n;

describe("timeoutAt", () => {
  test("int64 max is accepted and read back as int64 max", async () => {
    const created = await n.promises.create({ id: "forever", timeoutAt: INT64_MAX });
    expect(created.promise!.timeoutAt).toBe(INT64_MAX);
    expect((await n.promises.get({ id: "forever" })).promise!.timeoutAt).toBe(INT64_MAX);
  });

  test("any time from 2^53 on means never and reads back as int64 max", async () => {
    for (const [i, t] of [2n ** 53n, 2n ** 53n + 1n, 2n ** 62n, INT64_MAX - 1n].entries()) {
      expect((await n.promises.create({ id: `p${i}`, timeoutAt: t })).promise!.timeoutAt).toBe(INT64_MAX);
    }
  });

  test("a time below 2^53 is kept exactly", async () => {
    const t = 2n ** 53n - 2n;
    expect((await n.promises.create({ id: "late", timeoutAt: t })).promise!.timeoutAt).toBe(t);
  });

  test("a never promise stays pending as time passes", async () => {
    await n.promises.create({ id: "forever", timeoutAt: INT64_MAX, tags: target("g") });
    await n.advance(1000 * 24 * HOUR);
    const promise = (await n.promises.get({ id: "forever" })).promise!;
    expect(promise.state).toBe(PromiseState.PENDING);
    expect(promise.timeoutAt).toBe(INT64_MAX);
  });

  test("a created time is still the clock's, not never", async () => {
    const created = await n.promises.create({ id: "forever", timeoutAt: INT64_MAX });
    expect(created.promise!.createdAt).toBe(BigInt(T0));
  });

  test("int64 max in task.create's promise and in a fenced create", async () => {
    const made = await n.tasks.create({ pid: "w1", ttl: 60_000n, action: { id: "root", timeoutAt: INT64_MAX, tags: target("g") } });
    expect(made.promise!.timeoutAt).toBe(INT64_MAX);
    expect(made.task!.state).toBe(TaskState.ACQUIRED);
    const fenced = await n.tasks.fence({
      id: "root",
      version: made.task!.version,
      action: { case: "create", value: { id: "root.1", timeoutAt: INT64_MAX } },
    });
    expect(fenced.result.case).toBe("create");
    expect((await n.promises.get({ id: "root.1" })).promise!.timeoutAt).toBe(INT64_MAX);
  });

  test("a negative time is refused naming the int64 range", async () => {
    await expectInvalid(n.promises.create({ id: "p", timeoutAt: -5n }), "timeout_at", /between 0 and 9223372036854775807.*got -5/);
  });
});
