// The README's walk-through with real processes: a node, a worker, the client
// asking for a sleep; the worker is killed (SIGKILL) mid-sleep, a new one is
// started, and the workflow finishes when the timer says, not later.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connect } from "@resonate-mesh/node/internal-for-tests";
import { stopAll, type Proc } from "../../../test/support/processes.ts";
import { waitFor } from "../../../test/support/wait.ts";
import { startNode } from "../../../test/support/node.ts";
import { example } from "../../../test/support/examples.ts";

const { resonate, tsx } = example(import.meta.url);

const SECS = 8;
const env = { WORKER_TTL_MS: "2000" };

describe("durable sleep: a sleeping workflow survives its worker", () => {
  let server: string;
  let firstWorker: Proc;
  let secondWorker: Proc;
  let client: Proc;
  let clientStarted: number;

  const startWorker = async (name: string) => {
    const w = tsx(name, "src/worker.ts", { ...env, RESONATE_URL: server });
    await w.waitForLine(/started in group "workers"/);
    return w;
  };

  beforeAll(async () => {
    server = (await startNode()).url;
    firstWorker = await startWorker("worker 1");
  });

  afterAll(stopAll);

  test("the client starts sleep-workflow-1 and the worker begins to sleep", async () => {
    clientStarted = Date.now();
    client = tsx("client", "src/client.ts", { RESONATE_URL: server }, [String(SECS)]);
    await client.waitForLine(/^Started sleep-workflow-1; waiting for it\.\.\.$/m);
    await firstWorker.waitForLine(new RegExp(`^\\[sleep-workflow-1\\] Sleeping for ${SECS} seconds\\.\\.\\.$`, "m"));
  });

  test("killed while it sleeps, nothing is lost: the workflow and its timer wait on the node", async () => {
    // Kill only once the timer exists and the worker let go (the task is suspended);
    // read in-process, since a CLI run may take seconds on a busy machine.
    const node = connect(server);
    try {
      await waitFor("the task to be suspended", async () => (await node.taskGet("sleep-workflow-1")).state === "suspended");
    } finally {
      node.close();
    }
    await firstWorker.crash();
    expect(firstWorker.count(/Woke up/)).toBe(0);

    const tree = await resonate(server, "tree", "sleep-workflow-1");
    expect(tree.stdout).toMatch(/^sleep-workflow-1 +sleeping_workflow +pending /m);
    expect(tree.stdout).toMatch(/^└── sleep-workflow-1\.0 +sleep +\S+ /m);
  });

  test("a new worker finishes it on time: when the timer fires, not a whole sleep after the restart", async () => {
    secondWorker = await startWorker("worker 2");
    const secondReady = Date.now() - clientStarted;

    const line = await client.waitForLine(/^Slept for (\d+) seconds \(done ([\d.]+) s after the client started\)$/m, 30_000);
    const done = Number(line[2]); // seconds, as the client measured them
    expect(line[1]).toBe(String(SECS));
    expect(done).toBeGreaterThanOrEqual(SECS - 0.1);
    // A sleep restarted from zero would end SECS after the restart at the earliest.
    expect(done).toBeLessThan(secondReady / 1_000 + SECS);
    expect(await client.exited).toBe(0);

    expect(secondWorker.count(/^\[sleep-workflow-1\] Woke up$/)).toBe(1);
  });

  test("the tree shows the timer resolved after the whole sleep", async () => {
    const tree = await resonate(server, "tree", "sleep-workflow-1");
    expect(tree.stdout).toMatch(/^sleep-workflow-1 +sleeping_workflow +resolved /m);
    const timer = tree.stdout.match(/^└── sleep-workflow-1\.0 +sleep +resolved +([\d.]+)s$/m);
    expect(timer).not.toBeNull();
    // The timer is measured on the node; the deadline was set by the worker a moment earlier.
    expect(Number(timer![1])).toBeGreaterThanOrEqual(SECS - 0.1);
  });

  test("running the client again returns the stored result at once", async () => {
    const again = tsx("client again", "src/client.ts", { RESONATE_URL: server }, [String(SECS)]);
    expect(await again.exited).toBe(0);
    const line = again.stdout.match(/^Slept for \d+ seconds \(done ([\d.]+) s after the client started\)$/m);
    expect(line).not.toBeNull();
    expect(Number(line![1])).toBeLessThan(SECS);
    expect(secondWorker.count(/Sleeping for/)).toBe(1);
  });
});
