// PromiseService over gRPC against a real node: create, read, settle, lazy
// and active timeouts, callbacks, listeners, search and Watch.

import { beforeEach, describe, expect, test } from "vitest";
import { HOUR, PromiseState, SettleState, T0, bytes, expectInvalid, expectStatus, grpc, nodePerTest, target, text } from "./harness.ts";
import type { PromiseServiceWatchResponse } from "@resonate-mesh/node/proto";

const n = nodePerTest();

const create = (id: string, extra: Record<string, unknown> = {}) =>
  n.promises.create({ id, timeoutAt: BigInt(T0 + HOUR), ...extra });

describe("create", () => {
  test("a new promise is pending, with its param, tags, timeout and creation time", async () => {
    const { promise } = await create("p", { param: { headers: { enc: "json" }, data: bytes('"hi"') }, tags: { k: "v" } });
    expect(promise).toMatchObject({
      id: "p",
      state: PromiseState.PENDING,
      tags: { k: "v" },
      timeoutAt: BigInt(T0 + HOUR),
      createdAt: BigInt(T0),
    });
    expect(promise!.settledAt).toBeUndefined();
    expect(promise!.param!.headers).toEqual({ enc: "json" });
    expect(text(promise!.param!.data)).toBe('"hi"');
    expect(promise!.value!.data.length).toBe(0);
  });

  test("create is idempotent by id: the existing promise comes back unchanged", async () => {
    await create("p", { param: { data: bytes("first") } });
    n.clock.advance(1_000);
    const { promise } = await create("p", { param: { data: bytes("second") }, tags: { other: "tag" } });
    expect(text(promise!.param!.data)).toBe("first");
    expect(promise!.tags).toEqual({});
    expect(promise!.createdAt).toBe(BigInt(T0));
  });

  test("a promise created at or after its timeout is born rejected_timedout, settled at the timeout", async () => {
    const { promise } = await n.promises.create({ id: "late", timeoutAt: BigInt(T0 - 5) });
    expect(promise).toMatchObject({ state: PromiseState.REJECTED_TIMEDOUT, settledAt: BigInt(T0 - 5) });
  });

  test("a timer promise created past its timeout is born resolved", async () => {
    const { promise } = await n.promises.create({ id: "t", timeoutAt: BigInt(T0), tags: { "resonate:timer": "true" } });
    expect(promise!.state).toBe(PromiseState.RESOLVED);
  });

  test("our extension: a promise created already settled records a completed step in one call", async () => {
    const { promise } = await create("done", {
      settled: { state: SettleState.RESOLVED, value: { data: bytes("42") } },
    });
    expect(promise).toMatchObject({ state: PromiseState.RESOLVED, settledAt: BigInt(T0) });
    expect(text(promise!.value!.data)).toBe("42");
  });

  test("created settled together with a target is refused: a targeted promise is settled by its task", async () => {
    await expectInvalid(
      create("x", { tags: target("poll://any@g"), settled: { state: SettleState.RESOLVED } }),
      "settled",
      /resonate:target/,
    );
  });
});

