// A replayed call must be the call that was recorded at its id.

import { describe, expect, it } from "vitest";
import { decode, Drive, localTags, only, resolved, rpc, rpcTags, run, settledRecord } from "./support.ts";

function recordedStep(args: unknown[], func = "step") {
  return settledRecord("wf.0", "recorded", { func, args, version: 1 }, localTags("wf"));
}

describe("replay core: non-determinism", () => {
  it("fails a replayed call with other arguments, naming the id and both calls", () => {
    const d = new Drive({ id: "wf", preload: [recordedStep([1])] });
    const root = d.start();
    const child = d.core.call(root, run(d, root, [2]));
    const out = d.take();
    const error = (resolved(out, child) as { error: Error & { code: string } }).error;
    expect(error.code).toBe("NON_DETERMINISTIC");
    expect(error.message).toContain(`promise "wf.0"`);
    expect(error.message).toContain("recorded as ctx.run(step, 1), but this run called ctx.run(step, 2)");
    expect(only(out, "nonDeterministic").id).toBe("wf.0");
  });

  it("fails a replayed call of another function at the same id", () => {
    const d = new Drive({ id: "wf", preload: [recordedStep([], "other")] });
    const root = d.start();
    const child = d.core.call(root, run(d, root));
    expect((resolved(d.take(), child) as { error: Error }).error.message).toContain("recorded as ctx.run(other)");
  });

  it("fails a replayed call of another kind at the same id", () => {
    const d = new Drive({ id: "wf", preload: [recordedStep([])] });
    const root = d.start();
    const child = d.core.call(root, { kind: "sleep", id: d.core.nextId(root), ms: 10 });
    expect((resolved(d.take(), child) as { error: Error }).error.message).toContain("but this run called ctx.sleep(...)");
  });

  it("accepts the same arguments encoded with keys in another order", () => {
    const d = new Drive({ id: "wf", preload: [recordedStep([{ a: 1, b: 2 }])] });
    const root = d.start();
    const child = d.core.call(root, run(d, root, [{ b: 2, a: 1 }]));
    expect(resolved(d.take(), child)).toEqual({ ok: true, value: "recorded" });
  });

  it("poisons the attempt: the root rejects with the non-determinism even if the function caught it", () => {
    const d = new Drive({ id: "wf", preload: [recordedStep([1])] });
    const root = d.start();
    d.core.call(root, run(d, root, [2]));
    d.take();
    d.core.returned(root, { ok: true, value: "caught it" });
    const fulfill = only(d.take(), "fulfill");
    expect(fulfill.request.data.action.data.state).toBe("rejected");
    expect((decode(fulfill.request.data.action.data.value!) as Error).message).toMatch(/non-deterministic replay at promise "wf.0"/);
  });

  it("detects a mismatch learnt from a fenced create's answer", () => {
    const d = new Drive({ id: "wf" });
    d.node.promises.set("wf.0", settledRecord("wf.0", 1, { func: "f", args: [1], version: 1 }, rpcTags("wf", "wf.0")));
    const root = d.start();
    const child = d.core.call(root, rpc(d, root, "f", [2]));
    const out = d.answerAll(d.take());
    expect((resolved(out, child) as { error: Error & { code: string } }).error.code).toBe("NON_DETERMINISTIC");
  });
});
