// TaskService over gRPC against a real node: dispatch to Poll streams,
// acquire, leases and heartbeats, release, retries, fulfil, fence, suspend
// (and redirect), resumes, halt/continue, task.create, search.

import { describe, expect, test } from "vitest";
import { HOUR, PromiseState, SettleState, T0, TaskState, bytes, expectInvalid, expectStatus, grpc, nodePerTest, target, text } from "./harness.ts";

const n = nodePerTest();

const TTL = 10_000n;
const RETRY = 30_000;

/** A targeted root promise; its task goes to `address`. */
const createTarget = (id: string, address = "poll://any@workers", extra: Record<string, string> = {}) =>
  n.promises.create({ id, timeoutAt: BigInt(T0 + HOUR), tags: { ...target(address), ...extra } });

const acquire = (id: string, version: bigint, pid = "w1", ttl = TTL) => n.tasks.acquire({ id, version, pid, ttl });

const taskOf = async (id: string) => (await n.tasks.get({ id })).task!;

describe("dispatch", () => {
  test("a targeted promise gets a pending task at version 0 and an execute to a worker of its group", async () => {
    const inbox = await n.poll("workers", "w1");
    await createTarget("job");
    expect(await inbox.nextExecute()).toEqual({ id: "job", version: 0n });
    expect(await taskOf("job")).toMatchObject({ id: "job", state: TaskState.PENDING, version: 0n, resumes: [] });
  });

  test("an untargeted promise has no task", async () => {
    await n.promises.create({ id: "plain", timeoutAt: BigInt(T0 + HOUR) });
    await expectStatus(n.tasks.get({ id: "plain" }), grpc.status.NOT_FOUND, "TASK_NOT_FOUND");
  });

  test("a worker that connects after the task was created still receives its execute", async () => {
    await createTarget("early");
    const inbox = await n.poll("workers", "late-worker");
    expect(await inbox.nextExecute()).toEqual({ id: "early", version: 0n });
  });

  test("a bare group name targets any worker of that group", async () => {
    const inbox = await n.poll("workers", "w1");
    await createTarget("job", "workers");
    expect((await inbox.nextExecute()).id).toBe("job");
  });

  test("poll://any@group/pid prefers that worker", async () => {
    const a = await n.poll("workers", "a");
    const b = await n.poll("workers", "b");
    for (const id of ["j1", "j2", "j3"]) await createTarget(id, "poll://any@workers/b");
    expect([(await b.nextExecute()).id, (await b.nextExecute()).id, (await b.nextExecute()).id]).toEqual(["j1", "j2", "j3"]);
    await a.expectNothing();
  });

  test("poll://any@group/pid falls back to another worker of the group when that one is absent", async () => {
    const a = await n.poll("workers", "a");
    await createTarget("job", "poll://any@workers/gone");
    expect((await a.nextExecute()).id).toBe("job");
  });

  test("poll://uni@group/pid goes to that worker only, and waits for it", async () => {
    const a = await n.poll("workers", "a");
    await createTarget("job", "poll://uni@workers/b");
    await a.expectNothing();
    const b = await n.poll("workers", "b");
    expect((await b.nextExecute()).id).toBe("job");
  });

  test("a worker of another group receives nothing", async () => {
    const other = await n.poll("others", "o1");
    await createTarget("job");
    await other.expectNothing();
  });

  test("resonate:delay defers the first execute until that time", async () => {
    const inbox = await n.poll("workers", "w1");
    await createTarget("later", "poll://any@workers", { "resonate:delay": String(T0 + 5_000) });
    await inbox.expectNothing();
    await n.advance(5_000);
    expect(await inbox.nextExecute()).toEqual({ id: "later", version: 0n });
  });

  test("a pending task's execute is sent again every retry interval until acquired", async () => {
    const inbox = await n.poll("workers", "w1");
    await createTarget("job");
    await inbox.nextExecute();
    await n.advance(RETRY);
    expect(await inbox.nextExecute()).toEqual({ id: "job", version: 0n });
    await acquire("job", 0n, "w1", BigInt(2 * RETRY));
    await n.advance(RETRY);
    await inbox.expectNothing();
  });

  test("the task of a timer promise is never dispatched: the timeout completes it", async () => {
    const inbox = await n.poll("workers", "w1");
    await n.promises.create({ id: "nap", timeoutAt: BigInt(T0 + 5_000), tags: { ...target("poll://any@workers"), "resonate:timer": "true" } });
    await inbox.expectNothing();
    await n.advance(5_000);
    expect((await n.promises.get({ id: "nap" })).promise!.state).toBe(PromiseState.RESOLVED);
    expect((await taskOf("nap")).state).toBe(TaskState.FULFILLED);
  });
});

