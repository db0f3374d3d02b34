// The seed programs (../shared/seeds), line for line in TypeScript, in local mode.

import { describe, expect, it } from "vitest";
import { ManualClock } from "@resonate-mesh/node/local";
import type { Context } from "../src/index.ts";
import { local, peer, settlesWithin, taskState } from "./helpers.ts";

describe("seeds in local mode", () => {
  it("hello world: a workflow calls a leaf", async () => {
    const resonate = local();
    async function formatGreeting(_ctx: Context, name: string) {
      return `Hello, ${name}! Welcome to durable execution.`;
    }
    async function greet(ctx: Context, name: string) {
      return await ctx.run(formatGreeting, name);
    }
    resonate.register(greet);
    resonate.register(formatGreeting);
    expect(await resonate.rpc("greet-1", "greet", "World")).toBe("Hello, World! Welcome to durable execution.");
  });

  it("recursive factorial across a worker group; a rerun returns from the promise without recomputing", async () => {
    const worker = local({ group: "factorial-workers" });
    const client = peer(worker, { group: "client" });
    let calls = 0;
    async function factorial(ctx: Context, n: number): Promise<number> {
      calls++;
      if (n <= 1) return 1;
      return n * (await ctx.rpc<number>("factorial", n - 1).target("poll://any@factorial-workers"));
    }
    worker.register(factorial);
    expect(await client.rpc<number>("factorial-6", "factorial", 6).target("poll://any@factorial-workers")).toBe(720);
    const computed = calls;
    expect(computed).toBeGreaterThanOrEqual(6);
    expect(await client.rpc<number>("factorial-6", "factorial", 6).target("poll://any@factorial-workers")).toBe(720);
    expect(calls).toBe(computed);
  });

  it("durable sleep: the workflow resumes when the timer fires, not before", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const worker = local({ group: "workers", clock });
    const client = peer(worker, { group: "client", clock });
    async function sleepingWorkflow(ctx: Context, secs: number) {
      await ctx.sleep(secs * 1000);
      return `Slept for ${secs} seconds`;
    }
    worker.register(sleepingWorkflow);
    const handle = await client.rpc<string>("sleep-workflow-1", "sleepingWorkflow", 5).target("poll://any@workers").spawn();
    await taskState(worker, "sleep-workflow-1", "suspended");
    expect(await settlesWithin(handle.result(), 20)).toBe(false);
    clock.advance(5_000);
    await worker.node!.tick();
    expect(await handle.result()).toBe("Slept for 5 seconds");
  });

  it("fan-out with spawn: every item is its own durable promise", async () => {
    const resonate = local();
    async function processItem(_ctx: Context, item: string) {
      return item.length;
    }
    async function fanOut(ctx: Context, items: string[]) {
      const futures = [];
      for (const item of items) futures.push(await ctx.run(processItem, item).spawn());
      const results = [];
      for (const f of futures) results.push(await f.result());
      return results;
    }
    resonate.register(fanOut);
    expect(await resonate.run("fan-out-1", fanOut, ["a", "bb", "ccc"])).toEqual([1, 2, 3]);
    for (const i of [0, 1, 2]) expect((await resonate.promises.get(`fan-out-1.${i}`)).state).toBe("resolved");
  });

  it("human in the loop: the workflow waits on a latent promise that a gateway resolves", async () => {
    const worker = local({ group: "workers" });
    const gateway = peer(worker, { group: "gateway" });
    const sent: string[] = [];
    async function sendApprovalEmail(_ctx: Context, promiseId: string) {
      sent.push(promiseId);
    }
    async function approvalWorkflow(ctx: Context, request: string) {
      const approval = await ctx.promise<boolean>().spawn();
      await ctx.run(sendApprovalEmail, approval.id);
      const approved = await approval.result();
      return approved ? `${request}: approved` : `${request}: denied`;
    }
    worker.register(approvalWorkflow);
    const handle = await gateway.rpc<string>("approval-1", "approvalWorkflow", "expense #7").target("workers").spawn();
    await taskState(worker, "approval-1", "suspended");
    expect(sent).toEqual(["approval-1.0"]);
    await gateway.promises.resolve(sent[0]!, true);
    expect(await handle.result()).toBe("expense #7: approved");
  });
});
