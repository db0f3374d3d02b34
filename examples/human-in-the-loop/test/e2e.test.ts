// The README's walk-through with real processes: a node, a worker, the
// gateway; an expense waits for approval while its worker is killed (SIGKILL),
// is approved over HTTP, and finishes on a restarted worker. A second expense
// is rejected with the CLI.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopAll, type Proc } from "../../../test/support/processes.ts";
import { waitFor } from "../../../test/support/wait.ts";
import { freePort, startNode } from "../../../test/support/node.ts";
import { example } from "../../../test/support/examples.ts";

const { resonate, tsx } = example(import.meta.url);

const env = { WORKER_TTL_MS: "2000" };

interface ExpenseView {
  id: string;
  status: string;
  approval?: string | null;
  result?: { id: string; status: string; by: string | null; paid: number };
}

describe("human in the loop: a workflow waits on a latent promise that a person resolves", () => {
  let server: string;
  let gateway: string;
  let firstWorker: Proc;
  let secondWorker: Proc;
  let approvalId: string;

  const workers = () => [firstWorker, ...(secondWorker ? [secondWorker] : [])];
  const printed = (pattern: RegExp) => workers().reduce((n, w) => n + w.count(pattern), 0);

  const post = (path: string, body: unknown) => fetch(`${gateway}${path}`, { method: "POST", body: JSON.stringify(body) });
  const view = async (id: string) => (await (await fetch(`${gateway}/expenses/${id}`)).json()) as ExpenseView;
  const until = (id: string, done: (v: ExpenseView) => boolean) =>
    waitFor(`expense ${id} to change`, async () => {
      const v = await view(id);
      return done(v) ? v : undefined;
    });

  beforeAll(async () => {
    server = (await startNode()).url;
    const port = await freePort();
    gateway = `http://127.0.0.1:${port}`;
    firstWorker = tsx("worker 1", "src/worker.ts", { ...env, RESONATE_URL: server });
    const gw = tsx("gateway", "src/gateway.ts", { RESONATE_URL: server, PORT: String(port) });
    await Promise.all([firstWorker.waitForLine(/started in group "workers"/), gw.waitForLine(/listening on/)]);
  });

  afterAll(stopAll);

  test("POST /expenses starts the workflow, which asks for approval and waits", async () => {
    const res = await post("/expenses", { id: "expense-1", amount: 120, description: "team lunch" });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: "expense-1", status: "pending", location: "/expenses/expense-1" });

    const asked = await firstWorker.waitForLine(/^\[expense-1\] approval needed for 120 \(team lunch\); approval id (\S+)$/m);
    approvalId = asked[1]!;
    const pending = await until("expense-1", (v) => v.approval !== undefined && v.approval !== null);
    expect(pending).toEqual({ id: "expense-1", status: "pending", approval: approvalId });
  });

  test("while it waits no worker holds it: the worker is killed and nothing is lost", async () => {
    await waitFor("the workflow to suspend", async () => {
      const task = await resonate(server, "tasks", "get", "expense-1");
      return /^state +suspended$/m.test(task.stdout);
    });
    await firstWorker.crash();
    expect((await view("expense-1")).status).toBe("pending");
    secondWorker = tsx("worker 2", "src/worker.ts", { ...env, RESONATE_URL: server });
    await secondWorker.waitForLine(/started in group "workers"/);
  });

  test("POST /approvals/:id approves; the restarted worker pays without asking again", async () => {
    const res = await post(`/approvals/${approvalId}`, { approved: true, by: "alice" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ approval: approvalId, expense: "expense-1", approved: true, by: "alice" });

    const done = await until("expense-1", (v) => v.status !== "pending");
    expect(done).toEqual({
      id: "expense-1",
      status: "approved",
      result: { id: "expense-1", status: "approved", by: "alice", paid: 120 },
    });
    expect(secondWorker.count(/^\[expense-1\] paying 120$/)).toBe(1);
    // The approval request was a recorded step: the replay did not send it again.
    expect(printed(/^\[expense-1\] approval needed/)).toBe(1);
  });

  test("an approval cannot be decided twice", async () => {
    const res = await post(`/approvals/${approvalId}`, { approved: false, by: "mallory" });
    expect(res.status).toBe(409);
    expect((await view("expense-1")).result?.by).toBe("alice");
  });

  test("the CLI can decide too: resonate promises resolve <approval> rejects the second expense", async () => {
    expect((await post("/expenses", { id: "expense-2", amount: 9000, description: "a yacht" })).status).toBe(202);
    const pending = await until("expense-2", (v) => typeof v.approval === "string");
    const resolved = await resonate(server, "promises", "resolve", pending.approval!, "--value", '{"approved":false,"by":"bob"}');
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toMatch(/^state +resolved$/m);

    const done = await until("expense-2", (v) => v.status !== "pending");
    expect(done.result).toEqual({ id: "expense-2", status: "rejected", by: "bob", paid: 0 });
    expect(printed(/^\[expense-2\] paying/)).toBe(0);
  });

  test("bad requests get 400 and unknown ids 404", async () => {
    expect((await post("/expenses", { amount: -1, description: "x" })).status).toBe(400);
    expect((await post(`/approvals/${approvalId}`, { approved: "yes" })).status).toBe(400);
    expect((await fetch(`${gateway}/expenses/nope`)).status).toBe(404);
    expect((await post("/approvals/expense-1", { approved: true })).status).toBe(404); // a promise, but not an approval
  });
});