describe("acquire", () => {
  test("acquiring at the executed version gives version + 1, the lease, the promise and the preload", async () => {
    await createTarget("root");
    const res = await acquire("root", 0n);
    expect(res.task).toMatchObject({ id: "root", state: TaskState.ACQUIRED, version: 1n, pid: "w1", ttl: TTL });
    expect(res.promise).toMatchObject({ id: "root", state: PromiseState.PENDING });
    expect(res.preload).toEqual([]);
  });

  test("the preload carries the promises of the task's branch", async () => {
    await createTarget("root", "poll://any@workers", { "resonate:branch": "root" });
    await n.promises.create({ id: "root.1", timeoutAt: BigInt(T0 + HOUR), tags: { "resonate:branch": "root" } });
    const res = await acquire("root", 0n);
    expect(res.preload.map((p) => p.id)).toEqual(["root.1"]);
  });

  test("a stale version is ABORTED (409 version mismatch)", async () => {
    await createTarget("job");
    await acquire("job", 0n);
    await n.tasks.release({ id: "job", version: 1n });
    await expectStatus(acquire("job", 0n), grpc.status.ABORTED, "TASK_VERSION_MISMATCH", /version 1, not 0/);
  });

  test("an acquired task cannot be acquired again: FAILED_PRECONDITION (409 state)", async () => {
    await createTarget("job");
    await acquire("job", 0n, "w1");
    await expectStatus(acquire("job", 1n, "w2"), grpc.status.FAILED_PRECONDITION, "TASK_STATE_CONFLICT", /acquired/);
  });

  test("an unknown task is NOT_FOUND", async () => {
    await expectStatus(acquire("nope", 0n), grpc.status.NOT_FOUND, "TASK_NOT_FOUND");
  });
});

describe("leases", () => {
  test("when the lease ends the task returns to pending and is dispatched again at the same version", async () => {
    const inbox = await n.poll("workers", "w1");
    await createTarget("job");
    await inbox.nextExecute();
    await acquire("job", 0n);
    await n.advance(Number(TTL));
    expect(await inbox.nextExecute()).toEqual({ id: "job", version: 1n });
    expect(await taskOf("job")).toMatchObject({ state: TaskState.PENDING, version: 1n });
  });

  test("a heartbeat extends the lease of the tasks the caller holds", async () => {
    await createTarget("job");
    await acquire("job", 0n, "w1");
    await n.advance(Number(TTL) - 1);
    await n.tasks.heartbeat({ pid: "w1", tasks: [{ id: "job", version: 1n }] });
    await n.advance(Number(TTL) - 1);
    expect((await taskOf("job")).state).toBe(TaskState.ACQUIRED);
    await n.advance(1);
    expect((await taskOf("job")).state).toBe(TaskState.PENDING);
  });

  test("a heartbeat from another pid or for another version extends nothing", async () => {
    await createTarget("job");
    await acquire("job", 0n, "w1");
    await n.advance(Number(TTL) - 1);
    await n.tasks.heartbeat({ pid: "w2", tasks: [{ id: "job", version: 1n }] });
    await n.tasks.heartbeat({ pid: "w1", tasks: [{ id: "job", version: 7n }] });
    await n.advance(1);
    expect((await taskOf("job")).state).toBe(TaskState.PENDING);
  });

  test("one heartbeat may carry tasks of several execution trees", async () => {
    await createTarget("a");
    await createTarget("b");
    await acquire("a", 0n, "w1");
    await acquire("b", 0n, "w1");
    await n.advance(Number(TTL) - 1);
    await n.tasks.heartbeat({ pid: "w1", tasks: [{ id: "a", version: 1n }, { id: "b", version: 1n }] });
    await n.advance(Number(TTL) - 1);
    expect([(await taskOf("a")).state, (await taskOf("b")).state]).toEqual([TaskState.ACQUIRED, TaskState.ACQUIRED]);
  });

  test("a worker whose Poll stream is cancelled mid-task loses the task to another worker when its lease ends", async () => {
    const first = await n.poll("workers", "w1");
    await createTarget("job");
    await first.nextExecute();
    await acquire("job", 0n, "w1");
    first.cancel();
    const second = await n.poll("workers", "w2");
    await second.expectNothing();
    await n.advance(Number(TTL));
    const again = await second.nextExecute();
    expect(again).toEqual({ id: "job", version: 1n });
    const res = await acquire("job", again.version, "w2");
    expect(res.task).toMatchObject({ version: 2n, pid: "w2" });
    // The first worker's late writes are fenced off.
    await expectStatus(
      n.tasks.fulfill({ id: "job", version: 1n, action: { id: "job", state: SettleState.RESOLVED } }),
      grpc.status.ABORTED,
      "TASK_VERSION_MISMATCH",
    );
  });
});

