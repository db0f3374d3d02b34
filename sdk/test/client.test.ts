// The client outside functions: handles, sub-clients, schedules, heartbeats,
// shutdown and configuration.

import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "@resonate-mesh/node/local";
import { Resonate, ResonateError, type Context } from "../src/index.ts";
import { LocalTransport } from "../src/transport/local.ts";
import { CountingTransport, eventually, local, peer, promiseOf, taskState } from "./helpers.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("client", () => {
  it("spawns an execution and hands back {id, result(), done()}", async () => {
    const client = local();
    async function wait(ctx: Context) {
      return ctx.promise<string>();
    }
    client.register(wait);
    const handle = await client.run("handle-1", wait).spawn();
    expect(handle.id).toBe("handle-1");
    await taskState(client, "handle-1", "suspended");
    expect(await handle.done()).toBe(false);
    await client.promises.resolve("handle-1.0", "v");
    expect(await handle.result()).toBe("v");
    expect(await handle.done()).toBe(true);
  });

  it("gets a handle on an execution started elsewhere", async () => {
    const worker = local({ group: "w" });
    const client = peer(worker, { group: "c" });
    async function slow(_ctx: Context) {
      await new Promise((r) => setTimeout(r, 20));
      return 42;
    }
    worker.register(slow);
    await client.rpc("get-1", "slow").target("w").spawn();
    const handle = await client.get<number>("get-1");
    expect(await handle.result()).toBe(42);
  });

  it("waits for an execution another worker holds when run() finds it taken", async () => {
    const a = local();
    const b = peer(a);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function held(_ctx: Context) {
      await gate;
      return "from a";
    }
    a.register(held);
    b.register(held);
    const first = await a.run("held-1", held).spawn();
    await taskState(a, "held-1", "acquired");
    const second = await b.run("held-1", held).spawn();
    release();
    expect(await second.result()).toBe("from a");
    expect(await first.result()).toBe("from a");
  });

  it("prefixes the ids it names", async () => {
    const client = local({ prefix: "tenant-a/" });
    async function echo(ctx: Context) {
      return ctx.id;
    }
    client.register(echo);
    expect(await client.run("job", echo)).toBe("tenant-a/job");
    expect((await client.promises.get("job")).id).toBe("tenant-a/job");
    expect((await (await client.get("job")).result())).toBe("tenant-a/job");
  });

  it("is in local mode without a URL", async () => {
    const saved = { ...process.env };
    delete process.env.RESONATE_URL;
    delete process.env.RESONATE_HOST;
    const client = new Resonate({ stopGraceMs: 0 });
    cleanups.push(() => client.stop());
    process.env = saved;
    expect(client.transport.mode).toBe("local");
    expect(client.node).toBeDefined();
  });

  it("refuses calls after stop()", async () => {
    const client = local();
    await client.stop();
    async function f() {
      return 1;
    }
    expect(() => client.register(f)).toThrow(ResonateError);
    await expect(client.rpc("after-stop", "f")).rejects.toThrow(/stopped/);
  });
});

describe("promises sub-client", () => {
  it("creates, reads, resolves, rejects, cancels and searches promises", async () => {
    const client = local();
    const created = await client.promises.create("p-1", { timeout: 60_000, param: { q: 1 }, tags: { kind: "test" } });
    expect(created.pending).toBe(true);
    expect(created.param).toEqual({ q: 1 });
    await client.promises.create("p-2", { tags: { kind: "test" } });
    await client.promises.create("p-3");
    expect((await client.promises.resolve("p-1", new Map([["a", 1]]))).value).toEqual(new Map([["a", 1]]));
    const rejected = await client.promises.reject("p-2", new Error("no"));
    expect(rejected.state).toBe("rejected");
    expect((rejected.value as unknown as Error).message).toBe("no");
    expect((await client.promises.cancel("p-3")).state).toBe("rejected_canceled");
    const found = await client.promises.search({ tags: { kind: "test" } });
    expect(found.promises.map((p) => p.id)).toEqual(["p-1", "p-2"]);
    expect((await client.promises.search({ id: "p-*", state: "rejected_canceled" })).promises.map((p) => p.id)).toEqual(["p-3"]);
  });

  it("reports a missing promise by id", async () => {
    const client = local();
    await expect(client.promises.resolve("missing", 1)).rejects.toThrow(/no promise with id "missing"/);
  });
});

