// The replay core, command in / command out: speculative continuation
// (CORE.md rule 11). A finished local child resolves before its write is
// answered; nothing starts and nothing is read or suspended until it is; an
// answer that refuses it or recorded something else ends in a replay.

import { describe, expect, it } from "vitest";
import type { Response } from "@resonate-mesh/node/protocol";
import { Retry } from "../../src/options/retry.ts";
import { Drive, encode, kinds, only, resolved, rpc, run, settledRecord } from "./support.ts";

/** A root that called one local child, which returned `value`; the commands that followed. */
function finishedChild(value: unknown = "A") {
  const d = new Drive({ id: "wf", speculate: true });
  const root = d.start();
  const child = d.core.call(root, run(d, root));
  d.core.await(root, child);
  d.core.returned(only(d.take(), "run").exec, { ok: true, value });
  return { d, root, child, commands: d.take() };
}

describe("replay core: speculative continuation", () => {
  it("resolves a finished local child with its recorded value in the same take as its write", () => {
    const { child, commands } = finishedChild("A");
    expect(kinds(commands)).toEqual(["cancelTimer", "create", "resolve"]);
    expect(resolved(commands, child)).toEqual({ ok: true, value: "A" });
  });

  it("resolves it with the outcome as stored (encoded, then decoded), as a replay would see it", () => {
    class Point {
      x = 1;
    }
    const { child, commands } = finishedChild(new Point()); // not storable: recorded as a rejection saying so
    const outcome = resolved(commands, child);
    expect(outcome?.ok).toBe(false);
    expect(outcome?.ok === false && (outcome.error as { code?: string }).code).toBe("NOT_SERIALIZABLE");
  });

  it("holds the next child's run until the write is acknowledged, then runs it", () => {
    const { d, root, commands } = finishedChild();
    const next = d.core.call(root, run(d, root));
    d.core.await(root, next);
    expect(kinds(d.take())).toEqual(["created", "timer"]); // no run
    const after = d.answerAll(commands);
    expect(only(after, "run").id).toBe("wf.1");
  });

  it("holds a retry's start until the write is acknowledged", () => {
    const d = new Drive({ id: "wf", speculate: true });
    const root = d.start();
    const first = d.core.call(root, run(d, root));
    const flaky = d.core.call(root, run(d, root, [], { retry: Retry.constant({ delay: 0, maxRetries: 3 }) }));
    d.core.await(root, first);
    d.core.await(root, flaky);
    const [runFirst, runFlaky] = d.take().filter((c) => c.kind === "run") as Extract<ReturnType<Drive["take"]>[number], { kind: "run" }>[];
    d.core.returned(runFirst!.exec, { ok: true, value: 1 });
    const write = d.take();
    d.core.returned(runFlaky!.exec, { ok: false, error: new Error("boom") });
    const timer = only(d.take(), "timer");
    d.core.timerFired(timer.key);
    expect(kinds(d.take())).not.toContain("run");
    expect(only(d.answerAll(write), "run").info.attempt).toBe(2);
  });

  it("holds a read until the write is acknowledged", () => {
    const { d, root, commands } = finishedChild();
    d.core.call(root, run(d, root, [], { id: "elsewhere" }));
    expect(kinds(d.take())).toEqual(["created"]);
    expect(only(d.answerAll(commands), "read").request.data.id).toBe("elsewhere");
  });

  it("does not hold a remote child's create: it may ride the same batch", () => {
    const { d, root } = finishedChild();
    d.core.call(root, rpc(d, root, "remote"));
    expect(kinds(d.take())).toEqual(["create"]);
  });

  it("does not suspend while a write is unacknowledged", () => {
    const { d, root, commands } = finishedChild();
    const remote = d.core.call(root, rpc(d, root, "remote"));
    d.core.await(root, remote);
    const created = d.take();
    d.answerAll(created);
    d.core.blocked();
    expect(kinds(d.take())).toEqual([]);
    d.answerAll(commands);
    d.core.blocked();
    expect(kinds(d.take())).toContain("suspend");
  });

  it("ends in a replay with the known records when the write is refused", () => {
    const { d, commands } = finishedChild();
    const create = only(commands, "create");
    const refused: Response = { kind: "task.fence", status: 400, error: { status: 400, code: "INVALID_ARGUMENT", message: "too big" } } as Response;
    d.core.answered(create.requests[0]!.req, { response: refused });
    const done = only(d.take(), "done");
    expect(done.result).toMatchObject({ kind: "replay" });
    expect(done.result.kind === "replay" && done.result.records.map((r) => r.id)).toEqual([]);
  });

  it("ends in a replay when the write found the id recorded with another value, and the records hold that one", () => {
    const { d, commands } = finishedChild("A");
    d.node.promises.set("wf.0", settledRecord("wf.0", "B", { func: "step", args: [], version: 1 }, {}));
    const done = only(d.answerAll(commands), "done");
    expect(done.result.kind).toBe("replay");
    const records = done.result.kind === "replay" ? done.result.records : [];
    expect(records.find((r) => r.id === "wf.0")?.value).toEqual(encode("B"));
  });

  it("ends lost, not in a replay, when the fence is lost", () => {
    const { d, commands } = finishedChild();
    const create = only(commands, "create");
    const lost: Response = { kind: "task.fence", status: 409, error: { status: 409, code: "TASK_VERSION_MISMATCH", message: "moved on" } } as Response;
    d.core.answered(create.requests[0]!.req, { response: lost });
    expect(only(d.take(), "done").result.kind).toBe("lost");
  });
});
