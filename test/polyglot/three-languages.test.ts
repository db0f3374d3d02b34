// Values and errors crossing all three languages in one execution: a
// TypeScript workflow sends a value to a Python durable function, which sends
// it on to a Go function and returns what Go answered. Every hop decodes the
// value into its language's types and encodes it again, so what comes back
// to TypeScript equals what left only if every codec agrees.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resonate, type Context } from "@resonate-mesh/sdk";
import { tempFile } from "../support/files.ts";
import { startNode, type NodeProc } from "../support/node.ts";
import { repoRoot, runToEnd, spawnProcess, stopAll, type Proc } from "../support/processes.ts";

const python = join(repoRoot, "sdk/python/.venv/bin/python");
const available = spawnSync("go", ["version"]).status === 0 && existsSync(python);
if (!available) console.warn("SKIP test/polyglot/three-languages.test.ts: needs `go` on PATH and sdk/python/.venv");

const TS_GROUP = "ts-three";
const PY_GROUP = "py-three";
const GO_GROUP = "go-three";
const py = `poll://any@${PY_GROUP}`;
const go = `poll://any@${GO_GROUP}`;

let node: NodeProc;
let pyWorker: Proc;
let goWorker: Proc;
let workflows: Resonate;
let caller: Resonate;

/** TypeScript -> Python -> Go -> Python -> TypeScript. */
async function throughPythonAndGo(ctx: Context, value: unknown): Promise<unknown> {
  return await ctx.rpc("pyEchoViaGo", value, go).target(py);
}

/** A Go error that Python lets through, as TypeScript catches it. */
async function goErrorThroughPython(ctx: Context, item: string): Promise<unknown> {
  try {
    return await ctx.rpc("pyCallsGo", "reserve", go, item).target(py);
  } catch (error) {
    const e = error as Error;
    return { isError: e instanceof Error, name: e.name, message: e.message };
  }
}

describe.skipIf(!available)("values and errors round-trip across TypeScript, Python and Go", () => {
  beforeAll(async () => {
    const binary = tempFile("go-worker");
    const build = await runToEnd("go build", "go", ["build", "-o", binary, "./examples/worker"], { cwd: join(repoRoot, "sdk/go") });
    expect(build.code, `go build failed:\n${build.stderr}`).toBe(0);
    node = await startNode();
    goWorker = spawnProcess("go worker", binary, ["-url", node.address, "-group", GO_GROUP, "-pid", "go-three"]);
    pyWorker = spawnProcess("python worker", python, ["sdk/python/tests/workers/serve.py"], {
      env: { RESONATE_URL: node.url, PY_GROUP, TS_GROUP },
    });
    await goWorker.waitForLine(/^ready go-three$/m, 60_000);
    await pyWorker.waitForLine(/python worker ready/, 60_000);
    workflows = new Resonate({ url: node.url, group: TS_GROUP, stopGraceMs: 0 });
    workflows.register(throughPythonAndGo);
    workflows.register(goErrorThroughPython);
    caller = new Resonate({ url: node.url, group: "ts-three-callers", stopGraceMs: 0 });
  }, 300_000);

  afterAll(async () => {
    await caller?.stop();
    await workflows?.stop();
    await stopAll();
  });

  const through = (id: string, value: unknown) => caller.rpc(id, "throughPythonAndGo", value).target(TS_GROUP);

  it("unicode strings come back unchanged", async () => {
    const text = "héllo wörld ✓ 🌍 日本語 \u0000 \"quoted\" \\ \n";
    expect(await through("unicode", text)).toBe(text);
    // The hops happened: unicode.0 ran in Python, its child unicode.0.0 in Go.
    const hops = await Promise.all(["unicode.0", "unicode.0.0"].map((id) => caller.promises.get(id)));
    expect(hops.map((p) => [p.state, p.tags["resonate:target"]])).toEqual([
      ["resolved", py],
      ["resolved", go],
    ]);
  });

  it("integers beyond 2^53 come back as the same bigint, and safe integers as numbers", async () => {
    const value = [2n ** 53n, 2n ** 63n - 1n, 2n ** 64n + 1n, -(2n ** 70n), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0, 1.5];
    expect(await through("integers", value)).toEqual(value);
  });

  it("nested objects and null come back unchanged", async () => {
    const value = { a: [1, { b: null, c: [true, false, []] }], d: { e: "f", g: { h: { i: null } } }, empty: {} };
    expect(await through("nested", value)).toEqual(value);
    expect(await through("null", null)).toBeNull();
  });

  it("an error value comes back as an Error with its name and message", async () => {
    const back = (await through("error-value", new RangeError("out of range: 7"))) as Error;
    expect(back).toBeInstanceOf(Error);
    expect([back.name, back.message]).toEqual(["RangeError", "out of range: 7"]);
  });

  it("an error raised in Go and not caught in Python reaches TypeScript with its name and message", async () => {
    expect(await caller.rpc("go-error", "goErrorThroughPython", "lamp").target(TS_GROUP)).toEqual({
      isError: true,
      name: "InventoryError",
      message: "out of stock: lamp",
    });
  });
});
