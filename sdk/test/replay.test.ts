// Replay in local mode: memoized re-execution over the in-process node.

import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "@resonate-mesh/node/local";
import { LocalTransport } from "../src/transport/local.ts";
import { Resonate, Retry, type Context } from "../src/index.ts";
import { CountingTransport, local, peer, promiseOf, settlesWithin, taskState } from "./helpers.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A client whose requests are counted, on a node of its own. */
function counting(): { client: Resonate; transport: CountingTransport } {
  const transport = new CountingTransport(new LocalTransport());
  const client = new Resonate({ transport, stopGraceMs: 0 });
  cleanups.push(async () => {
    await client.stop();
    await transport.close();
  });
  return { client, transport };
}

describe("replay: sequential and parallel children", () => {
  it("runs each step once and returns the workflow's result", async () => {
    const client = local();
    const calls: string[] = [];
    async function step(_ctx: Context, name: string) {
      calls.push(name);
      return name.toUpperCase();
    }
    async function flow(ctx: Context) {
      const a = await ctx.run(step, "a");
      const b = await ctx.run(step, "b");
      return `${a}${b}`;
    }
    client.register(flow);
    expect(await client.run("seq-1", flow)).toBe("AB");
    expect(calls).toEqual(["a", "b"]);
  });

  it("derives child ids from the parent id and the call order", async () => {
    const client = local();
    async function leaf(ctx: Context) {
      return ctx.id;
    }
    async function flow(ctx: Context) {
      return [await ctx.run(leaf), await ctx.run(leaf), await ctx.run(leaf)];
    }
    client.register(flow);
    expect(await client.run("ids", flow)).toEqual(["ids.0", "ids.1", "ids.2"]);
    const child = await promiseOf(client, "ids.1");
    expect(child.state).toBe("resolved");
    expect(child.tags).toMatchObject({ "resonate:parent": "ids", "resonate:origin": "ids", "resonate:branch": "ids", "resonate:scope": "local" });
  });

  it("records a completed local step with one fenced create of a settled promise", async () => {
    const { client, transport } = counting();
    async function leaf(_ctx: Context, n: number) {
      return n * 2;
    }
    async function flow(ctx: Context) {
      return (await ctx.run(leaf, 1)) + (await ctx.run(leaf, 2));
    }
    client.register(flow);
    expect(await client.run("one-call", flow)).toBe(6);
    // The last step's record rides the root's fulfill.
    expect(transport.sent).toEqual(["task.create", "task.fence:promise.create:one-call.0", "task.fulfill+writes:1"]);
    for (const [id, value] of [["one-call.0", 2], ["one-call.1", 4]] as const) {
      const record = await promiseOf(client, id);
      expect([record.state, JSON.parse(Buffer.from(record.value.data, "base64").toString())]).toEqual(["resolved", value]);
    }
  });

  it("stores the function name and arguments in a child's param", async () => {
    const client = local();
    async function leaf(_ctx: Context, a: number, b: string) {
      return `${a}${b}`;
    }
    async function flow(ctx: Context) {
      return ctx.run(leaf, 7, "x");
    }
    client.register(flow);
    await client.run("param", flow);
    const child = await client.promises.get("param.0");
    expect(child.param).toEqual({ func: "leaf", args: [7, "x"], version: 1 });
  });

  it("runs spawned children in parallel and collects their results", async () => {
    const client = local();
    let running = 0;
    let peak = 0;
    async function slow(_ctx: Context, n: number) {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return n * n;
    }
    async function fanOut(ctx: Context, n: number) {
      const futures = [];
      for (let i = 0; i < n; i++) futures.push(await ctx.run(slow, i).spawn());
      const out = [];
      for (const f of futures) out.push(await f.result());
      return out;
    }
    client.register(fanOut);
    expect(await client.run("fan", fanOut, 5)).toEqual([0, 1, 4, 9, 16]);
    expect(peak).toBe(5);
  });

  it("awaits builders in parallel with Promise.all", async () => {
    const client = local();
    async function leaf(_ctx: Context, n: number) {
      await new Promise((r) => setTimeout(r, 10));
      return n + 1;
    }
    async function flow(ctx: Context) {
      return Promise.all([ctx.run(leaf, 1), ctx.run(leaf, 2), ctx.run(leaf, 3)]);
    }
    client.register(flow);
    expect(await client.run("all", flow)).toEqual([2, 3, 4]);
  });

  it("returns the stored result when the same id runs again, without running anything", async () => {
    const client = local();
    let runs = 0;
    async function flow(ctx: Context, n: number) {
      runs++;
      return ctx.run(async (_c: Context, x: number) => x + 1, n);
    }
    client.register(flow);
    expect(await client.run("again", flow, 1)).toBe(2);
    expect(await client.run("again", flow, 1)).toBe(2);
    expect(runs).toBe(1);
  });

  it("nests workflows: a local child with its own children gets ids below its own", async () => {
    const client = local();
    async function leaf(ctx: Context) {
      return ctx.id;
    }
    async function inner(ctx: Context) {
      return [ctx.id, ctx.parentId, await ctx.run(leaf), await ctx.run(leaf)];
    }
    async function outer(ctx: Context) {
      const first = await ctx.run(leaf);
      return [first, await ctx.run(inner)];
    }
    client.register(outer);
    expect(await client.run("nest", outer)).toEqual(["nest.0", ["nest.1", "nest", "nest.1.0", "nest.1.1"]]);
    expect((await promiseOf(client, "nest.1.1")).tags["resonate:parent"]).toBe("nest.1");
  });

  it("exposes the context accessors", async () => {
    const client = local();
    async function inner(ctx: Context) {
      return { id: ctx.id, parentId: ctx.parentId, originId: ctx.originId, funcName: ctx.funcName, timeoutAt: ctx.timeoutAt, info: ctx.info };
    }
    async function outer(ctx: Context) {
      return { self: { funcName: ctx.funcName, timeoutAt: ctx.timeoutAt }, inner: await ctx.run(inner).timeout(1_000) };
    }
    client.register(outer, { version: 3 });
    const out = await client.run("acc", outer).tags({ team: "a" });
    expect(out.self.funcName).toBe("outer");
    expect(out.inner).toMatchObject({ id: "acc.0", parentId: "acc", originId: "acc", funcName: "inner", info: { attempt: 1, version: 1 } });
    expect(out.inner.timeoutAt).toBeLessThanOrEqual(out.self.timeoutAt);
    expect(out.inner.info.tags["resonate:scope"]).toBe("local");
  });
});

