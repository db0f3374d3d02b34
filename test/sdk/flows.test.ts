// The SDK's core flows against a real node process, over gRPC.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resonate, Retry, type Context, type ResonateError } from "@resonate-mesh/sdk";
import { startNode, type NodeProc } from "../support/node.ts";
import { waitFor } from "../support/wait.ts";

let node: NodeProc;
const clients: Resonate[] = [];

function client(group: string, options: { ttl?: number } = {}): Resonate {
  const c = new Resonate({ url: node.url, group, stopGraceMs: 0, ...options });
  clients.push(c);
  return c;
}

async function taskState(c: Resonate, id: string, state: string): Promise<void> {
  await waitFor(`task ${id} to be ${state}`, async () => {
    const res = await c.transport.send({ kind: "task.get", data: { id } });
    return res.status === 200 && res.data.task.state === state;
  });
}

beforeAll(async () => {
  node = await startNode();
});

afterAll(async () => {
  for (const c of clients) await c.stop();
  await node?.stop();
});

describe("against a node: the seeds", () => {
  it("hello world", async () => {
    const worker = client("hello-workers");
    async function formatGreeting(_ctx: Context, name: string) {
      return `Hello, ${name}! Welcome to durable execution.`;
    }
    async function greet(ctx: Context, name: string) {
      return await ctx.run(formatGreeting, name);
    }
    worker.register(greet);
    worker.register(formatGreeting);
    const caller = client("hello-client");
    expect(await caller.rpc("greet-1", "greet", "World").target("hello-workers")).toBe("Hello, World! Welcome to durable execution.");
  });

  it("recursive factorial; a rerun returns from the promise without recomputing", async () => {
    const a = client("factorial-workers");
    const b = client("factorial-workers");
    let calls = 0;
    async function factorial(ctx: Context, n: number): Promise<number> {
      calls++;
      if (n <= 1) return 1;
      return n * (await ctx.rpc<number>("factorial", n - 1).target("poll://any@factorial-workers"));
    }
    a.register(factorial);
    b.register(factorial);
    const caller = client("factorial-client");
    expect(await caller.rpc("factorial-8", "factorial", 8).target("poll://any@factorial-workers")).toBe(40320);
    const computed = calls;
    expect(await caller.rpc("factorial-8", "factorial", 8).target("poll://any@factorial-workers")).toBe(40320);
    expect(calls).toBe(computed);
  });

  it("durable sleep: resumes after the timer, not before", async () => {
    const worker = client("sleep-workers");
    async function sleepingWorkflow(ctx: Context, ms: number) {
      await ctx.sleep(ms);
      return `Slept for ${ms} ms`;
    }
    worker.register(sleepingWorkflow);
    const caller = client("sleep-client");
    const started = Date.now();
    expect(await caller.rpc("sleep-workflow-1", "sleepingWorkflow", 400).target("sleep-workers")).toBe("Slept for 400 ms");
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it("fan-out with spawn", async () => {
    const worker = client("fan-workers");
    async function processItem(_ctx: Context, item: number) {
      await new Promise((r) => setTimeout(r, 10));
      return item * 10;
    }
    async function fanOut(ctx: Context, n: number) {
      const futures = [];
      for (let i = 0; i < n; i++) futures.push(await ctx.run(processItem, i).spawn());
      const out = [];
      for (const f of futures) out.push(await f.result());
      return out;
    }
    worker.register(fanOut);
    expect(await worker.run("fan-1", fanOut, 5)).toEqual([0, 10, 20, 30, 40]);
  });

  it("human in the loop: a latent promise resolved by another client", async () => {
    const worker = client("hitl-workers");
    const gateway = client("hitl-gateway");
    const ids: string[] = [];
    async function notify(_ctx: Context, id: string) {
      ids.push(id);
    }
    async function approval(ctx: Context, what: string) {
      const p = await ctx.promise<boolean>().spawn();
      await ctx.run(notify, p.id);
      return (await p.result()) ? `${what} approved` : `${what} denied`;
    }
    worker.register(approval);
    const handle = await gateway.rpc<string>("approval-1", "approval", "invoice").target("hitl-workers").spawn();
    await taskState(gateway, "approval-1", "suspended");
    await gateway.promises.resolve(ids[0]!, false);
    expect(await handle.result()).toBe("invoice denied");
  });
});

describe("against a node: replay", () => {
  it("sequential, parallel and nested children, each run once", async () => {
    const worker = client("replay-workers");
    const runs: string[] = [];
    async function leaf(ctx: Context, tag: string) {
      runs.push(tag);
      return `${tag}@${ctx.id}`;
    }
    async function inner(ctx: Context) {
      return [await ctx.run(leaf, "i0"), await ctx.run(leaf, "i1")];
    }
    async function outer(ctx: Context) {
      const first = await ctx.run(leaf, "s0");
      const parallel = await Promise.all([ctx.run(leaf, "p0"), ctx.run(leaf, "p1")]);
      const nested = await ctx.run(inner);
      const gate = await ctx.promise<string>();
      return [first, ...parallel, ...nested, gate];
    }
    worker.register(outer);
    const handle = await worker.run("replay-1", outer).spawn();
    await taskState(worker, "replay-1", "suspended");
    await worker.promises.resolve("replay-1.4", "open");
    expect(await handle.result()).toEqual(["s0@replay-1.0", "p0@replay-1.1", "p1@replay-1.2", "i0@replay-1.3.0", "i1@replay-1.3.1", "open"]);
    expect(runs.sort()).toEqual(["i0", "i1", "p0", "p1", "s0"]);
  });

  it("continues the same run when an awaited child settled before the suspend (redirect)", async () => {
    const worker = client("redirect-workers");
    const other = client("redirect-others");
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
    worker.register(flow);
    expect(await worker.run("redirect-1", flow)).toBe("early");
    expect(bodyRuns).toBe(1);
  });

  it("retries a failing step and then rejects with its error", async () => {
    const worker = client("retry-workers");
    let tries = 0;
    async function broken(_ctx: Context) {
      tries++;
      throw new RangeError(`try ${tries}`);
    }
    async function flow(ctx: Context) {
      return ctx.run(broken).retry(Retry.constant({ delay: 10, maxRetries: 2 }));
    }
    worker.register(flow);
    const error = await worker.run("retry-1", flow).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(tries).toBe(3);
    expect(error).toBeInstanceOf(RangeError);
    expect(error?.message).toBe("try 3");
  });

  it("times out an rpc that nobody serves", async () => {
    const worker = client("timeout-workers");
    async function flow(ctx: Context) {
      try {
        return await ctx.rpc("nobody").target("nobody-home").timeout(300);
      } catch (e) {
        return (e as Error).name;
      }
    }
    worker.register(flow);
    expect(await worker.run("timeout-1", flow)).toBe("PromiseTimedOutError");
  });

  it("rejects a replay that no longer makes the recorded calls", async () => {
    const worker = client("nondet-workers");
    let arg = "first";
    async function leaf(_ctx: Context, s: string) {
      return s;
    }
    async function flow(ctx: Context) {
      await ctx.run(leaf, arg);
      await ctx.promise();
    }
    worker.register(flow);
    const handle = await worker.run("nondet-1", flow).spawn();
    await taskState(worker, "nondet-1", "suspended");
    arg = "second";
    await worker.promises.resolve("nondet-1.1");
    const error = (await handle.result().catch((e: unknown) => e)) as ResonateError;
    expect(error.code).toBe("NON_DETERMINISTIC");
    expect(error.promiseId).toBe("nondet-1.0");
  });

  it("carries values the codec tags (bigint, Date, Map) through the node", async () => {
    const worker = client("codec-workers");
    async function echo(_ctx: Context, v: unknown) {
      return v;
    }
    worker.register(echo);
    const value = { n: 10n ** 20n, at: new Date(0), m: new Map([["k", new Set([1])]]) };
    expect(await worker.rpc("codec-1", "echo", value).target("codec-workers")).toEqual(value);
  });
});
