// The official Resonate TypeScript SDK (@resonatehq/sdk 0.11.5), unmodified,
// against a real node process (`resonate dev`): worker processes register
// functions, this test is the client. Node 20 lacks Promise.withResolvers,
// which the SDK expects from Node 22; ./with-resolvers.ts (and a line at the
// top of each worker program) supplies it.

import "./with-resolvers.ts";
import { Never, Resonate, type Context } from "@resonatehq/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { count, lines, tempFile } from "../support/files.ts";
import { startNode, type NodeProc } from "../support/node.ts";
import type { Proc } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { b64, startWorker } from "./harness.ts";

let node: NodeProc;
let client: Resonate;
const effects = tempFile("effects.txt");
const procs: Proc[] = [];

async function worker(group: string, extra: { hangAt?: string } = {}) {
  const w = await startWorker(node.url, { group, effects, ...extra });
  procs.push(w);
  return w;
}

beforeAll(async () => {
  node = await startNode();
  await Promise.all([worker("workers"), worker("adders")]);
  client = new Resonate({ url: node.url, group: "clients", ttl: 2_000 });
});

afterAll(async () => {
  await client?.stop();
  await Promise.all(procs.map((p) => p.stop()));
  await node?.stop();
});

const workers = () => client.options({ target: "workers" });

describe("the official SDK against a node", () => {
  it("rpc runs a registered workflow on a worker process and returns its result", async () => {
    expect(await client.rpc("greet-1", "greet", "World", workers())).toBe("Hello, World!");
    expect(count(effects, "done greet-1/format")).toBe(1);
  });

  it("rpc again with the same id returns the recorded result without running anything", async () => {
    await client.rpc("greet-2", "greet", "Ada", workers());
    const before = lines(effects).length;
    expect(await client.rpc("greet-2", "greet", "Ada", workers())).toBe("Hello, Ada!");
    expect(lines(effects).length).toBe(before);
  });

  it("run executes here (task.create), with ctx.run and ctx.rpc to a worker group", async () => {
    function* local(ctx: Context, x: number): Generator<any, number, any> {
      const doubled: number = yield* ctx.run((_c: Context, v: number) => v * 2, x);
      return yield* ctx.rpc<number>("add", doubled, 1, ctx.options({ target: "adders" }));
    }
    client.register("local", local);
    expect(await client.run("run-1", "local", 5)).toBe(11);
    expect(count(effects, "add run-1:1")).toBe(1);
  });

  it("a workflow with ctx.run, ctx.sleep and ctx.rpc to another group completes, each step once", async () => {
    const started = Date.now();
    expect(await client.rpc("pipe-1", "pipeline", 1, 300, workers())).toBe(104);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(count(effects, "done pipe-1/one")).toBe(1);
    expect(count(effects, "done pipe-1/two")).toBe(1);
    expect(count(effects, "add pipe-1:3")).toBe(1);
    const sleep = await client.promises.get("pipe-1:1");
    expect(sleep).toMatchObject({ state: "resolved", tags: { "resonate:timer": "true" } });
  });

  it("fans out with beginRun and beginRpc and fans back in", async () => {
    // squares 0+1+4+9 and adds (i + 1000) for i < 4
    expect(await client.rpc("fan-1", "fanout", 4, workers())).toBe(14 + 4006);
    expect(lines(effects).filter((l) => l.startsWith("square fan-1:"))).toHaveLength(4);
    expect(lines(effects).filter((l) => l.startsWith("add fan-1:"))).toHaveLength(4);
  });

  it("a workflow waits on a latent promise until resonate.promises resolves it", async () => {
    const handle = await client.beginRpc("approve-1", "approval", workers());
    await waitFor("the workflow to create its latent promise", () => lines(effects).includes("awaiting approve-1:0"));
    expect(await handle.done()).toBe(false);
    await client.promises.resolve("approve-1:0", { data: b64("yes") });
    expect(await handle.result()).toBe("approved:yes");
  });

  it("a schedule creates a promise per tick that a worker runs, until deleted", async () => {
    const schedule = await client.schedule("every-second", "* * * * * *", "tick", "s", workers());
    await waitFor("two ticks", () => lines(effects).filter((l) => l.startsWith("tick s every-second-")).length >= 2, 10_000);
    expect((await client.schedules.get("every-second")).cron).toBe("* * * * * *");
    await schedule.delete();
    await expect(client.schedules.get("every-second")).rejects.toThrow();
  });

  it("steps longer than the lease complete once: heartbeats for tasks of two origins keep them held", async () => {
    // ttl 2 s, so the SDK heartbeats every second, one request naming both tasks.
    const [a, b] = await Promise.all([
      client.rpc("slow-a", "slow", 2_600, workers()),
      client.rpc("slow-b", "slow", 2_600, workers()),
    ]);
    expect([a, b]).toEqual([2_600, 2_600]);
    expect(count(effects, "start slow-a/pause")).toBe(1);
    expect(count(effects, "start slow-b/pause")).toBe(1);
  });

  it("a failing function rejects its promise and rpc throws its error", async () => {
    await expect(client.rpc("fail-1", "fail", "broken on purpose", client.options({ target: "workers", retryPolicy: new Never() }))).rejects.toMatchObject({ message: "broken on purpose" });
    expect((await client.promises.get("fail-1")).state).toBe("rejected");
  });
});

describe("a worker killed with SIGKILL mid-workflow", () => {
  it("between two steps: a second worker finishes it once the lease ends, no completed step runs twice", async () => {
    const first = await worker("crash-a", { hangAt: "crash-1/s2" });
    const handle = await client.beginRpc("crash-1", "steps", 0, client.options({ target: "crash-a" }));
    await waitFor("the first worker to reach step two", () => lines(effects).includes("start crash-1/s2"));
    await first.crash();
    await worker("crash-a");
    expect(await handle.result()).toBe(6);
    expect(count(effects, "start crash-1/s1")).toBe(1);
    expect(count(effects, "done crash-1/s1")).toBe(1);
    expect(count(effects, "done crash-1/s2")).toBe(1);
    expect(count(effects, "done crash-1/s3")).toBe(1);
  });

  it("during ctx.sleep: a second worker finishes it after the original wake time, the sleep not restarted", async () => {
    const first = await worker("crash-b");
    const handle = await client.beginRpc("crash-2", "steps", 1_500, client.options({ target: "crash-b" }));
    await waitFor("the sleep to start", async () => {
      try {
        return (await client.promises.get("crash-2:1")).state === "pending";
      } catch {
        return false;
      }
    });
    await first.crash();
    await worker("crash-b");
    expect(await handle.result()).toBe(6);
    const sleep = await client.promises.get("crash-2:1");
    // Set once by the first worker (its clock against the node's, hence the slack); a restarted sleep would end later.
    expect(sleep.timeoutAt - sleep.createdAt).toBeGreaterThan(1_400);
    expect(sleep.timeoutAt - sleep.createdAt).toBeLessThanOrEqual(1_500);
    expect(sleep.settledAt).toBe(sleep.timeoutAt);
    expect(count(effects, "start crash-2/s1")).toBe(1);
    expect(count(effects, "done crash-2/s2")).toBe(1);
    expect(count(effects, "done crash-2/s3")).toBe(1);
  });
});
