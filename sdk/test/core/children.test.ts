// The replay core, command in / command out: ids, local and remote children,
// nesting, replay from the preload, structured concurrency, endings.

import { describe, expect, it } from "vitest";
import { Retry } from "../../src/options/retry.ts";
import { created, decode, Drive, HOUR, kinds, localTags, only, resolved, rpc, rpcTags, run, settledRecord, T0 } from "./support.ts";

describe("replay core: start and ids", () => {
  it("starts by running the root function as try 1 with its context info", () => {
    const d = new Drive({ id: "wf" });
    d.core.start();
    const cmd = only(d.take(), "run");
    expect(cmd.id).toBe("wf");
    expect(cmd.info).toMatchObject({ parentId: "wf", originId: "wf", branchId: "wf", funcName: "rootFn", timeoutAt: T0 + HOUR, attempt: 1, version: 1 });
  });

  it("derives child ids as {parent}.{seq} in call order, below a local child for its own children", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    expect([d.core.nextId(root), d.core.nextId(root)]).toEqual(["wf.0", "wf.1"]);
    const child = d.core.call(root, run(d, root));
    const childRun = only(d.take(), "run");
    expect(childRun.id).toBe("wf.2");
    expect(d.core.nextId(childRun.exec)).toBe("wf.2.0");
    expect(child).toBeGreaterThan(0);
  });
});

describe("replay core: local children", () => {
  it("runs a local child and records it with one fenced create of a settled promise", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    const child = d.core.call(root, run(d, root, [7, "x"]));
    d.core.await(root, child);
    const started = d.take();
    expect(kinds(started)).toEqual(["created", "timer", "run"]);
    const exec = only(started, "run").exec;

    d.core.returned(exec, { ok: true, value: "7x" });
    const recorded = d.take();
    expect(kinds(recorded)).toEqual(["cancelTimer", "create"]);
    expect(created(recorded[1]!)).toEqual([
      { id: "wf.0", state: "resolved", value: "7x", tags: localTags("wf"), timeoutAt: T0 + HOUR, param: { func: "step", args: [7, "x"], version: 1 } },
    ]);

    const after = d.answerAll(recorded);
    expect(resolved(after, child)).toEqual({ ok: true, value: "7x" });
  });

  it("runs sequential children one after the other and completes the root with its result", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    for (const value of ["A", "B"]) {
      const child = d.core.call(root, run(d, root));
      d.core.await(root, child);
      d.core.returned(only(d.take(), "run").exec, { ok: true, value });
      expect(resolved(d.answerAll(d.take()), child)).toEqual({ ok: true, value });
    }
    d.core.returned(root, { ok: true, value: "AB" });
    const fulfill = only(d.take(), "fulfill");
    expect(fulfill.request.data.action.data).toMatchObject({ id: "wf", state: "resolved" });
    expect(decode(fulfill.request.data.action.data.value!)).toBe("AB");
    expect(only(d.answerAll([fulfill]), "done").result).toMatchObject({ kind: "completed", promise: { id: "wf", state: "resolved" } });
  });

  it("nests: a local child's children are its own, with its id as their parent", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    d.core.call(root, run(d, root));
    const inner = only(d.take(), "run");
    expect(inner.info).toMatchObject({ parentId: "wf", funcName: "step" });
    d.core.call(inner.exec, run(d, inner.exec, [1]));
    const leaf = only(d.take(), "run");
    expect(leaf.id).toBe("wf.0.0");
    d.core.returned(leaf.exec, { ok: true, value: 1 });
    const [c] = created(only(d.take(), "create"));
    expect(c!.tags).toEqual(localTags("wf", "wf.0"));
  });

  it("replays a child settled in the preload without running or creating it", () => {
    const d = new Drive({ id: "wf", preload: [settledRecord("wf.0", "recorded", { func: "step", args: [], version: 1 }, localTags("wf"))] });
    const root = d.start();
    const child = d.core.call(root, run(d, root));
    const out = d.take();
    expect(kinds(out)).toEqual(["resolve"]);
    expect(resolved(out, child)).toEqual({ ok: true, value: "recorded" });
  });

  it("rethrows a recorded rejection of a replayed child", () => {
    const error = new Error("boom");
    const d = new Drive({ id: "wf", preload: [settledRecord("wf.0", error, { func: "step", args: [], version: 1 }, localTags("wf"), "rejected")] });
    const root = d.start();
    const child = d.core.call(root, run(d, root));
    const outcome = resolved(d.take(), child);
    expect(outcome?.ok).toBe(false);
    expect((outcome as { error: Error }).error.message).toBe("boom");
  });

  it("reads a local child with an explicit id outside the branch before running it", () => {
    const d = new Drive({ id: "wf" });
    d.node.promises.set("elsewhere", settledRecord("elsewhere", 42, { func: "step", args: [], version: 1 }, localTags("other")));
    const root = d.start();
    const child = d.core.call(root, run(d, root, [], { id: "elsewhere" }));
    const first = d.take();
    expect(kinds(first)).toEqual(["created", "read"]);
    expect(resolved(d.answerAll(first), child)).toEqual({ ok: true, value: 42 });
  });
});

