// The README's walk-through with real processes: a node, a worker, the
// gateway; a job submitted over HTTP, its worker killed mid-job and
// restarted, the job finished and read back through the status endpoint.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopAll, type Proc } from "../../../test/support/processes.ts";
import { waitFor } from "../../../test/support/wait.ts";
import { freePort, startNode } from "../../../test/support/node.ts";
import { example } from "../../../test/support/examples.ts";

const { tsx } = example(import.meta.url);

// Steps long enough that a kill lands inside the step it aims at, even on a busy machine.
const env = { STEP_MS: "1500", WORKER_TTL_MS: "2000" };

describe("async HTTP API: a stateless gateway in front of durable jobs", () => {
  let resonateUrl: string;
  let gateway: string;
  let firstWorker: Proc;
  let secondWorker: Proc | undefined;
  let jobId: string;

  const workers = () => [firstWorker, ...(secondWorker ? [secondWorker] : [])];
  const runs = (step: string) => workers().reduce((n, w) => n + w.count(new RegExp(`${jobId}: ${step} running`)), 0);

  beforeAll(async () => {
    const node = await startNode();
    resonateUrl = node.url;
    const port = await freePort();
    gateway = `http://127.0.0.1:${port}`;
    firstWorker = tsx("worker 1", "src/worker.ts", { ...env, RESONATE_URL: resonateUrl });
    const gw = tsx("gateway", "src/gateway.ts", { RESONATE_URL: resonateUrl, PORT: String(port) });
    await Promise.all([firstWorker.waitForLine(/ready in group "workers"/), gw.waitForLine(/listening on/)]);
  });

  afterAll(stopAll);

  test("POST /jobs answers 202 with the job's id without waiting for the work", async () => {
    const res = await fetch(`${gateway}/jobs`, { method: "POST", body: JSON.stringify({ text: "the quick brown fox jumps" }) });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string; location: string };
    expect(body.status).toBe("pending");
    expect(body.location).toBe(`/jobs/${body.id}`);
    expect(res.headers.get("location")).toBe(`/jobs/${body.id}`);
    // The answer did not wait for the work: the job's last step has not finished.
    expect(firstWorker.count(new RegExp(`${body.id}: step 3/3 \\S+ done`))).toBe(0);
    jobId = body.id;
  });

  test("GET /jobs/:id answers pending at once while the job runs", async () => {
    await firstWorker.waitForLine(new RegExp(`${jobId}: step 1/3 tokenize running`));
    const res = await fetch(`${gateway}/jobs/${jobId}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: jobId, status: "pending" });
  });

  test("a job whose worker is killed mid-job is finished by a restarted worker, without re-running finished steps", async () => {
    // Step 2 starts only after step 1's result is recorded on the node.
    await firstWorker.waitForLine(new RegExp(`${jobId}: step 2/3 analyse running`));
    await firstWorker.crash();
    expect(await (await fetch(`${gateway}/jobs/${jobId}`)).json()).toEqual({ id: jobId, status: "pending" });

    secondWorker = tsx("worker 2", "src/worker.ts", { ...env, RESONATE_URL: resonateUrl });
    await secondWorker.waitForLine(new RegExp(`${jobId}: step 3/3 summarise done`), 30_000);
    expect(runs("step 1/3 tokenize")).toBe(1);
    expect(runs("step 2/3 analyse")).toBe(2); // cut off once, run again
    expect(runs("step 3/3 summarise")).toBe(1);
    expect(secondWorker.count(/step 1\/3/)).toBe(0);
  });

  test("GET /jobs/:id answers the result once the job is resolved", async () => {
    const body = await waitFor("the job to resolve", async () => {
      const b = (await (await fetch(`${gateway}/jobs/${jobId}`)).json()) as { status: string };
      return b.status === "resolved" ? b : undefined;
    });
    expect(body).toEqual({
      id: jobId,
      status: "resolved",
      result: { words: 5, longest: "quick", summary: `5 words; the longest is "quick"` },
    });
  });

  test("submitting a job again with the same id is the same job: it does not run twice", async () => {
    const res = await fetch(`${gateway}/jobs`, { method: "POST", body: JSON.stringify({ id: jobId, text: "other text" }) });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { id: string }).id).toBe(jobId);
    const body = (await (await fetch(`${gateway}/jobs/${jobId}`)).json()) as { status: string; result: { words: number } };
    expect(body.status).toBe("resolved");
    expect(body.result.words).toBe(5);
    expect(runs("step 1/3 tokenize")).toBe(1);
  });

  test("GET /jobs/:id of an unknown id answers 404", async () => {
    const res = await fetch(`${gateway}/jobs/job-that-was-never-submitted`);
    expect(res.status).toBe(404);
  });

  test("POST /jobs without a text answers 400 naming the field", async () => {
    const res = await fetch(`${gateway}/jobs`, { method: "POST", body: JSON.stringify({ txt: "typo" }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain(`"text"`);
  });
});
