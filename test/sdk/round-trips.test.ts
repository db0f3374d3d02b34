// Issue 15: round trips per workflow, counted where they land, the node's
// /metrics (resonate_node_requests_total by kind). A real node process and a
// client that runs the workflow here over gRPC. Speculative continuation
// (sdk/CORE.md rule 11): a step's awaiter goes on before its write is
// acknowledged, the next step waits for the acknowledgement, and the root's
// task.fulfill carries the writes not sent yet.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resonate, type Context } from "@resonate-mesh/sdk";
import { startNode, type NodeProc } from "../support/node.ts";
import { scrape, type Scrape } from "../observability/prometheus.ts";

let node: NodeProc;
let client: Resonate;

async function step(_ctx: Context, i: number): Promise<number> {
  return i * 10;
}

/** W1 of the bench: three steps one after the other. */
async function threeSteps(ctx: Context): Promise<number> {
  const a = await ctx.run(step, 1);
  const b = await ctx.run(step, a);
  return await ctx.run(step, b);
}

/** W2 of the bench: 20 steps spawned one by one, then summed. */
async function fanOut(ctx: Context): Promise<number> {
  const futures = [];
  for (let i = 0; i < 20; i++) futures.push(await ctx.run(step, i).spawn());
  let sum = 0;
  for (const f of futures) sum += await f.result();
  return sum;
}

beforeAll(async () => {
  node = await startNode();
  client = new Resonate({ url: node.url, group: "round-trips", stopGraceMs: 0 });
  client.register(threeSteps);
  client.register(fanOut);
  client.register(step);
  // Warm up: the first run opens the connection and the message stream.
  await client.run("warm-up", step, 0);
}, 60_000);

afterAll(async () => {
  await client?.stop();
  await node?.stop();
});

const KINDS = ["task.create", "task.fence", "task.fence_batch", "task.fulfill", "task.suspend", "promise.get", "task.acquire"] as const;

/** Requests by kind that reached the node while `run` ran (scraped before and after). */
async function requestsDuring(run: () => Promise<unknown>): Promise<Record<string, number>> {
  const count = (s: Scrape, kind: string) =>
    s.samples.filter((x) => x.name === "resonate_node_requests_total" && x.labels.kind === kind).reduce((n, x) => n + x.value, 0);
  const before = await scrape(node.url);
  await run();
  const after = await scrape(node.url);
  const moved: Record<string, number> = {};
  for (const kind of KINDS) {
    const n = count(after, kind) - count(before, kind);
    if (n !== 0) moved[kind] = n;
  }
  return moved;
}

async function recorded(id: string): Promise<{ state: string; value: unknown }> {
  const res = await client.transport.send({ kind: "promise.get", data: { id } });
  if (res.status !== 200) throw new Error(`promise ${id}: ${res.status}`);
  const { state, value } = res.data.promise;
  return { state, value: JSON.parse(Buffer.from(value.data, "base64").toString()) };
}

describe("round trips per workflow, from the node's /metrics", () => {
  it("three steps one after the other (W1) cost four: task.create, two task.fence, a task.fulfill carrying the last write", async () => {
    let result: unknown;
    const moved = await requestsDuring(async () => (result = await client.run("w1-1", threeSteps)));
    expect(result).toBe(1000);
    expect(moved).toEqual({ "task.create": 1, "task.fence": 2, "task.fulfill": 1 });
    expect(await recorded("w1-1.0")).toEqual({ state: "resolved", value: 10 });
    expect(await recorded("w1-1.1")).toEqual({ state: "resolved", value: 100 });
    expect(await recorded("w1-1.2")).toEqual({ state: "resolved", value: 1000 });
  });

  it("20 steps spawned one by one (W2) cost two: task.create and a task.fulfill carrying the 20 writes", async () => {
    let result: unknown;
    const moved = await requestsDuring(async () => (result = await client.run("w2-1", fanOut)));
    expect(result).toBe(1900);
    expect(moved).toEqual({ "task.create": 1, "task.fulfill": 1 });
    for (const i of [0, 7, 19]) expect(await recorded(`w2-1.${i}`)).toEqual({ state: "resolved", value: i * 10 });
  });
});