describe("replay core: parallel local children", () => {
  it("runs children started in one step side by side and records those that finish together in one create", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    const children = [1, 2, 3].map((n) => d.core.call(root, run(d, root, [n])));
    for (const c of children) d.core.await(root, c);
    const runs = d.take().filter((c) => c.kind === "run");
    expect(runs.map((r) => (r.kind === "run" ? r.id : ""))).toEqual(["wf.0", "wf.1", "wf.2"]);
    runs.forEach((r, i) => d.core.returned(r.kind === "run" ? r.exec : -1, { ok: true, value: i }));
    const out = d.take();
    expect(kinds(out)).toEqual(["cancelTimer", "create", "cancelTimer", "cancelTimer"]);
    expect(created(out[1]!).map((c) => [c.id, c.value])).toEqual([
      ["wf.0", 0],
      ["wf.1", 1],
      ["wf.2", 2],
    ]);
    const after = d.answerAll(out);
    expect(children.map((c) => resolved(after, c))).toEqual([0, 1, 2].map((value) => ({ ok: true, value })));
  });
});

describe("replay core: remote children", () => {
  it("creates a latent promise with its data in the param and no target", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    d.core.nextId(root);
    d.core.call(root, { kind: "promise", id: "approval-7", data: { doc: "spec.md" }, tags: { team: "a" } });
    const [c] = created(only(d.take(), "create"));
    expect(c).toMatchObject({ id: "approval-7", state: "pending", param: { func: "resonate:promise", args: [{ doc: "spec.md" }] }, timeoutAt: T0 + HOUR });
    expect(c!.tags).toEqual({ team: "a", "resonate:origin": "wf", "resonate:parent": "wf", "resonate:scope": "global", "resonate:branch": "approval-7" });
  });

  it("creates every child requested in the same step in one create command", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    for (const n of [1, 2, 3]) d.core.call(root, rpc(d, root, "square", [n]));
    const out = d.take();
    expect(kinds(out)).toEqual(["create"]);
    expect(created(out[0]!).map((c) => [c.id, c.state, c.param])).toEqual([
      ["wf.0", "pending", { func: "square", args: [1], version: 1 }],
      ["wf.1", "pending", { func: "square", args: [2], version: 1 }],
      ["wf.2", "pending", { func: "square", args: [3], version: 1 }],
    ]);
    expect(created(out[0]!)[0]!.tags).toEqual(rpcTags("wf", "wf.0"));
  });

  it("bounds an rpc's timeout by its parent's and a sleep's deadline by both", () => {
    const d = new Drive({ id: "wf", timeoutAt: T0 + 5_000 });
    const root = d.start();
    d.core.call(root, rpc(d, root, "f", [], { timeout: 60_000 }));
    d.core.call(root, { kind: "sleep", id: d.core.nextId(root), ms: 1_000 });
    d.core.call(root, { kind: "sleep", id: d.core.nextId(root), ms: 10_000_000 });
    const [a, b, c] = created(only(d.take(), "create"));
    expect([a!.timeoutAt, b!.timeoutAt, c!.timeoutAt]).toEqual([T0 + 5_000, T0 + 1_000, T0 + 5_000]);
    expect(b!.tags).toMatchObject({ "resonate:timer": "true", "resonate:target": "poll://any@g" });
  });

  it("announces a pending remote child as created once the node has it", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    const child = d.core.call(root, rpc(d, root, "f"));
    expect(d.answerAll(d.take())).toEqual([{ kind: "created", child }]);
  });

  it("settles a remote child from the record a fenced create returns when it already settled", () => {
    const d = new Drive({ id: "wf" });
    d.node.promises.set("wf.0", settledRecord("wf.0", 9, { func: "f", args: [], version: 1 }, rpcTags("wf", "wf.0")));
    const root = d.start();
    const child = d.core.call(root, rpc(d, root, "f"));
    expect(resolved(d.answerAll(d.take()), child)).toEqual({ ok: true, value: 9 });
  });

  it("fails the child where it was started when the node refuses its create", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    const child = d.core.call(root, rpc(d, root, "f"));
    const create = only(d.take(), "create");
    d.core.answered(create.requests[0]!.req, {
      response: { kind: "task.fence", status: 200, data: { action: { kind: "promise.create", status: 400, error: { status: 400, code: "INVALID_ARGUMENT", message: "bad id" } }, preload: [] } },
    });
    const out = d.take();
    expect(out).toEqual([{ kind: "resolve", child, outcome: { ok: false, error: expect.objectContaining({ name: "ServerError" }) }, durable: false }]);
  });

  it("fails a call whose arguments cannot be stored without sending anything", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    const child = d.core.call(root, rpc(d, root, "f", [() => 1]));
    const out = d.take();
    expect(kinds(out)).toEqual(["resolve"]);
    expect((resolved(out, child) as { error: Error }).error.message).toMatch(/args\[0\]/);
  });
});

