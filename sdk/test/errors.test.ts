// Bad input: each mistake gets an error that says what happened, how to fix
// it, and names the promise.

import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ResonateError, type Context, type DurableFuture } from "../src/index.ts";
import { local, promiseOf, taskState } from "./helpers.ts";

async function errorOf(p: PromiseLike<unknown>): Promise<ResonateError> {
  try {
    await p;
  } catch (e) {
    return e as ResonateError;
  }
  throw new Error("expected a rejection");
}

describe("bad input", () => {
  it("refuses a Context method after its function returned", async () => {
    const client = local();
    let kept: Context | undefined;
    async function leak(ctx: Context) {
      kept = ctx;
      return 1;
    }
    client.register(leak);
    await client.run("leak", leak);
    let error: ResonateError | undefined;
    try {
      kept!.run(leak);
    } catch (e) {
      error = e as ResonateError;
    }
    expect(error?.code).toBe("CONTEXT_OUTSIDE_FUNCTION");
    expect(error?.promiseId).toBe("leak");
    expect(error?.message).toMatch(/ctx\.run\(\) was called on the context of promise "leak" after its function returned/);
    expect(error?.message).toMatch(/use the ctx your function received/);
  });

  it("refuses a parent's Context used inside a child function", async () => {
    const client = local();
    async function leaf() {
      return 1;
    }
    async function parent(ctx: Context) {
      try {
        await ctx.run(async () => {
          await ctx.run(leaf);
        });
        return "no error";
      } catch (e) {
        return (e as ResonateError).message;
      }
    }
    client.register(parent);
    expect(await client.run("wrong-ctx", parent)).toMatch(/context of promise "wrong-ctx" from inside another durable function \("wrong-ctx.0"\)/);
  });

  it("refuses to await the same future twice", async () => {
    const client = local();
    async function leaf() {
      return 1;
    }
    async function twice(ctx: Context) {
      const f: DurableFuture<number> = await ctx.run(leaf).spawn();
      await f.result();
      return f.result().then(
        () => "no error",
        (e: ResonateError) => `${e.code}: ${e.message}`,
      );
    }
    client.register(twice);
    expect(await client.run("twice", twice)).toMatch(/^FUTURE_ALREADY_AWAITED: the durable future of promise "twice.0" was awaited twice/);
  });

  it("refuses to await the same call twice", async () => {
    const client = local();
    async function leaf() {
      return 1;
    }
    async function twice(ctx: Context) {
      const call = ctx.run(leaf);
      await call;
      try {
        await call;
        return "no error";
      } catch (e) {
        return (e as ResonateError).code;
      }
    }
    client.register(twice);
    expect(await client.run("twice-call", twice)).toBe("FUTURE_ALREADY_AWAITED");
  });

  it("refuses a future that is awaited directly: it is not thenable", async () => {
    const client = local();
    async function leaf() {
      return 1;
    }
    async function flow(ctx: Context) {
      const f = await ctx.run(leaf).spawn();
      return typeof (f as unknown as { then?: unknown }).then;
    }
    client.register(flow);
    expect(await client.run("not-thenable", flow)).toBe("undefined");
  });

  it("refuses a non-serialisable argument of a step, naming the path and the promise", async () => {
    const client = local();
    async function leaf(_ctx: Context, _opts: unknown) {
      return 1;
    }
    async function flow(ctx: Context) {
      try {
        await ctx.run(leaf, { onDone: () => 1 });
        return "no error";
      } catch (e) {
        return (e as ResonateError).message;
      }
    }
    client.register(flow);
    const message = await client.run("bad-arg", flow);
    expect(message).toMatch(/cannot encode args\[0\]\.onDone for promise "bad-arg.0": a function/);
  });

  it("refuses a non-serialisable argument of run before anything is created", async () => {
    const client = local();
    async function flow(_ctx: Context, _x: unknown) {
      return 1;
    }
    client.register(flow);
    const error = await errorOf(client.run("bad-root-arg", flow, new (class Socket {})()));
    expect(error.code).toBe("NOT_SERIALIZABLE");
    expect(error.message).toMatch(/args\[0\] for promise "bad-root-arg": an instance of Socket/);
    const res = await client.transport.send({ kind: "promise.get", data: { id: "bad-root-arg" } });
    expect(res.status).toBe(404);
  });

  it("rejects a function whose result cannot be stored, with a message naming the result", async () => {
    const client = local();
    async function flow(_ctx: Context) {
      return { handler: () => 1 };
    }
    client.register(flow);
    const error = await errorOf(client.run("bad-result", flow));
    expect(error.message).toMatch(/cannot encode the result\.handler for promise "bad-result": a function/);
  });

  it("refuses to run a function that was not registered, naming it and the id", async () => {
    const client = local();
    async function unknownFlow(_ctx: Context) {
      return 1;
    }
    const error = await errorOf(client.run("unregistered", unknownFlow));
    expect(error.code).toBe("FUNCTION_NOT_REGISTERED");
    expect(error.message).toMatch(/function "unknownFlow" is not registered on this client \(promise "unregistered"\)\. Call resonate\.register\(unknownFlow\)/);
  });

  it("leaves a task whose function this worker lacks for another worker, and logs why", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "error" }, new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }));
    const client = local({ logger, ttl: 60_000 });
    async function known(_ctx: Context) {
      return 1;
    }
    client.register(known);
    const handle = await client.rpc("missing-fn", "notHere").spawn();
    await new Promise((r) => setTimeout(r, 50));
    expect((await promiseOf(client, "missing-fn")).state).toBe("pending");
    expect(await handle.done()).toBe(false);
    expect(lines.join("")).toMatch(/function \\"notHere\\" version 1 is not registered on this client \(promise \\"missing-fn\\"\)/);
  });

  it("detects a replay that calls a different function at a recorded position", async () => {
    const client = local();
    let version = 1;
    async function a(_ctx: Context) {
      return "a";
    }
    async function b(_ctx: Context) {
      return "b";
    }
    async function changing(ctx: Context) {
      await (version === 1 ? ctx.run(a) : ctx.run(b));
      await ctx.promise();
      return "done";
    }
    client.register(changing);
    const handle = await client.run("nondet-fn", changing).spawn();
    await taskState(client, "nondet-fn", "suspended");
    version = 2;
    await client.promises.resolve("nondet-fn.1");
    const error = await errorOf(handle.result());
    expect(error.code).toBe("NON_DETERMINISTIC");
    expect(error.promiseId).toBe("nondet-fn.0");
    expect(error.message).toMatch(/non-deterministic replay at promise "nondet-fn.0": it was recorded as ctx\.run\(a\), but this run called ctx\.run\(b\)/);
    expect(error.message).toMatch(/new promise id or function version/);
  });

  it("detects a replay that passes different arguments", async () => {
    const client = local();
    let arg = 1;
    async function leaf(_ctx: Context, n: number) {
      return n;
    }
    async function changing(ctx: Context) {
      await ctx.run(leaf, arg);
      await ctx.promise();
      return "done";
    }
    client.register(changing);
    const handle = await client.run("nondet-args", changing).spawn();
    await taskState(client, "nondet-args", "suspended");
    arg = 2;
    await client.promises.resolve("nondet-args.1");
    const error = await errorOf(handle.result());
    expect(error.code).toBe("NON_DETERMINISTIC");
    expect(error.message).toMatch(/recorded as ctx\.run\(leaf, 1\), but this run called ctx\.run\(leaf, 2\)/);
  });

  it("detects a replay that makes a different kind of call", async () => {
    const client = local();
    let sleepFirst = false;
    async function changing(ctx: Context) {
      if (sleepFirst) await ctx.sleep(1);
      else await ctx.promise();
      return "done";
    }
    client.register(changing);
    const handle = await client.run("nondet-kind", changing).spawn();
    await taskState(client, "nondet-kind", "suspended");
    sleepFirst = true;
    await client.promises.resolve("nondet-kind.0");
    const error = await errorOf(handle.result());
    expect(error.message).toMatch(/recorded as ctx\.promise\(\), but this run called ctx\.sleep/);
  });

  it("refuses bad options with the rule and the id", async () => {
    const client = local();
    async function leaf() {
      return 1;
    }
    async function flow(ctx: Context) {
      const out: string[] = [];
      for (const attempt of [
        () => ctx.run(leaf).timeout(-5),
        () => ctx.rpc("x").target("poll://nope"),
        () => ctx.sleep(Number.NaN),
        () => ctx.rpc(leaf as unknown as string),
      ]) {
        try {
          attempt();
        } catch (e) {
          out.push((e as Error).message);
        }
      }
      return out;
    }
    client.register(flow);
    const messages = await client.run("bad-options", flow);
    expect(messages[0]).toMatch(/ctx\.run "bad-options.0": a timeout must be a positive number of milliseconds/);
    expect(messages[1]).toMatch(/target "poll:\/\/nope" is not an address/);
    expect(messages[2]).toMatch(/ctx\.sleep\(\) needs a number of milliseconds >= 0, got NaN \(in "bad-options"\)/);
    expect(messages[3]).toMatch(/needs the registered name of a function, got a function; pass its name \("leaf"\)/);
  });

  it("refuses an empty id", async () => {
    const client = local();
    async function flow() {
      return 1;
    }
    client.register(flow);
    expect((await errorOf(client.run("", flow))).message).toMatch(/run\(\) id must be a non-empty string/);
  });

  it("reports an unknown id from get()", async () => {
    const client = local();
    const error = await errorOf(client.get("nope"));
    expect(error.code).toBe("PROMISE_NOT_FOUND");
    expect(error.message).toMatch(/no promise with id "nope"/);
  });
});