describe("release", () => {
  test("a released task is pending at the same version and dispatched again", async () => {
    const inbox = await n.poll("workers", "w1");
    await createTarget("job");
    await inbox.nextExecute();
    await acquire("job", 0n);
    await n.tasks.release({ id: "job", version: 1n });
    expect(await inbox.nextExecute()).toEqual({ id: "job", version: 1n });
    expect(await taskOf("job")).toMatchObject({ state: TaskState.PENDING, version: 1n });
    expect((await taskOf("job")).pid).toBeUndefined();
  });

  test("releasing at a stale version is ABORTED", async () => {
    await createTarget("job");
    await acquire("job", 0n);
    await expectStatus(n.tasks.release({ id: "job", version: 0n }), grpc.status.ABORTED, "TASK_VERSION_MISMATCH");
  });

  test("releasing a task that is not acquired is FAILED_PRECONDITION", async () => {
    await createTarget("job");
    await expectStatus(n.tasks.release({ id: "job", version: 0n }), grpc.status.FAILED_PRECONDITION, "TASK_STATE_CONFLICT");
  });
});

describe("fulfill", () => {
  test("settles the task's promise and marks the task fulfilled", async () => {
    await createTarget("job");
    await acquire("job", 0n);
    const { promise } = await n.tasks.fulfill({
      id: "job",
      version: 1n,
      action: { id: "job", state: SettleState.RESOLVED, value: { data: bytes("done") } },
    });
    expect(promise!.state).toBe(PromiseState.RESOLVED);
    expect(text(promise!.value!.data)).toBe("done");
    expect(await taskOf("job")).toMatchObject({ state: TaskState.FULFILLED });
  });

  test("the action must settle the task's own promise", async () => {
    await createTarget("job");
    await acquire("job", 0n);
    await expectInvalid(
      n.tasks.fulfill({ id: "job", version: 1n, action: { id: "other", state: SettleState.RESOLVED } }),
      "action.id",
    );
  });

  test("settling the promise from outside fulfils its task", async () => {
    await createTarget("job");
    await n.promises.settle({ id: "job", state: SettleState.REJECTED_CANCELED });
    expect((await taskOf("job")).state).toBe(TaskState.FULFILLED);
  });
});