describe("schedules", () => {
  it("runs a function on every cron tick and stops when the schedule is deleted", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 30));
    const client = local({ clock, group: "cron-workers" });
    const ticks: number[] = [];
    async function report(_ctx: Context, label: string) {
      ticks.push(clock.now());
      return label;
    }
    client.register(report);
    const schedule = await client.schedule("every-minute", "* * * * *", "report", "hourly");
    const record = await client.schedules.get("every-minute");
    expect(record.promiseTags["resonate:target"]).toBe("poll://any@cron-workers");

    clock.advance(30_000);
    await client.node!.tick();
    const id = `every-minute-${Date.UTC(2026, 0, 1, 0, 1, 0)}`;
    await eventually(async () => (await promiseOf(client, id).catch(() => undefined))?.state === "resolved" || undefined);
    expect(await (await client.get(id)).result()).toBe("hourly");

    await schedule.delete();
    await expect(client.schedules.get("every-minute")).rejects.toThrow(/no schedule/);
    clock.advance(120_000);
    await client.node!.tick();
    expect((await client.promises.search({ id: "every-minute-*" })).promises).toHaveLength(1);
  });

  it("creates, finds and deletes schedules directly", async () => {
    const client = local();
    await client.schedules.create("s-1", "0 * * * *", { promiseTags: { "resonate:target": "poll://any@x" } });
    expect((await client.schedules.search({ id: "s-" })).schedules.map((s) => s.id)).toEqual(["s-1"]);
    await client.schedules.delete("s-1");
    expect((await client.schedules.search({})).schedules).toEqual([]);
  });
});

describe("leases", () => {
  it("keeps the lease of a long step with heartbeats every ttl/2, naming all held tasks in one call", async () => {
    const transport = new CountingTransport(new LocalTransport());
    const client = new Resonate({ transport, ttl: 200, stopGraceMs: 0 });
    cleanups.push(async () => {
      await client.stop();
      await transport.close();
    });
    let runs = 0;
    async function long(_ctx: Context) {
      runs++;
      await new Promise((r) => setTimeout(r, 700));
      return "done";
    }
    client.register(long);
    const results = await Promise.all([client.run("hb-1", long), client.run("hb-2", long)]);
    expect(results).toEqual(["done", "done"]);
    expect(runs).toBe(2);
    expect(transport.count("task.heartbeat")).toBeGreaterThanOrEqual(3);
    expect(transport.count("task.acquire")).toBe(0);
    const task = await transport.send({ kind: "task.get", data: { id: "hb-1" } });
    expect(task.status === 200 && task.data.task.version).toBe(1);
  });

  it("stop() lets a running function finish within the grace period", async () => {
    const client = Resonate.local({ stopGraceMs: 2_000 });
    async function brief(_ctx: Context) {
      await new Promise((r) => setTimeout(r, 50));
      return "finished";
    }
    client.register(brief);
    const handle = await client.run("grace-1", brief).spawn();
    await client.stop();
    expect(await handle.result()).toBe("finished");
  });

  it("stop() releases what is still running after the grace period", async () => {
    const owner = local();
    const client = peer(owner, { stopGraceMs: 10 });
    async function stuck(_ctx: Context) {
      await new Promise((r) => setTimeout(r, 10_000).unref());
    }
    client.register(stuck);
    await client.run("release-1", stuck).spawn();
    await taskState(owner, "release-1", "acquired");
    await client.stop();
    await taskState(owner, "release-1", "pending");
  });
});
