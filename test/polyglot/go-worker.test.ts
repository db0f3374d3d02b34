// TypeScript workflows calling functions served by a Go worker process
// (sdk/go/examples/worker, built here with `go build`): the call, its result,
// its errors and its values cross the language boundary intact.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resonate, type Context } from "@resonate-mesh/sdk";
import { tempFile } from "../support/files.ts";
import { startNode, type NodeProc } from "../support/node.ts";
import { repoRoot, runToEnd, spawnProcess, stopAll, type Proc } from "../support/processes.ts";

const goAvailable = spawnSync("go", ["version"]).status === 0;
if (!goAvailable) console.warn("SKIP test/polyglot/go-worker.test.ts: `go` is not on PATH");

const GO_GROUP = "go-workers";
let node: NodeProc;
let goWorker: Proc;
let workflows: Resonate;
let caller: Resonate;

async function greetFromGo(ctx: Context, name: string): Promise<string> {
  return await ctx.rpc<string>("greet", name).target(`poll://any@${GO_GROUP}`);
}

async function reserveInGo(ctx: Context, item: string): Promise<string> {
  try {
    await ctx.rpc("reserve", item).target(`poll://any@${GO_GROUP}`);
    return "reserved";
  } catch (error) {
    const e = error as Error;
    return `${e instanceof Error ? "Error" : typeof e} ${e.name}: ${e.message}`;
  }
}

async function echoThroughGo(ctx: Context, value: unknown): Promise<unknown> {
  const [back] = await ctx.rpc<unknown[]>("echo", value).target(`poll://any@${GO_GROUP}`);
  return back;
}

describe.skipIf(!goAvailable)("a Go worker called from TypeScript workflows", () => {
  beforeAll(async () => {
    const binary = tempFile("go-worker");
    const build = await runToEnd("go build", "go", ["build", "-o", binary, "./examples/worker"], { cwd: join(repoRoot, "sdk/go") });
    expect(build.code, `go build failed:\n${build.stderr}`).toBe(0);
    node = await startNode();
    goWorker = spawnProcess("go worker", binary, ["-url", node.address, "-group", GO_GROUP, "-pid", "go-1"]);
    await goWorker.waitForLine(/^ready go-1$/m, 30_000);
    workflows = new Resonate({ url: node.url, group: "ts-workflows", stopGraceMs: 0 });
    workflows.register(greetFromGo);
    workflows.register(reserveInGo);
    workflows.register(echoThroughGo);
    caller = new Resonate({ url: node.url, group: "ts-callers", stopGraceMs: 0 });
  }, 300_000);

  afterAll(async () => {
    await caller?.stop();
    await workflows?.stop();
    await goWorker?.stop("SIGTERM");
    await node?.stop();
    await stopAll();
  });

  it("a workflow's ctx.rpc runs the Go function and returns its result", async () => {
    expect(await caller.rpc("greet-ada", "greetFromGo", "Ada").target("ts-workflows")).toBe("hello, Ada, from Go");
  });

  it("a Go error reaches the workflow as an Error with its name and message", async () => {
    expect(await caller.rpc("reserve-lamp", "reserveInGo", "lamp").target("ts-workflows")).toBe(
      "Error InventoryError: out of stock: lamp",
    );
  });

  it("values round-trip through Go unchanged", async () => {
    const value = {
      text: "héllo, 世界 🎉",
      beyondSafe: 2n ** 63n - 1n,
      negative: -(2n ** 70n),
      nested: { list: [1, 2.5, null, true, "x"], empty: {} },
      nothing: null,
    };
    expect(await caller.rpc("echo-1", "echoThroughGo", value).target("ts-workflows")).toEqual(value);
  });
});