describe("fence", () => {
  test("creates a child promise while the task is held", async () => {
    await createTarget("root");
    await acquire("root", 0n);
    const res = await n.tasks.fence({
      id: "root",
      version: 1n,
      action: { case: "create", value: { id: "root.1", timeoutAt: BigInt(T0 + HOUR), tags: { "resonate:branch": "root" } } },
    });
    expect(res.result.case).toBe("create");
    expect((res.result.value as { promise?: { id: string } }).promise!.id).toBe("root.1");
    expect((await n.promises.get({ id: "root.1" })).promise!.state).toBe(PromiseState.PENDING);
  });

  test("settles a child promise while the task is held", async () => {
    await createTarget("root");
    await n.promises.create({ id: "root.1", timeoutAt: BigInt(T0 + HOUR) });
    await acquire("root", 0n);
    const res = await n.tasks.fence({
      id: "root",
      version: 1n,
      action: { case: "settle", value: { id: "root.1", state: SettleState.RESOLVED, value: { data: bytes("2") } } },
    });
    expect(res.result.case).toBe("settle");
    expect((await n.promises.get({ id: "root.1" })).promise!.state).toBe(PromiseState.RESOLVED);
  });

  test("a fenced create of a targeted child creates its task and dispatches it", async () => {
    const inbox = await n.poll("workers", "w1");
    await createTarget("root");
    await inbox.nextExecute();
    await acquire("root", 0n);
    await n.tasks.fence({
      id: "root",
      version: 1n,
      action: { case: "create", value: { id: "root.1", timeoutAt: BigInt(T0 + HOUR), tags: target("poll://any@workers") } },
    });
    expect(await inbox.nextExecute()).toEqual({ id: "root.1", version: 0n });
  });

  test("a fenced write at a stale version is ABORTED and writes nothing", async () => {
    await createTarget("root");
    await acquire("root", 0n);
    await expectStatus(
      n.tasks.fence({ id: "root", version: 0n, action: { case: "create", value: { id: "root.1", timeoutAt: BigInt(T0 + HOUR) } } }),
      grpc.status.ABORTED,
      "TASK_VERSION_MISMATCH",
    );
    await expectStatus(n.promises.get({ id: "root.1" }), grpc.status.NOT_FOUND, "PROMISE_NOT_FOUND");
  });

  test("a fenced settle of an unknown promise fails the call with NOT_FOUND, marked as the inner operation's failure", async () => {
    await createTarget("root");
    await acquire("root", 0n);
    const err = await expectStatus(
      n.tasks.fence({ id: "root", version: 1n, action: { case: "settle", value: { id: "root.9", state: SettleState.RESOLVED } } }),
      grpc.status.NOT_FOUND,
      "PROMISE_NOT_FOUND",
    );
    expect(err.metadata.get("resonate-inner-kind")).toEqual(["promise.settle"]);
  });
});

describe("suspend and resume", () => {
  async function heldRootAwaiting(child: string) {
    await createTarget("root");
    await n.promises.create({ id: child, timeoutAt: BigInt(T0 + HOUR), tags: { "resonate:branch": "root" } });
    await acquire("root", 0n);
  }
  const callback = (awaited: string) => ({ awaited, awaiter: "root" });

  test("suspending on a pending promise suspends the task and frees the worker", async () => {
    await heldRootAwaiting("root.1");
    const res = await n.tasks.suspend({ id: "root", version: 1n, actions: [callback("root.1")] });
    expect(res.redirect).toBe(false);
    const task = await taskOf("root");
    expect(task).toMatchObject({ state: TaskState.SUSPENDED, version: 1n });
    expect(task.pid).toBeUndefined();
  });

  test("when an awaited promise settles the suspended task is pending again, with the resume, and dispatched", async () => {
    const inbox = await n.poll("workers", "w1");
    await heldRootAwaiting("root.1");
    await inbox.nextExecute();
    await n.tasks.suspend({ id: "root", version: 1n, actions: [callback("root.1")] });
    await n.promises.settle({ id: "root.1", state: SettleState.RESOLVED });
    expect(await inbox.nextExecute()).toEqual({ id: "root", version: 1n });
    expect(await taskOf("root")).toMatchObject({ state: TaskState.PENDING, version: 1n, resumes: ["root.1"] });
  });

  test("suspending on a promise already settled redirects: the task stays acquired and the preload has it", async () => {
    await heldRootAwaiting("root.1");
    await n.promises.settle({ id: "root.1", state: SettleState.RESOLVED, value: { data: bytes("7") } });
    const res = await n.tasks.suspend({ id: "root", version: 1n, actions: [callback("root.1")] });
    expect(res.redirect).toBe(true);
    const child = res.preload.find((p) => p.id === "root.1")!;
    expect(child.state).toBe(PromiseState.RESOLVED);
    expect(text(child.value!.data)).toBe("7");
    expect(await taskOf("root")).toMatchObject({ state: TaskState.ACQUIRED, version: 1n });
  });

  test("suspending on a missing promise is FAILED_PRECONDITION (422)", async () => {
    await heldRootAwaiting("root.1");
    await expectStatus(
      n.tasks.suspend({ id: "root", version: 1n, actions: [callback("root.2")] }),
      grpc.status.FAILED_PRECONDITION,
      "AWAITED_NOT_FOUND",
    );
  });

  test("each callback's awaiter must be the task itself", async () => {
    await heldRootAwaiting("root.1");
    await expectInvalid(
      n.tasks.suspend({ id: "root", version: 1n, actions: [{ awaited: "root.1", awaiter: "root.1" }] }),
      "actions[0].awaiter",
    );
  });

  test("a callback registered while the awaiter's task runs is recorded as a resume", async () => {
    await heldRootAwaiting("root.1");
    await n.promises.settle({ id: "root.1", state: SettleState.RESOLVED });
    await n.promises.registerCallback({ awaited: "root.1", awaiter: "root" });
    // Acquire cleared resumes; the callback on an already settled promise adds it back.
    expect((await taskOf("root")).resumes).toEqual(["root.1"]);
  });
});