describe("replay: suspension and resumption", () => {
  it("replays recorded steps without running them again after the workflow resumes", async () => {
    const client = local();
    const runs: string[] = [];
    async function step(_ctx: Context, name: string) {
      runs.push(name);
      return name;
    }
    async function approval(ctx: Context) {
      const before = await ctx.run(step, "before");
      const decision = await ctx.promise<string>();
      const after = await ctx.run(step, "after");
      return [before, decision, after];
    }
    client.register(approval);
    const handle = await client.run("hitl", approval).spawn();
    await taskState(client, "hitl", "suspended");
    expect(runs).toEqual(["before"]);
    await peer(client).promises.resolve("hitl.1", "yes");
    expect(await handle.result()).toEqual(["before", "yes", "after"]);
    expect(runs).toEqual(["before", "after"]);
  });

  it("does not throw a suspension through user code: a try/catch around an await catches nothing", async () => {
    const client = local();
    let caught = 0;
    async function guarded(ctx: Context) {
      try {
        return await ctx.promise<number>();
      } catch {
        caught++;
        return -1;
      }
    }
    client.register(guarded);
    const handle = await client.run("guarded", guarded).spawn();
    await taskState(client, "guarded", "suspended");
    await client.promises.resolve("guarded.0", 5);
    expect(await handle.result()).toBe(5);
    expect(caught).toBe(0);
  });

  it("suspends on every awaited pending child at once and resumes when one settles", async () => {
    const client = local();
    async function race(ctx: Context) {
      const a = ctx.promise<string>();
      const b = ctx.promise<string>();
      return Promise.race([a, b]);
    }
    client.register(race);
    const handle = await client.run("race", race).spawn();
    await taskState(client, "race", "suspended");
    await client.promises.resolve("race.1", "b won");
    expect(await handle.result()).toBe("b won");
  });

  it("continues the same attempt when an awaited child settled before the suspend (redirect)", async () => {
    const client = local();
    const other = peer(client);
    let bodyRuns = 0;
    async function settleIt(_ctx: Context, id: string) {
      await other.promises.resolve(id, "early");
    }
    async function flow(ctx: Context) {
      bodyRuns++;
      const latent = await ctx.promise<string>().spawn();
      await ctx.run(settleIt, latent.id);
      return latent.result();
    }
    client.register(flow);
    expect(await client.run("redirect", flow)).toBe("early");
    expect(bodyRuns).toBe(1);
  });

  it("does not run spawned work twice when a workflow resumes", async () => {
    const client = local();
    const runs: number[] = [];
    async function item(_ctx: Context, n: number) {
      runs.push(n);
      return n;
    }
    async function batch(ctx: Context) {
      const fs = [await ctx.run(item, 1).spawn(), await ctx.run(item, 2).spawn()];
      await ctx.promise();
      return (await fs[0]!.result()) + (await fs[1]!.result());
    }
    client.register(batch);
    const handle = await client.run("batch", batch).spawn();
    await taskState(client, "batch", "suspended");
    await client.promises.resolve("batch.2");
    expect(await handle.result()).toBe(3);
    expect(runs.sort()).toEqual([1, 2]);
  });

  it("replays ctx.now() and ctx.random() with their recorded values", async () => {
    const client = local();
    const seen: Array<[number, number]> = [];
    async function flow(ctx: Context) {
      const t = await ctx.now();
      const r = await ctx.random();
      seen.push([t, r]);
      await ctx.promise();
      return [t, r];
    }
    client.register(flow);
    const handle = await client.run("det", flow).spawn();
    await taskState(client, "det", "suspended");
    await new Promise((r) => setTimeout(r, 5));
    await client.promises.resolve("det.2");
    const out = await handle.result();
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual(seen[0]);
    expect(out).toEqual(seen[0]);
  });

  it("waits for spawned children that were never awaited before the function returns", async () => {
    const client = local();
    let finished = false;
    async function background(_ctx: Context) {
      await new Promise((r) => setTimeout(r, 30));
      finished = true;
    }
    async function flow(ctx: Context) {
      await ctx.run(background).spawn();
      return "returned";
    }
    client.register(flow);
    expect(await client.run("structured", flow)).toBe("returned");
    expect(finished).toBe(true);
  });

  it("fails a function whose unawaited spawned child failed", async () => {
    const client = local();
    async function broken(_ctx: Context) {
      throw new Error("child broke");
    }
    async function flow(ctx: Context) {
      await ctx.run(broken).retry(Retry.never()).spawn();
      return "returned";
    }
    client.register(flow);
    await expect(client.run("structured-fail", flow)).rejects.toThrow("child broke");
  });
});

