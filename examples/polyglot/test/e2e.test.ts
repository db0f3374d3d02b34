// The README's walk-through with real processes in three languages: a node,
// the TypeScript worker (tsx), the Python worker (the SDK's venv), the Go
// worker (built here with `go build`), and the Python starter run to its end.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { example } from "../../../test/support/examples.ts";
import { tempFile } from "../../../test/support/files.ts";
import { startNode, type NodeProc } from "../../../test/support/node.ts";
import { repoRoot, runToEnd, stopAll, type Proc, type RunResult } from "../../../test/support/processes.ts";

const { dir, tsx, program } = example(import.meta.url);
const python = join(repoRoot, "sdk/python/.venv/bin/python");
const goAvailable = spawnSync("go", ["version"]).status === 0;
const pythonAvailable = existsSync(python);
if (!goAvailable || !pythonAvailable) {
  console.warn("SKIP examples/polyglot: needs `go` on PATH and sdk/python/.venv (bash test/scripts/tools.sh)");
}

/** The documents python/start.py sends, as the starter's lines report them. */
const documents = [
  { name: "greeting.txt", text: "Hello, world! Hello, durable world.", words: 5, top: "hello" },
  { name: "cafe.txt", text: "Café crème, s'il vous plaît: un café.", words: 8, top: "café" },
  { name: "haiku.txt", text: "an old silent pond / a frog jumps into the pond / splash! silence again", words: 13, top: "pond" },
];

/** 64-bit FNV-1a of the UTF-8 bytes: what Go's hash/fnv answers, computed here exactly. */
function fnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, "utf8")) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash;
}

describe.skipIf(!goAvailable || !pythonAvailable)("polyglot: a Python function calls a TypeScript workflow that fans out to Python and Go", () => {
  let node: NodeProc;
  let tsWorker: Proc;
  let pyWorker: Proc;
  let goWorker: Proc;
  let first: RunResult;
  const env = () => ({ RESONATE_URL: node.url });
  const start = (id: string) => runToEnd("start.py", python, ["python/start.py", id], { cwd: dir, env: env() });

  beforeAll(async () => {
    const binary = tempFile("polyglot-go-worker");
    const build = await runToEnd("go build", "go", ["build", "-o", binary, "."], { cwd: join(dir, "go") });
    expect(build.code, `go build failed:\n${build.stderr}`).toBe(0);
    node = await startNode();
    tsWorker = tsx("ts worker", "src/worker.ts", env());
    pyWorker = program("python worker", python, ["python/worker.py"], env());
    goWorker = program("go worker", binary, [], env());
    await tsWorker.waitForLine(/ready in group "ts-workers"/, 60_000);
    await pyWorker.waitForLine(/ready in group "py-workers"/, 60_000);
    await goWorker.waitForLine(/ready in group "go-workers"/, 60_000);
    first = await start("report-1");
  }, 300_000);

  afterAll(async () => {
    await stopAll();
  });

  test("the starter prints each document's word count from Python and fingerprint from Go, then the summary", () => {
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.split("\n").filter((l) => l.startsWith("[start]"));
    expect(lines).toEqual([
      `[start] report-1: 3 documents sent to "report" on group py-workers`,
      ...documents.map(
        (d) => `[start] ${d.name}: ${d.words} words, top '${d.top}', ${Buffer.byteLength(d.text)} bytes, fnv1a64 ${fnv1a64(d.text)}`,
      ),
      "[start] report-1: 3 documents, 26 words",
    ]);
  });

  test("Go's uint64 hashes beyond 2^53 reach Python through TypeScript exactly", () => {
    const json = first.stdout.split("\n").find((l) => l.startsWith("{"));
    expect(json, first.stdout).toBeDefined();
    // JSON.parse would round integers beyond 2^53: read the digits as written.
    const hashes = [...json!.matchAll(/"fnv1a64": (\d+)/g)].map((m) => BigInt(m[1]!));
    expect(hashes).toEqual(documents.map((d) => fnv1a64(d.text)));
    expect(hashes.some((h) => h > BigInt(Number.MAX_SAFE_INTEGER))).toBe(true);
  });

  test("the TypeScript workflow ran once and fanned out one call per document to each of Python and Go", () => {
    expect(tsWorker.count(/report-1\.0: 3 documents analyzed in Python and Go/)).toBe(1);
    expect(pyWorker.count(/wordStats of/)).toBe(documents.length);
    expect(goWorker.count(/fingerprint of/)).toBe(documents.length);
  });

  test("starting the same id again returns the recorded result and runs nothing again", async () => {
    const again = await start("report-1");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(first.stdout);
    expect(pyWorker.count(/wordStats of/)).toBe(documents.length);
    expect(goWorker.count(/fingerprint of/)).toBe(documents.length);
    expect(tsWorker.count(/analyzed in Python and Go/)).toBe(1);
  });
});