describe("halt and continue", () => {
  test("a halted task is not dispatched; continue makes it pending and dispatches it", async () => {
    const inbox = await n.poll("workers", "w1");
    await createTarget("job");
    await inbox.nextExecute();
    await n.tasks.halt({ id: "job" });
    expect((await taskOf("job")).state).toBe(TaskState.HALTED);
    await n.advance(RETRY);
    await inbox.expectNothing();
    await n.tasks.continue({ id: "job" });
    expect(await inbox.nextExecute()).toEqual({ id: "job", version: 0n });
    expect((await taskOf("job")).state).toBe(TaskState.PENDING);
  });

  test("halting an acquired task takes it from its worker", async () => {
    await createTarget("job");
    await acquire("job", 0n);
    await n.tasks.halt({ id: "job" });
    await expectStatus(
      n.tasks.fulfill({ id: "job", version: 1n, action: { id: "job", state: SettleState.RESOLVED } }),
      grpc.status.FAILED_PRECONDITION,
      "TASK_STATE_CONFLICT",
    );
  });

  test("halting a halted task is OK", async () => {
    await createTarget("job");
    await n.tasks.halt({ id: "job" });
    await n.tasks.halt({ id: "job" });
    expect((await taskOf("job")).state).toBe(TaskState.HALTED);
  });

  test("halting a fulfilled task is FAILED_PRECONDITION", async () => {
    await createTarget("job");
    await n.promises.settle({ id: "job", state: SettleState.RESOLVED });
    await expectStatus(n.tasks.halt({ id: "job" }), grpc.status.FAILED_PRECONDITION, "TASK_STATE_CONFLICT", /fulfilled/);
  });

  test("continuing a task that is not halted is FAILED_PRECONDITION", async () => {
    await createTarget("job");
    await expectStatus(n.tasks.continue({ id: "job" }), grpc.status.FAILED_PRECONDITION, "TASK_STATE_CONFLICT", /halted/);
  });
});