describe("replay: remote children", () => {
  it("calls a function on another worker of a group with rpc", async () => {
    const client = local({ group: "clients" });
    const worker = peer(client, { group: "math" });
    async function square(_ctx: Context, n: number) {
      return n * n;
    }
    worker.register(square);
    async function sum(ctx: Context, n: number) {
      let total = 0;
      for (let i = 1; i <= n; i++) total += await ctx.rpc<number>("square", i).target("math");
      return total;
    }
    client.register(sum);
    expect(await client.run("rpc-sum", sum, 3)).toBe(14);
    const child = await promiseOf(client, "rpc-sum.0");
    expect(child.tags).toMatchObject({ "resonate:target": "poll://any@math", "resonate:branch": "rpc-sum.0", "resonate:parent": "rpc-sum" });
  });

  it("rpc from the client goes to poll://any@default unless targeted", async () => {
    const client = local({ group: "default" });
    async function hello(_ctx: Context, name: string) {
      return `hi ${name}`;
    }
    client.register(hello);
    expect(await client.rpc("rpc-default", "hello", "ann")).toBe("hi ann");
    expect((await promiseOf(client, "rpc-default")).tags["resonate:target"]).toBe("poll://any@default");
  });

  it("starts a detached function that outlives its parent's wait", async () => {
    const client = local();
    let done = false;
    async function audit(_ctx: Context) {
      await new Promise((r) => setTimeout(r, 20));
      done = true;
      return "audited";
    }
    async function flow(ctx: Context) {
      const f = await ctx.detached<string>("audit").spawn();
      return f.id;
    }
    client.register(audit);
    client.register(flow);
    const id = await client.run("detach", flow);
    expect(id).toBe("detach.0");
    expect(await (await client.get<string>(id)).result()).toBe("audited");
    expect(done).toBe(true);
  });
});

