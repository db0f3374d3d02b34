// The README's walk-through with real processes: a node, a worker, the
// client; the worker killed once the quick photos are recorded and the slow
// ones still running; a restarted worker finishing only the slow ones.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Resonate } from "@resonate-mesh/sdk";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopAll, type Proc } from "../../../test/support/processes.ts";
import { waitFor } from "../../../test/support/wait.ts";
import { startNode } from "../../../test/support/node.ts";
import { example } from "../../../test/support/examples.ts";

const { tsx } = example(import.meta.url);

const quick = ["photo-1.jpg", "photo-2.jpg", "photo-3.jpg"];
const slow = ["photo-4.jpg", "photo-5.jpg", "photo-6.jpg"];

describe("fan-out/fan-in: each spawned step is durable on its own", () => {
  const dir = mkdtempSync(join(tmpdir(), "fan-out-"));
  const sideEffects = join(dir, "side-effects.log");
  const workerEnv = () => ({ RESONATE_URL: url, WORKER_TTL_MS: "2000", SIDE_EFFECTS_FILE: sideEffects });
  let url: string;
  let inspector: Resonate;
  let firstWorker: Proc;
  let secondWorker: Proc;
  let client: Proc;
  const written = () => readFileSync(sideEffects, "utf8").split("\n").filter((l) => l.length > 0);

  beforeAll(async () => {
    url = (await startNode()).url;
    inspector = new Resonate({ url });
    firstWorker = tsx("worker 1", "src/worker.ts", workerEnv());
    await firstWorker.waitForLine(/ready in group "workers"/);
    client = tsx("client", "src/client.ts", { RESONATE_URL: url, FAST_ITEM_MS: "300", SLOW_ITEM_MS: "4000" });
  });

  afterAll(async () => {
    await inspector?.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test("all items start at once", async () => {
    await waitFor("every photo to start", () => [...quick, ...slow].every((p) => firstWorker.count(new RegExp(`${p}: started`)) === 1));
  });

  test("a worker killed mid-batch is replaced, and the restart re-runs only the unfinished items", async () => {
    // The quick steps are the children batch-1.0 .. batch-1.2; wait until the
    // node has them resolved, then crash while the slow ones are still running.
    await waitFor("the quick photos to be recorded", async () => {
      const states = await Promise.all(quick.map((_, i) => inspector.promises.get(`batch-1.${i}`).then((p) => p.state, () => "missing")));
      return states.every((s) => s === "resolved");
    });
    await firstWorker.crash();
    expect(written()).toEqual(quick.map((p) => `wrote thumbs/${p}`));

    secondWorker = tsx("worker 2", "src/worker.ts", workerEnv());
    await client.waitForLine(/batch-1: 6 thumbnails/, 30_000);
    for (const p of quick) expect(secondWorker.count(new RegExp(`${p}: started`))).toBe(0);
    for (const p of slow) expect(secondWorker.count(new RegExp(`${p}: started`))).toBe(1);
  });

  test("each item's work was done exactly once", () => {
    const lines = written();
    expect([...lines].sort()).toEqual([...quick, ...slow].map((p) => `wrote thumbs/${p}`));
  });

  test("the client gets every item's result, in order", () => {
    const results = client.lines().filter((l) => l.includes(" -> "));
    expect(results).toEqual([...quick, ...slow].map((p) => `[client] ${p} -> thumbs/${p}`));
  });
});
