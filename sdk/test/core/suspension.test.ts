// The replay core decides when to suspend and what the node's answer means:
// 200 drops the attempt, 300 continues the same attempt with what settled.

import { describe, expect, it } from "vitest";
import { Drive, encode, kinds, only, resolved, rpc, run } from "./support.ts";

/** A root that made an rpc `wf.0` the node holds pending, and awaits it. */
function awaitingRemote(): { d: Drive; root: number; child: number } {
  const d = new Drive({ id: "wf" });
  const root = d.start();
  const child = d.core.call(root, rpc(d, root, "f"));
  d.core.await(root, child);
  d.answerAll(d.take());
  return { d, root, child };
}

describe("replay core: when to suspend", () => {
  it("suspends with a callback on the awaited pending child once user code is blocked", () => {
    const { d } = awaitingRemote();
    d.core.blocked();
    const suspend = only(d.take(), "suspend");
    expect(suspend.ids).toEqual(["wf.0"]);
    expect(suspend.request.data).toEqual({
      id: "wf",
      version: 1,
      actions: [{ kind: "promise.register_callback", data: { awaited: "wf.0", awaiter: "wf" } }],
    });
  });

  it("suspends on every awaited pending child at once", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    const a = d.core.call(root, rpc(d, root, "f"));
    const b = d.core.call(root, rpc(d, root, "g"));
    d.core.await(root, a);
    d.core.await(root, b);
    d.answerAll(d.take());
    d.core.blocked();
    expect(only(d.take(), "suspend").ids).toEqual(["wf.0", "wf.1"]);
  });

  it("does not suspend while a request is in flight", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    const child = d.core.call(root, rpc(d, root, "f"));
    d.core.await(root, child);
    const create = d.take();
    d.core.blocked();
    expect(d.take()).toEqual([]);
    d.answerAll(create);
    d.core.blocked();
    expect(kinds(d.take())).toEqual(["suspend"]);
  });

  it("does not suspend while some running function awaits nothing (it is still running user code)", () => {
    const { d, root } = awaitingRemote();
    d.core.call(root, run(d, root));
    const local = only(d.take(), "run");
    d.core.blocked();
    expect(d.take()).toEqual([]);
    d.core.returned(local.exec, { ok: true, value: 1 });
    d.answerAll(d.take());
    d.core.blocked();
    expect(only(d.take(), "suspend").ids).toEqual(["wf.0"]);
  });

  it("does not suspend on a function waiting only on local children", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    const child = d.core.call(root, run(d, root));
    d.core.await(root, child);
    const local = only(d.take(), "run");
    d.core.call(local.exec, rpc(d, local.exec, "f"));
    d.answerAll(d.take());
    // The local child has not awaited its rpc yet: it is running.
    d.core.blocked();
    expect(d.take()).toEqual([]);
  });

  it("suspends when a spawned remote child is joined at the function's end", () => {
    const d = new Drive({ id: "wf" });
    const root = d.start();
    d.core.call(root, rpc(d, root, "f"));
    d.answerAll(d.take());
    d.core.returned(root, { ok: true, value: "done" });
    d.core.blocked();
    expect(only(d.take(), "suspend").ids).toEqual(["wf.0"]);
  });
});

describe("replay core: the node's answer to a suspend", () => {
  it("200: the attempt is done (suspended) and nothing of it continues", () => {
    const { d, root, child } = awaitingRemote();
    d.core.blocked();
    const after = d.answerAll(d.take());
    expect(after).toEqual([{ kind: "cancelTimer", key: expect.stringMatching(/^timeout:/) }, { kind: "done", result: { kind: "suspended" } }]);
    d.node.settle("wf.0", "resolved", encode(1));
    d.core.returned(root, { ok: true, value: 1 });
    d.core.await(root, child);
    d.core.blocked();
    expect(d.take()).toEqual([]);
    expect(d.core.isRunning(root)).toBe(false);
  });

  it("300: the same attempt continues with the value the redirect preloaded", () => {
    const { d, root, child } = awaitingRemote();
    d.core.blocked();
    const suspend = d.take();
    d.node.settle("wf.0", "resolved", encode("early"));
    const after = d.answerAll(suspend);
    expect(after).toEqual([{ kind: "resolve", child, outcome: { ok: true, value: "early" }, durable: true }]);
    expect(d.core.isRunning(root)).toBe(true);
    // The same try goes on: no new run of the root.
    d.core.returned(root, { ok: true, value: "early" });
    expect(kinds(d.take())).toEqual(["cancelTimer", "fulfill"]);
    expect(d.log.filter((c) => c.kind === "run")).toHaveLength(1);
  });

  it("300 without the record: reads the awaited child, then continues", () => {
    const { d, child } = awaitingRemote();
    d.core.blocked();
    const suspend = only(d.take(), "suspend");
    d.node.settle("wf.0", "resolved", encode("read back"));
    d.core.answered(suspend.req, { response: { kind: "task.suspend", status: 300, data: { preload: [] } } });
    const read = d.take();
    expect(kinds(read)).toEqual(["read"]);
    expect(resolved(d.answerAll(read), child)).toEqual({ ok: true, value: "read back" });
  });

  it("is lost when the suspend is refused with 409", () => {
    const { d } = awaitingRemote();
    d.core.blocked();
    const suspend = only(d.take(), "suspend");
    d.core.answered(suspend.req, {
      response: { kind: "task.suspend", status: 409, error: { status: 409, code: "TASK_STATE_CONFLICT", message: "not acquired" } },
    });
    expect(only(d.take(), "done").result).toMatchObject({ kind: "lost" });
  });
});