describe("get", () => {
  test("reads what was created", async () => {
    await create("p", { tags: { a: "1" } });
    const { promise } = await n.promises.get({ id: "p" });
    expect(promise).toMatchObject({ id: "p", state: PromiseState.PENDING, tags: { a: "1" } });
  });

  test("an unknown id is NOT_FOUND naming the id", async () => {
    await expectStatus(n.promises.get({ id: "nope" }), grpc.status.NOT_FOUND, "PROMISE_NOT_FOUND", /"nope" does not exist/);
  });

  test("a promise created by one client is read by another", async () => {
    const { createClient } = await import("@resonate-mesh/node/internal-for-tests");
    const { PromiseService } = await import("@resonate-mesh/node/proto");
    const other = createClient(PromiseService, n.server.address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
    try {
      await create("shared", { param: { data: bytes("x") } });
      const { promise } = await other.get({ id: "shared" });
      expect(text(promise!.param!.data)).toBe("x");
    } finally {
      other.close();
    }
  });
});

describe("settle", () => {
  test("resolving records the value and the time", async () => {
    await create("p");
    n.clock.advance(500);
    const { promise } = await n.promises.settle({ id: "p", state: SettleState.RESOLVED, value: { data: bytes("v") } });
    expect(promise).toMatchObject({ state: PromiseState.RESOLVED, settledAt: BigInt(T0 + 500) });
    expect(text(promise!.value!.data)).toBe("v");
  });

  test("rejecting and canceling give their states", async () => {
    await create("a");
    await create("b");
    expect((await n.promises.settle({ id: "a", state: SettleState.REJECTED })).promise!.state).toBe(PromiseState.REJECTED);
    expect((await n.promises.settle({ id: "b", state: SettleState.REJECTED_CANCELED })).promise!.state).toBe(
      PromiseState.REJECTED_CANCELED,
    );
  });

  test("settling a settled promise is idempotent: it stays as it was", async () => {
    await create("p");
    await n.promises.settle({ id: "p", state: SettleState.RESOLVED, value: { data: bytes("1") } });
    n.clock.advance(10);
    const { promise } = await n.promises.settle({ id: "p", state: SettleState.REJECTED, value: { data: bytes("2") } });
    expect(promise).toMatchObject({ state: PromiseState.RESOLVED, settledAt: BigInt(T0) });
    expect(text(promise!.value!.data)).toBe("1");
  });

  test("settling an unknown promise is NOT_FOUND", async () => {
    await expectStatus(n.promises.settle({ id: "nope", state: SettleState.RESOLVED }), grpc.status.NOT_FOUND, "PROMISE_NOT_FOUND");
  });
});

describe("timeouts", () => {
  test("lazy: a read past the timeout sees rejected_timedout with settledAt = timeoutAt", async () => {
    await create("p");
    n.clock.advance(HOUR + 1);
    const { promise } = await n.promises.get({ id: "p" });
    expect(promise).toMatchObject({ state: PromiseState.REJECTED_TIMEDOUT, settledAt: BigInt(T0 + HOUR) });
  });

  test("lazy: a timer promise past its timeout reads resolved", async () => {
    await create("sleep", { tags: { "resonate:timer": "true" } });
    n.clock.advance(HOUR);
    expect((await n.promises.get({ id: "sleep" })).promise!.state).toBe(PromiseState.RESOLVED);
  });

  test("lazy: settling past the timeout finds it timed out and leaves it so", async () => {
    await create("p");
    n.clock.advance(HOUR);
    const { promise } = await n.promises.settle({ id: "p", state: SettleState.RESOLVED });
    expect(promise!.state).toBe(PromiseState.REJECTED_TIMEDOUT);
  });

  test("active: the timer loop times out a targeted promise and its listeners are unblocked without any read", async () => {
    const inbox = await n.poll("clients", "c1");
    await create("job", { tags: target("poll://any@nobody") });
    await n.promises.registerListener({ awaited: "job", address: "poll://uni@clients/c1" });
    await n.advance(HOUR);
    const unblocked = await inbox.nextUnblock();
    expect(unblocked).toMatchObject({ id: "job", state: PromiseState.REJECTED_TIMEDOUT, settledAt: BigInt(T0 + HOUR) });
  });

  test("active: a timer promise resolves at its timeout by itself", async () => {
    const inbox = await n.poll("clients", "c1");
    await create("sleep", { timeoutAt: BigInt(T0 + 5_000), tags: { ...target("poll://any@w"), "resonate:timer": "true" } });
    await n.promises.registerListener({ awaited: "sleep", address: "poll://uni@clients/c1" });
    await n.advance(5_000);
    expect((await inbox.nextUnblock()).state).toBe(PromiseState.RESOLVED);
  });
});

describe("callbacks", () => {
  test("registering on an unknown awaited promise is NOT_FOUND", async () => {
    await create("root", { tags: target("poll://any@w") });
    await expectStatus(
      n.promises.registerCallback({ awaited: "root.1", awaiter: "root" }),
      grpc.status.NOT_FOUND,
      "PROMISE_NOT_FOUND",
    );
  });

  test("an awaiter that does not exist is FAILED_PRECONDITION (422)", async () => {
    await create("root.1");
    await expectStatus(
      n.promises.registerCallback({ awaited: "root.1", awaiter: "root" }),
      grpc.status.FAILED_PRECONDITION,
      "AWAITER_NOT_FOUND",
    );
  });

  test("an awaiter without a target has no task to resume: FAILED_PRECONDITION (422)", async () => {
    await create("root");
    await create("root.1");
    await expectStatus(
      n.promises.registerCallback({ awaited: "root.1", awaiter: "root" }),
      grpc.status.FAILED_PRECONDITION,
      "AWAITER_NOT_TARGETED",
      /resonate:target/,
    );
  });

  test("the answer carries the awaited promise", async () => {
    await create("root", { tags: target("poll://any@w") });
    await create("root.1");
    const { promise } = await n.promises.registerCallback({ awaited: "root.1", awaiter: "root" });
    expect(promise).toMatchObject({ id: "root.1", state: PromiseState.PENDING });
  });

  test("a promise cannot await itself", async () => {
    await create("root", { tags: target("poll://any@w") });
    await expectInvalid(n.promises.registerCallback({ awaited: "root", awaiter: "root" }), "awaited", /itself/);
  });
});

describe("listeners", () => {
  test("a listener receives one unblock with the settled promise", async () => {
    const inbox = await n.poll("clients", "c1");
    await create("p");
    await n.promises.registerListener({ awaited: "p", address: "poll://uni@clients/c1" });
    await n.promises.settle({ id: "p", state: SettleState.RESOLVED, value: { data: bytes("ok") } });
    const promise = await inbox.nextUnblock();
    expect(promise).toMatchObject({ id: "p", state: PromiseState.RESOLVED });
    expect(text(promise.value!.data)).toBe("ok");
    await n.promises.settle({ id: "p", state: SettleState.RESOLVED });
    await inbox.expectNothing();
  });

  test("listening to a settled promise registers nothing and answers the settled record", async () => {
    const inbox = await n.poll("clients", "c1");
    await create("p");
    await n.promises.settle({ id: "p", state: SettleState.REJECTED });
    const { promise } = await n.promises.registerListener({ awaited: "p", address: "poll://uni@clients/c1" });
    expect(promise!.state).toBe(PromiseState.REJECTED);
    await inbox.expectNothing();
  });

  test("listening to an unknown promise is NOT_FOUND", async () => {
    await expectStatus(
      n.promises.registerListener({ awaited: "nope", address: "poll://uni@clients/c1" }),
      grpc.status.NOT_FOUND,
      "PROMISE_NOT_FOUND",
    );
  });

  test("a malformed listener address is INVALID_ARGUMENT naming address", async () => {
    await create("p");
    await expectInvalid(n.promises.registerListener({ awaited: "p", address: "poll://sometimes@g" }), "address");
  });
});

describe("search", () => {
  beforeEach(async () => {
    for (const id of ["order-1", "order-2", "order-3", "invoice-1"]) {
      await create(id, { tags: { kind: id.split("-")[0]!, env: "prod" } });
    }
    await n.promises.settle({ id: "order-2", state: SettleState.RESOLVED });
  });
  const ids = (r: { promises: { id: string }[] }) => r.promises.map((p) => p.id);

  test("without filters: every promise, ordered by id", async () => {
    expect(ids(await n.promises.search({}))).toEqual(["invoice-1", "order-1", "order-2", "order-3"]);
  });

  test("by state", async () => {
    expect(ids(await n.promises.search({ state: PromiseState.RESOLVED }))).toEqual(["order-2"]);
    expect(ids(await n.promises.search({ state: PromiseState.PENDING }))).toEqual(["invoice-1", "order-1", "order-3"]);
  });

  test("by tags: every given tag must match (subset)", async () => {
    expect(ids(await n.promises.search({ tags: { kind: "order", env: "prod" } }))).toEqual(["order-1", "order-2", "order-3"]);
    expect(ids(await n.promises.search({ tags: { kind: "order", env: "dev" } }))).toEqual([]);
  });

  test("by id prefix (our extension)", async () => {
    expect(ids(await n.promises.search({ id: "order-" }))).toEqual(["order-1", "order-2", "order-3"]);
  });

  test("by id glob with * (our extension)", async () => {
    expect(ids(await n.promises.search({ id: "*-1" }))).toEqual(["invoice-1", "order-1"]);
  });

  test("limit and cursor page through the results; the last page has no cursor", async () => {
    const first = await n.promises.search({ limit: 3 });
    expect(ids(first)).toEqual(["invoice-1", "order-1", "order-2"]);
    expect(first.cursor).not.toBe("");
    const second = await n.promises.search({ limit: 3, cursor: first.cursor });
    expect(ids(second)).toEqual(["order-3"]);
    expect(second.cursor).toBe("");
  });

  test("a limit above 1000 is INVALID_ARGUMENT naming limit", async () => {
    await expectInvalid(n.promises.search({ limit: 1001 }), "limit", /1000/);
  });
});

describe("watch", () => {
  function collect(stream: grpc.ClientReadableStream<PromiseServiceWatchResponse>) {
    const seen: PromiseServiceWatchResponse[] = [];
    const done = new Promise<"ok" | grpc.ServiceError>((resolve) => {
      stream.on("data", (m: PromiseServiceWatchResponse) => seen.push(m));
      stream.on("error", (e: grpc.ServiceError) => resolve(e));
      stream.on("end", () => resolve("ok"));
    });
    return { seen, done };
  }

  test("streams the pending record, then the settled one, then ends", async () => {
    await create("p");
    const stream = n.promises.watch({ id: "p" });
    const { seen, done } = collect(stream);
    await new Promise<void>((resolve) => stream.once("data", () => resolve()));
    await n.promises.settle({ id: "p", state: SettleState.RESOLVED, value: { data: bytes("v") } });
    expect(await done).toBe("ok");
    expect(seen.map((m) => m.promise!.state)).toEqual([PromiseState.PENDING, PromiseState.RESOLVED]);
    expect(text(seen[1]!.promise!.value!.data)).toBe("v");
  });

  test("a settled promise gives one message and the stream ends", async () => {
    await create("p");
    await n.promises.settle({ id: "p", state: SettleState.REJECTED });
    const { seen, done } = collect(n.promises.watch({ id: "p" }));
    expect(await done).toBe("ok");
    expect(seen.map((m) => m.promise!.state)).toEqual([PromiseState.REJECTED]);
  });

  test("ends when the timer loop times the promise out", async () => {
    await create("p", { tags: target("poll://any@nobody") });
    const stream = n.promises.watch({ id: "p" });
    const { seen, done } = collect(stream);
    await new Promise<void>((resolve) => stream.once("data", () => resolve()));
    await n.advance(HOUR);
    expect(await done).toBe("ok");
    expect(seen.map((m) => m.promise!.state)).toEqual([PromiseState.PENDING, PromiseState.REJECTED_TIMEDOUT]);
  });

  test("an unknown promise is NOT_FOUND", async () => {
    const { done } = collect(n.promises.watch({ id: "nope" }));
    const err = (await done) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toMatch(/"nope"/);
  });

  test("an empty id is INVALID_ARGUMENT naming id", async () => {
    const { done } = collect(n.promises.watch({ id: "" }));
    const err = (await done) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^id /);
  });
});
