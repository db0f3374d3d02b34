// Retries and timeouts are decisions of the replay core: it asks for timers
// and acts when the runner says one is due.

import { describe, expect, it } from "vitest";
import { ResonateError } from "../../src/errors.ts";
import { Retry } from "../../src/options/retry.ts";
import { created, Drive, kinds, only, run, T0 } from "./support.ts";

/** A root that started local child `wf.0` with `extra` options; returns the child's first run. */
function withLocalChild(extra: Parameters<typeof run>[3], timeoutAt?: number) {
  const d = new Drive({ id: "wf", ...(timeoutAt !== undefined ? { timeoutAt } : {}) });
  const root = d.start();
  d.core.call(root, run(d, root, [], extra));
  const first = d.take();
  return { d, root, first, exec: only(first, "run").exec };
}

describe("replay core: retries", () => {
  it("asks for a retry timer after a failed try and runs try 2 when it is due", () => {
    const { d, exec } = withLocalChild({ retry: Retry.constant({ delay: 5 }) });
    d.core.returned(exec, { ok: false, error: new Error("not yet") });
    const wait = d.take();
    expect(wait).toEqual([{ kind: "timer", key: expect.stringMatching(/^retry:/), at: T0 + 5, unref: false }]);
    d.now += 5;
    d.core.timerFired(wait[0]!.kind === "timer" ? wait[0]!.key : "");
    const second = only(d.take(), "run");
    expect(second.info.attempt).toBe(2);
    expect(second.exec).not.toBe(exec);
    expect(d.core.isRunning(exec)).toBe(false);
    d.core.returned(second.exec, { ok: true, value: "ok" });
    expect(created(only(d.take(), "create"))[0]).toMatchObject({ id: "wf.0", state: "resolved", value: "ok" });
  });

  it("records the failure once the policy gives up", () => {
    const { d, exec } = withLocalChild({ retry: Retry.never() });
    d.core.returned(exec, { ok: false, error: new TypeError("still broken") });
    const [c] = created(only(d.take(), "create"));
    expect(c).toMatchObject({ id: "wf.0", state: "rejected" });
    expect(c!.value).toBeInstanceOf(TypeError);
  });

  it("does not retry when the next try would start at or after the timeout", () => {
    const { d, exec } = withLocalChild({ retry: Retry.constant({ delay: 40 }), timeout: 100 });
    d.now += 60;
    d.core.returned(exec, { ok: false, error: new Error("always") });
    expect(kinds(d.take())).toEqual(["cancelTimer", "create"]);
  });

  it("does not retry errors that retrying cannot fix", () => {
    const { d, exec } = withLocalChild({ retry: Retry.constant({ delay: 1 }) });
    d.core.returned(exec, { ok: false, error: new ResonateError("CONTEXT_OUTSIDE_FUNCTION", "used ctx after return") });
    expect(kinds(d.take())).toEqual(["cancelTimer", "create"]);
  });

  it("retries a root function only by its invocation's policy", () => {
    const d = new Drive({ id: "wf", retry: Retry.constant({ delay: 1, maxRetries: 1 }) });
    const root = d.start();
    d.core.returned(root, { ok: false, error: new Error("no") });
    expect(kinds(d.take())).toEqual(["timer"]);
  });
});

describe("replay core: timeouts", () => {
  it("asks for an unref'd timer at the child's deadline, bounded by its parent's", () => {
    const { first } = withLocalChild({ timeout: 30 });
    expect(first.find((c) => c.kind === "timer")).toEqual({ kind: "timer", key: expect.stringMatching(/^timeout:/), at: T0 + 30, unref: true });
  });

  it("times out a running child when its timer is due: the try is abandoned and the timeout recorded", () => {
    const { d, first, exec } = withLocalChild({ timeout: 30, retry: Retry.never() });
    const timer = first.find((c) => c.kind === "timer");
    d.now += 30;
    d.core.timerFired(timer!.kind === "timer" ? timer!.key : "");
    const [c] = created(only(d.take(), "create"));
    expect(c).toMatchObject({ id: "wf.0", state: "rejected" });
    expect((c!.value as Error).message).toMatch(/promise "wf.0" timed out/);
    expect(d.core.isRunning(exec)).toBe(false);
    d.core.returned(exec, { ok: true, value: "late" });
    expect(d.take()).toEqual([]);
  });

  it("does not run a function whose deadline has passed: it settles as timed out at once", () => {
    const d = new Drive({ id: "wf", timeoutAt: T0 - 1 });
    d.core.start();
    const out = d.take();
    expect(kinds(out)).toEqual(["fulfill"]);
    const fulfill = only(out, "fulfill");
    expect(fulfill.request.data.action.data.state).toBe("rejected");
  });

  it("gives a child at most its parent's timeout", () => {
    const d = new Drive({ id: "wf", timeoutAt: T0 + 2_000 });
    const root = d.start();
    d.core.call(root, run(d, root, [], { timeout: 10_000 }));
    expect(only(d.take(), "run").info.timeoutAt).toBe(T0 + 2_000);
    d.core.call(root, run(d, root, [], { timeout: 500 }));
    expect(only(d.take(), "run").info.timeoutAt).toBe(T0 + 500);
  });
});
