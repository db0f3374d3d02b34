// The README's walk-through with real processes: a node, two workers of
// group factorial-workers, and the client run three times: 5, 5 again (from
// the promise, nothing recomputed), then 8 (only 8, 7 and 6 computed).

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopAll, type Proc } from "../../../test/support/processes.ts";
import { startNode } from "../../../test/support/node.ts";
import { example } from "../../../test/support/examples.ts";

const { resonate, tsx } = example(import.meta.url);

describe("recursive factorial: promise ids keyed by n are a permanent result cache", () => {
  let server: string;
  let workers: Proc[];

  /** Which n the workers together printed "Calculating factorial(n)" for, in order of n. */
  const calculated = () =>
    [...new Set(workers.flatMap((w) => [...w.stdout.matchAll(/^Calculating factorial\((\d+)\)$/gm)].map((m) => Number(m[1]))))].sort(
      (a, b) => a - b,
    );
  const lineCount = () => workers.reduce((sum, w) => sum + w.count(/^Calculating factorial/), 0);

  const client = async (n: number) => {
    const proc = tsx(`client ${n}`, "src/client.ts", { RESONATE_URL: server }, [String(n)]);
    expect(await proc.exited, proc.stderr).toBe(0);
    return proc.stdout;
  };

  beforeAll(async () => {
    server = (await startNode()).url;
    workers = [1, 2].map((i) => tsx(`worker ${i}`, "src/worker.ts", { RESONATE_URL: server, WORKER_TTL_MS: "2000" }));
    await Promise.all(workers.map((w) => w.waitForLine(/started in group "factorial-workers"/)));
  });

  afterAll(stopAll);

  test("npx tsx src/client.ts 5 computes 120, calling factorial for 5 down to 1", async () => {
    expect(await client(5)).toMatch(/^factorial\(5\) = 120 \(\d+ ms\)$/m);
    expect(calculated()).toEqual([1, 2, 3, 4, 5]);
  });

  test("running it again returns the result from the promise without recomputing", async () => {
    const before = lineCount();
    expect(await client(5)).toMatch(/^factorial\(5\) = 120 /m);
    expect(lineCount()).toBe(before);
  });

  test("factorial(8) after factorial(5) computes only 8, 7 and 6", async () => {
    const before = workers.map((w) => w.stdout.length);
    expect(await client(8)).toMatch(/^factorial\(8\) = 40320 /m);
    const printedNow = workers.flatMap((w, i) => [...w.stdout.slice(before[i]).matchAll(/^Calculating factorial\((\d+)\)$/gm)].map((m) => Number(m[1])));
    expect([...new Set(printedNow)].sort((a, b) => a - b)).toEqual([6, 7, 8]);
  });

  test("resonate tree factorial-8 shows the recursion down to the cached factorial-5", async () => {
    const tree = await resonate(server, "tree", "factorial-8");
    expect(tree.code).toBe(0);
    expect(tree.stdout.trimEnd().split("\n").map((l) => l.replace(/\s+\S+$/, "").trimEnd())).toEqual([
      "factorial-8          factorial  resolved",
      "└── factorial-7      factorial  resolved",
      "    └── factorial-6  factorial  resolved",
    ]);
    const five = await resonate(server, "promises", "get", "factorial-5");
    expect(five.stdout).toMatch(/^value +120$/m);
  });
});