describe("replay: explicit ids", () => {
  it("records a step under an id of your own and replays it from there", async () => {
    const client = local();
    let runs = 0;
    async function leaf(_ctx: Context) {
      runs++;
      return "once";
    }
    async function flow(ctx: Context) {
      const v = await ctx.run(leaf).id("flow-step-a");
      await ctx.promise();
      return v;
    }
    client.register(flow);
    const handle = await client.run("explicit", flow).spawn();
    await taskState(client, "explicit", "suspended");
    await client.promises.resolve("explicit.1");
    expect(await handle.result()).toBe("once");
    expect(runs).toBe(1);
    expect((await promiseOf(client, "flow-step-a")).state).toBe("resolved");
  });

  it("suspends on a child whose id lies outside its execution tree and resumes when it settles", async () => {
    const client = local();
    async function flow(ctx: Context) {
      return ctx.rpc<string>("external").id("shared-answer").target("nobody-serves-this");
    }
    client.register(flow);
    const handle = await client.run("foreign", flow).spawn();
    await taskState(client, "shared-answer", "pending");
    await taskState(client, "foreign", "suspended");
    await peer(client).promises.resolve("shared-answer", "from outside");
    expect(await handle.result()).toBe("from outside");
  });

  it("prefixes explicit child ids with the client's prefix", async () => {
    const client = local({ prefix: "t1/" });
    async function leaf(ctx: Context) {
      return ctx.id;
    }
    async function flow(ctx: Context) {
      return ctx.run(leaf).id("mine");
    }
    client.register(flow);
    expect(await client.run("pfx", flow)).toBe("t1/mine");
  });
});

describe("replay: functions that return a call without awaiting it", () => {
  it("suspends and resumes a plain function that returns ctx.promise()", async () => {
    const client = local();
    const inner = (ctx: Context) => ctx.promise<string>();
    async function outer(ctx: Context) {
      return ctx.run(inner);
    }
    client.register(outer);
    const handle = await client.run("returns-call", outer).spawn();
    await taskState(client, "returns-call", "suspended");
    await client.promises.resolve("returns-call.0.0", "passed through");
    expect(await handle.result()).toBe("passed through");
  });
});

describe("replay: sleep", () => {
  it("sleeps on a durable timer that the node resolves when the clock passes it", async () => {
    const clock = new ManualClock(1_000_000);
    const client = local({ clock });
    async function nap(ctx: Context) {
      await ctx.sleep(60_000);
      return "awake";
    }
    client.register(nap);
    const handle = await client.run("nap", nap).spawn();
    await taskState(client, "nap", "suspended");
    const timer = await promiseOf(client, "nap.0");
    expect(timer.tags["resonate:timer"]).toBe("true");
    expect(timer.timeoutAt).toBe(1_060_000);
    expect(await settlesWithin(handle.result(), 30)).toBe(false);

    clock.advance(59_999);
    await client.node!.tick();
    expect(await settlesWithin(handle.result(), 30)).toBe(false);

    clock.advance(1);
    await client.node!.tick();
    expect(await handle.result()).toBe("awake");
  });

  it("bounds a sleep by the function's own timeout", async () => {
    const clock = new ManualClock(0);
    const client = local({ clock });
    async function nap(ctx: Context) {
      await ctx.sleep(10_000_000);
    }
    client.register(nap);
    await client.run("nap-bounded", nap).timeout(5_000).spawn();
    await taskState(client, "nap-bounded", "suspended");
    expect((await promiseOf(client, "nap-bounded.0")).timeoutAt).toBe(5_000);
  });
});

describe("replay: latent promises", () => {
  it("waits for a promise that another client settles by id", async () => {
    const client = local();
    const gateway = peer(client, { group: "gateway" });
    async function review(ctx: Context, doc: string) {
      const approval = await ctx.promise<{ ok: boolean }>({ data: { doc } }).spawn();
      await ctx.run(async (_c: Context, id: string) => void id, approval.id);
      const verdict = await approval.result();
      return verdict.ok ? `${doc} approved` : `${doc} rejected`;
    }
    client.register(review);
    const handle = await client.run("review", review, "spec.md").spawn();
    await taskState(client, "review", "suspended");
    const latent = await gateway.promises.get("review.0");
    expect(latent.pending).toBe(true);
    await gateway.promises.resolve("review.0", { ok: true });
    expect(await handle.result()).toBe("spec.md approved");
  });

  it("throws the rejection of a latent promise into the workflow", async () => {
    const client = local();
    async function wait(ctx: Context) {
      try {
        await ctx.promise();
        return "resolved";
      } catch (e) {
        return `rejected: ${(e as Error).message}`;
      }
    }
    client.register(wait);
    const handle = await client.run("latent-reject", wait).spawn();
    await taskState(client, "latent-reject", "suspended");
    await client.promises.reject("latent-reject.0", new Error("denied"));
    expect(await handle.result()).toBe("rejected: denied");
  });
});


