// Issue 13, item 5: one trace follows a workflow across processes. A node,
// a worker and a caller, each its own process with OTEL_* pointing at an
// OTLP/HTTP receiver in this test; the trace context travels in the
// promises' headers. Every span of the workflow (the caller's, the node's
// for the requests that carry its promises, the worker's for each call)
// has the caller's trace id, and the worker's execution is a child of the
// caller's span.

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type NodeProc } from "../support/node.ts";
import { spawnProcess, stopAll, type Proc } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.ts";
import { scrape } from "./prometheus.ts";

const programs = join(dirname(fileURLToPath(import.meta.url)), "programs");
const GROUP = "trace-workers";
const WORKFLOW = `trace-wf-${Date.now()}`;
// Node spans of requests that carry a promise (in the request or the answer), so they join its trace.
const PROMISE_KINDS = new Set(["promise.create", "promise.get", "promise.settle", "task.create", "task.acquire", "task.fence", "task.fence_batch", "task.fulfill"]);

let receiver: OtlpReceiver;
let node: NodeProc;
let worker: Proc;
let caller: Proc;

function otel(service: string): NodeJS.ProcessEnv {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: service, OTEL_BSP_SCHEDULE_DELAY: "200" };
}

const ofWorkflow = (s: ReceivedSpan) => typeof s.attributes["resonate.id"] === "string" && (s.attributes["resonate.id"] as string).startsWith(WORKFLOW);
const rpcSpan = () => receiver.spans.find((s) => s.service === "trace-caller" && s.name === "rpc tracedWorkflow");
const rootExecutions = () => receiver.spans.filter((s) => s.service === "trace-worker" && s.name === "execute tracedWorkflow" && s.attributes["resonate.id"] === WORKFLOW);

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  node = await startNode({ env: otel("trace-node") });
  worker = spawnProcess("trace-worker", process.execPath, ["--import", "tsx", join(programs, "trace-worker.ts")], {
    env: { ...otel("trace-worker"), RESONATE_URL: node.url, TRACE_GROUP: GROUP },
  });
  await worker.waitForLine(/ready/, 60_000);
  await waitFor("the worker to be connected", async () => (await scrape(node.url)).value("resonate_workers_connected", { group: GROUP }) === 1, 60_000);
  caller = spawnProcess("trace-caller", process.execPath, ["--import", "tsx", join(programs, "trace-client.ts")], {
    env: { ...otel("trace-caller"), RESONATE_URL: node.url, TRACE_GROUP: GROUP, TRACE_ID: WORKFLOW },
  });
  await caller.waitForLine(/result 15/, 60_000);
  expect(await caller.exited).toBe(0);
  // Batched exports: wait for the last spans of each process.
  await waitFor(
    () => `spans of the workflow from the caller, the node and the worker; received:\n${receiver.spans.map((s) => `${s.service} ${s.name} ${String(s.attributes["resonate.id"])}`).join("\n")}`,
    () =>
      rpcSpan() !== undefined &&
      rootExecutions().length > 0 &&
      receiver.spans.some((s) => s.service === "trace-worker" && s.name === "execute square") &&
      receiver.spans.some((s) => s.service === "trace-worker" && s.name === "run double") &&
      receiver.spans.some((s) => s.service === "trace-node" && s.name === "task.acquire" && s.attributes["resonate.id"] === WORKFLOW),
    60_000,
  );
  // The execution that called square may be an attempt that suspended, whose span can come in a later batch.
  const square = receiver.spans.find((s) => s.service === "trace-worker" && s.name === "execute square")!;
  await waitFor("the span of the execution that called square", () => rootExecutions().some((e) => e.spanId === square.parentSpanId), 15_000).catch(
    () => undefined,
  );
}, 180_000);

afterAll(async () => {
  await stopAll();
  await receiver?.close();
});

describe("one trace per workflow", () => {
  it("receives well-formed OTLP/HTTP JSON from every process", () => {
    expect(receiver.malformed).toEqual([]);
    expect(new Set(receiver.spans.map((s) => s.service))).toEqual(new Set(["trace-caller", "trace-node", "trace-worker"]));
  });

  it("gives the worker's spans of the workflow the caller's trace id", () => {
    const traceId = rpcSpan()!.traceId;
    const workerSpans = receiver.spans.filter((s) => s.service === "trace-worker" && ofWorkflow(s));
    expect(workerSpans.map((s) => s.name).sort()).toEqual(expect.arrayContaining(["execute square", "execute tracedWorkflow", "run double"]));
    for (const s of workerSpans) expect(s.traceId, `${s.name} ${String(s.attributes["resonate.id"])}`).toBe(traceId);
  });

  it("gives the node's spans of requests carrying the workflow's promises the caller's trace id", () => {
    const traceId = rpcSpan()!.traceId;
    const nodeSpans = receiver.spans.filter((s) => s.service === "trace-node" && ofWorkflow(s) && PROMISE_KINDS.has(s.name));
    expect(nodeSpans.map((s) => s.name)).toEqual(expect.arrayContaining(["promise.create", "task.acquire"]));
    for (const s of nodeSpans) expect(s.traceId, `${s.name} ${String(s.attributes["resonate.id"])}`).toBe(traceId);
  });

  it("makes each execution of the workflow (the first, and the replay after it suspended) a child of the caller's rpc span", () => {
    const executions = rootExecutions();
    expect(executions.length).toBeGreaterThanOrEqual(1);
    for (const e of executions) expect(e.parentSpanId).toBe(rpcSpan()!.spanId);
  });

  it("makes the remote step's execution a child of the workflow execution that called it", () => {
    const square = receiver.spans.find((s) => s.service === "trace-worker" && s.name === "execute square")!;
    expect(rootExecutions().map((e) => e.spanId)).toContain(square.parentSpanId);
  });

  it("names the request kind, ids and status on the node's spans", () => {
    const create = receiver.spans.find((s) => s.service === "trace-node" && s.name === "promise.create" && s.attributes["resonate.id"] === WORKFLOW)!;
    expect(create.attributes).toMatchObject({ "resonate.request.kind": "promise.create", "resonate.status": 200 });
    expect(create.attributes["resonate.ids"]).toContain(WORKFLOW);
  });
});
