// Issue 13, item 4: /metrics after a workflow. A real node process, a worker
// and a caller over gRPC; the scrape is parsed and the values must have
// moved as the workflow moved them: requests by kind and status, promises
// and tasks by state, workers per group, the backlog of a group without one.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resonate, type Context } from "@resonate-mesh/sdk";
import { startNode, type NodeProc } from "../support/node.ts";
import { stopAll } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { scrape, type Scrape } from "./prometheus.ts";

let node: NodeProc;
const clients: Resonate[] = [];
let before: Scrape;
let after: Scrape;

function client(group: string): Resonate {
  const c = new Resonate({ url: node.url, group, stopGraceMs: 0 });
  clients.push(c);
  return c;
}

async function double(_ctx: Context, n: number): Promise<number> {
  return 2 * n;
}

async function sumOfDoubles(ctx: Context, n: number): Promise<number> {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += await ctx.run(double, i);
  return sum;
}

beforeAll(async () => {
  node = await startNode();
  before = await scrape(node.url);
  const worker = client("metric-workers");
  worker.register(sumOfDoubles);
  worker.register(double);
  await waitFor("the worker to be connected", async () => (await scrape(node.url)).value("resonate_workers_connected", { group: "metric-workers" }) === 1);
  const caller = client("metric-callers");
  expect(await caller.rpc("metrics-wf-1", "sumOfDoubles", 3).target("metric-workers")).toBe(12);
  // Work for a group nobody serves: its execute waits on the node.
  await caller.rpc("metrics-orphan-1", "sumOfDoubles", 1).target("metric-nobody").spawn();
  await waitFor("the workflow's writes to reach the views", async () => {
    after = await scrape(node.url);
    return (after.value("resonate_tasks", { state: "fulfilled" }) ?? 0) >= 1 && (after.value("resonate_dispatch_waiting", { group: "metric-nobody" }) ?? 0) >= 1;
  });
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.stop();
  await stopAll();
});

const moved = (name: string, labels: Record<string, string>) => (after.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);

describe("/metrics after a workflow", () => {
  it("counts requests by kind and status", () => {
    expect(moved("resonate_node_requests_total", { kind: "promise.create", status: "200" })).toBeGreaterThanOrEqual(2);
    expect(moved("resonate_node_requests_total", { kind: "task.acquire", status: "200" })).toBeGreaterThanOrEqual(1);
  });

  it("times requests by kind in a histogram whose +Inf bucket equals its count", () => {
    const count = after.value("resonate_request_duration_seconds_count", { kind: "task.acquire" }) ?? 0;
    expect(count).toBeGreaterThanOrEqual(1);
    expect(after.value("resonate_request_duration_seconds_bucket", { kind: "task.acquire", le: "+Inf" })).toBe(count);
    expect(after.value("resonate_request_duration_seconds_sum", { kind: "task.acquire" })).toBeGreaterThan(0);
  });

  it("gauges promises by state: the workflow and its three steps resolved, the orphan pending", () => {
    expect(moved("resonate_promises", { state: "resolved" })).toBe(4);
    expect(moved("resonate_promises", { state: "pending" })).toBe(1);
    expect(after.value("resonate_promises", { state: "rejected_canceled" })).toBe(0);
  });

  it("gauges tasks by state: the workflow's fulfilled, the orphan's pending", () => {
    expect(moved("resonate_tasks", { state: "fulfilled" })).toBe(1);
    expect(moved("resonate_tasks", { state: "pending" })).toBe(1);
  });

  it("reports connected workers per group", () => {
    expect(after.value("resonate_workers_connected", { group: "metric-workers" })).toBe(1);
    expect(after.value("resonate_workers_connected", { group: "metric-nobody" }) ?? 0).toBe(0);
  });

  it("reports the dispatch backlog of a group with no worker", () => {
    expect(after.value("resonate_dispatch_waiting", { group: "metric-nobody" })).toBe(1);
  });

  it("times store commits and counts them", () => {
    expect(moved("resonate_store_commits_total", {})).toBeGreaterThanOrEqual(4);
    expect(after.value("resonate_store_commit_duration_seconds_count")).toBeGreaterThanOrEqual(after.value("resonate_store_commits_total")!);
  });

  it("exports the timer lag histogram and no NATS series on the memory store", () => {
    expect(after.families.get("resonate_timer_lag_seconds")).toBe("histogram");
    expect(after.families.has("resonate_nats_connected")).toBe(false);
  });
});