describe("replay: retries", () => {
  it("retries a failing step by its policy and reports the attempt", async () => {
    const client = local();
    const attempts: number[] = [];
    async function flaky(ctx: Context) {
      attempts.push(ctx.info.attempt);
      if (attempts.length < 3) throw new Error("not yet");
      return "ok";
    }
    async function flow(ctx: Context) {
      return ctx.run(flaky).retry(Retry.constant({ delay: 5 }));
    }
    client.register(flow);
    expect(await client.run("retry-ok", flow)).toBe("ok");
    expect(attempts).toEqual([1, 2, 3]);
  });

  it("rejects with the step's error after its retries, carrying name, message and stack", async () => {
    const client = local();
    let tries = 0;
    async function broken(_ctx: Context) {
      tries++;
      throw new TypeError("still broken");
    }
    async function flow(ctx: Context) {
      return ctx.run(broken).retry(Retry.linear({ delay: 1, maxRetries: 2 }));
    }
    client.register(flow);
    const error = (await client.run("retry-fail", flow).then(
      () => undefined,
      (e: unknown) => e,
    )) as TypeError;
    expect(tries).toBe(3);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("still broken");
    expect(error.stack).toContain("broken");
    expect((await promiseOf(client, "retry-fail.0")).state).toBe("rejected");
    expect((await promiseOf(client, "retry-fail")).state).toBe("rejected");
  });

  it("does not retry a root function unless its invocation asks for it", async () => {
    const client = local();
    let tries = 0;
    async function once(_ctx: Context) {
      tries++;
      throw new Error("no");
    }
    client.register(once);
    await expect(client.run("root-never", once)).rejects.toThrow("no");
    expect(tries).toBe(1);
    await expect(client.run("root-retry", once).retry(Retry.constant({ delay: 1, maxRetries: 2 }))).rejects.toThrow("no");
    expect(tries).toBe(4);
  });

  it("stops retrying at the step's timeout", async () => {
    const client = local();
    let tries = 0;
    async function broken(_ctx: Context) {
      tries++;
      throw new Error("always");
    }
    async function flow(ctx: Context) {
      return ctx.run(broken).retry(Retry.constant({ delay: 40 })).timeout(100);
    }
    client.register(flow);
    await expect(client.run("retry-bounded", flow)).rejects.toThrow();
    expect(tries).toBeGreaterThanOrEqual(2);
    expect(tries).toBeLessThanOrEqual(3);
  });
});

describe("replay: timeouts", () => {
  it("rejects a step that runs past its timeout with a timeout error naming it", async () => {
    const client = local();
    async function slow(_ctx: Context) {
      await new Promise((r) => setTimeout(r, 500));
      return "late";
    }
    async function flow(ctx: Context) {
      try {
        return await ctx.run(slow).timeout(30).retry(Retry.never());
      } catch (e) {
        return (e as Error).message;
      }
    }
    client.register(flow);
    expect(await client.run("slow", flow)).toMatch(/promise "slow.0" timed out/);
    expect((await promiseOf(client, "slow.0")).state).toBe("rejected_timedout");
  });

  it("times out an rpc nobody serves when the clock passes its timeout", async () => {
    const clock = new ManualClock(0);
    const client = local({ clock });
    async function flow(ctx: Context) {
      try {
        await ctx.rpc("nobody").target("empty-group").timeout(1_000);
        return "answered";
      } catch (e) {
        return (e as Error).name;
      }
    }
    client.register(flow);
    const handle = await client.run("rpc-timeout", flow).spawn();
    await taskState(client, "rpc-timeout", "suspended");
    clock.advance(1_000);
    await client.node!.tick();
    expect(await handle.result()).toBe("PromiseTimedOutError");
  });

  it("gives a child at most its parent's timeout", async () => {
    const clock = new ManualClock(0);
    const client = local({ clock });
    async function leaf(ctx: Context) {
      return ctx.timeoutAt;
    }
    async function flow(ctx: Context) {
      return [await ctx.run(leaf).timeout(10_000), await ctx.run(leaf).timeout(500)];
    }
    client.register(flow);
    expect(await client.run("bounded", flow).timeout(2_000)).toEqual([2_000, 500]);
  });
});