describe("replay core: structured concurrency", () => {
  it("waits for a spawned local child before the function ends", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    d.core.call(root, run(d, root));
    const child = only(d.take(), "run");
    d.core.returned(root, { ok: true, value: "returned" });
    expect(kinds(d.take())).toEqual([]);
    d.core.returned(child.exec, { ok: true, value: 1 });
    const after = d.answerAll(d.take());
    expect(kinds(after)).toEqual(["resolve", "cancelTimer", "fulfill"]);
  });

  it("fails a function whose unawaited spawned child failed", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    d.core.call(root, run(d, root, [], { retry: Retry.never() }));
    const child = only(d.take(), "run");
    d.core.returned(child.exec, { ok: false, error: new Error("child broke") });
    d.answerAll(d.take());
    d.core.returned(root, { ok: true, value: "returned" });
    const fulfill = only(d.take(), "fulfill");
    expect(fulfill.request.data.action.data.state).toBe("rejected");
    expect((decode(fulfill.request.data.action.data.value!) as Error).message).toBe("child broke");
  });

  it("does not wait for a detached child", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    d.core.call(root, { kind: "detached", id: d.core.nextId(root), name: "audit", args: [], target: "poll://any@default", version: 1 });
    d.answerAll(d.take());
    d.core.returned(root, { ok: true, value: "wf.0" });
    expect(kinds(d.take())).toEqual(["cancelTimer", "fulfill"]);
  });
});

describe("replay core: endings", () => {
  it("is lost when the node answers 409 to a fenced request, and ignores everything after", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    d.core.call(root, rpc(d, root, "f"));
    const create = only(d.take(), "create");
    d.core.answered(create.requests[0]!.req, {
      response: { kind: "task.fence", status: 409, error: { status: 409, code: "TASK_VERSION_MISMATCH", message: "version moved on" } },
    });
    expect(only(d.take(), "done").result).toMatchObject({ kind: "lost" });
    d.core.returned(root, { ok: true, value: 1 });
    d.core.blocked();
    expect(d.take()).toEqual([]);
    expect(d.core.isRunning(root)).toBe(false);
  });

  it("fails the attempt when the transport gives up on a request", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    d.core.call(root, rpc(d, root, "f"));
    const create = only(d.take(), "create");
    d.core.answered(create.requests[0]!.req, { error: new Error("unreachable") });
    expect(only(d.take(), "done").result).toEqual({ kind: "failed", error: new Error("unreachable") });
  });

  it("is lost when abandoned, cancelling its timers", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    d.core.abandon("the client is stopping");
    expect(d.take()).toEqual([
      { kind: "cancelTimer", key: expect.stringMatching(/^timeout:/) },
      { kind: "done", result: { kind: "lost", reason: "the client is stopping" } },
    ]);
    expect(d.core.isRunning(root)).toBe(false);
  });
});
