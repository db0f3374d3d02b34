// The README's walk-through with real processes: a node, three workers of
// group "workers", a client firing many rpcs; then one worker is killed
// (SIGKILL) in the middle of a batch and nothing is lost.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopAll, type Proc } from "../../../test/support/processes.ts";
import { startNode } from "../../../test/support/node.ts";
import { example } from "../../../test/support/examples.ts";

const { resonate, tsx } = example(import.meta.url);

const NAMES = ["worker-a", "worker-b", "worker-c"] as const;
const env = { WORKER_TTL_MS: "2000", WORK_MS: "1500" };

describe("load balancing: a worker group shares the work, and a dead worker's share is not lost", () => {
  let server: string;
  const workers = new Map<string, Proc>();

  const client = (count: number, batch: string) =>
    tsx(`client ${batch}`, "src/client.ts", { RESONATE_URL: server }, [String(count), batch]);

  /** Every "<batch>-<n>: n * n = n² (by worker)" line the client printed. */
  const answers = (proc: Proc, batch: string) =>
    [...proc.stdout.matchAll(new RegExp(`^${batch}-(\\d+): (\\d+) \\* \\d+ = (\\d+) \\(by (\\S+)\\)$`, "gm"))].map((m) => ({
      id: Number(m[1]),
      n: Number(m[2]),
      square: Number(m[3]),
      worker: m[4]!,
    }));

  beforeAll(async () => {
    server = (await startNode()).url;
    for (const name of NAMES) workers.set(name, tsx(name, "src/worker.ts", { ...env, RESONATE_URL: server }, [name]));
    await Promise.all([...workers.values()].map((w) => w.waitForLine(/started in group "workers"/)));
  });

  afterAll(stopAll);

  test("twelve tasks are shared by the three workers and each is answered once, correctly", async () => {
    const proc = client(12, "even");
    expect(await proc.exited, proc.stderr).toBe(0);
    const got = answers(proc, "even");
    expect(got.map((a) => a.id).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    for (const a of got) expect(a.square).toBe(a.n * a.n);
    // Every worker got some of them.
    expect(new Set(got.map((a) => a.worker))).toEqual(new Set(NAMES));
    expect(proc.stdout).toMatch(/^all 12 done; worker-a: \d+, worker-b: \d+, worker-c: \d+$/m);
  });

  test("killing a worker mid-batch loses nothing: its tasks are finished by the others", async () => {
    const proc = client(15, "crash");
    const victim = workers.get("worker-b")!;
    // worker-b has started some of this batch and not finished them.
    await victim.waitForLine(/crash-\d+: computing/);
    await victim.crash();
    const interrupted = [...victim.stdout.matchAll(/^\[worker-b\] (crash-\d+): computing/gm)]
      .map((m) => m[1]!)
      .filter((id) => !new RegExp(`^\\[worker-b\\] ${id}: done$`, "m").test(victim.stdout));
    expect(interrupted.length).toBeGreaterThan(0);

    expect(await proc.exited, proc.stderr).toBe(0);
    const got = answers(proc, "crash");
    expect(got.map((a) => a.id).sort((a, b) => a - b)).toEqual([...Array(15).keys()]);
    for (const a of got) expect(a.square).toBe(a.n * a.n);
    // What worker-b never finished was finished by a survivor.
    for (const id of interrupted) {
      const answer = got.find((a) => `crash-${a.id}` === id)!;
      expect(["worker-a", "worker-c"]).toContain(answer.worker);
    }
  });

  test("resonate promises search shows every task of the batch resolved", async () => {
    const search = await resonate(server, "promises", "search", "crash-*", "--state", "resolved", "--json");
    expect(search.code).toBe(0);
    expect((JSON.parse(search.stdout) as { promises: unknown[] }).promises).toHaveLength(15);
  });
});