describe("task.create", () => {
  const runHere = (id: string, pid = "w1") =>
    n.tasks.create({ pid, ttl: TTL, action: { id, timeoutAt: BigInt(T0 + HOUR), tags: target("poll://any@workers/w1") } });

  test("creates the promise with its task already acquired by the caller, and sends no execute", async () => {
    const inbox = await n.poll("workers", "w1");
    const res = await runHere("job");
    expect(res.task).toMatchObject({ state: TaskState.ACQUIRED, version: 1n, pid: "w1" });
    expect(res.promise).toMatchObject({ id: "job", state: PromiseState.PENDING });
    await inbox.expectNothing();
  });

  test("on an existing pending task the caller acquires it", async () => {
    await createTarget("job");
    const res = await runHere("job");
    expect(res.task).toMatchObject({ state: TaskState.ACQUIRED, version: 1n });
  });

  test("on a task held by someone else: FAILED_PRECONDITION (409 already exists)", async () => {
    await runHere("job", "w1");
    await expectStatus(runHere("job", "w2"), grpc.status.FAILED_PRECONDITION, "TASK_ALREADY_EXISTS");
  });

  test("on a settled promise: OK with the fulfilled task and the settled promise", async () => {
    await runHere("job");
    await n.promises.settle({ id: "job", state: SettleState.RESOLVED });
    const res = await runHere("job", "w2");
    expect(res.task!.state).toBe(TaskState.FULFILLED);
    expect(res.promise!.state).toBe(PromiseState.RESOLVED);
  });

  test("on a promise that exists without a task: FAILED_PRECONDITION (422)", async () => {
    await n.promises.create({ id: "job", timeoutAt: BigInt(T0 + HOUR) });
    await expectStatus(runHere("job"), grpc.status.FAILED_PRECONDITION, "PROMISE_WITHOUT_TASK");
  });

  test("resonate:delay is not allowed: the caller runs the task now", async () => {
    await expectInvalid(
      n.tasks.create({
        pid: "w1",
        ttl: TTL,
        action: { id: "job", timeoutAt: BigInt(T0 + HOUR), tags: { ...target("g"), "resonate:delay": String(T0 + 1) } },
      }),
      'action.tags["resonate:delay"]',
    );
  });
});

describe("search and get", () => {
  test("tasks are searched by state and id, ordered by id", async () => {
    for (const id of ["a1", "a2", "b1"]) await createTarget(id);
    await acquire("a2", 0n);
    const ids = (r: { tasks: { id: string }[] }) => r.tasks.map((t) => t.id);
    expect(ids(await n.tasks.search({}))).toEqual(["a1", "a2", "b1"]);
    expect(ids(await n.tasks.search({ state: TaskState.ACQUIRED }))).toEqual(["a2"]);
    expect(ids(await n.tasks.search({ id: "a" }))).toEqual(["a1", "a2"]);
    const page = await n.tasks.search({ limit: 2 });
    expect(ids(page)).toEqual(["a1", "a2"]);
    expect(ids(await n.tasks.search({ limit: 2, cursor: page.cursor }))).toEqual(["b1"]);
  });

  test("an unknown task is NOT_FOUND", async () => {
    await expectStatus(n.tasks.get({ id: "nope" }), grpc.status.NOT_FOUND, "TASK_NOT_FOUND", /"nope"/);
  });
});

describe("poll", () => {
  const pollError = (group: string, pid: string) =>
    new Promise<grpc.ServiceError>((resolve, reject) => {
      const stream = n.tasks.poll({ group, pid });
      stream.on("data", () => reject(new Error("unexpected message")));
      stream.on("error", resolve);
      stream.on("end", () => reject(new Error("stream ended OK")));
    });

  test("an empty group is INVALID_ARGUMENT naming group", async () => {
    const err = await pollError("", "w1");
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^group must not be empty/);
  });

  test("an empty pid is INVALID_ARGUMENT naming pid", async () => {
    const err = await pollError("workers", "");
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^pid must not be empty/);
  });

  test("a group that cannot be part of an address is INVALID_ARGUMENT", async () => {
    const err = await pollError("has/slash", "w1");
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^group /);
  });

  test("groups starting with __ are reserved for the node", async () => {
    const err = await pollError("__watch__", "w1");
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/reserved/);
  });

  test("an unblock for a worker that is not connected waits for it", async () => {
    await n.promises.create({ id: "p", timeoutAt: BigInt(T0 + HOUR) });
    await n.promises.registerListener({ awaited: "p", address: "poll://uni@clients/c1" });
    await n.promises.settle({ id: "p", state: SettleState.RESOLVED });
    const inbox = await n.poll("clients", "c1");
    expect((await inbox.nextUnblock()).id).toBe("p");
  });
});
