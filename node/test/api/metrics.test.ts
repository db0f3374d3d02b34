// The gRPC call metrics in Prometheus text: a counter by method and code, and
// a duration histogram of unary calls (streams are counted, not timed).

import * as grpc from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { createMetrics, telemetryMetrics } from "../../src/api/metrics.ts";
import type { Engine } from "../../src/mesh/engine.ts";
import { Histogram } from "../../src/mesh/histogram.ts";
import type { NodeTelemetry } from "../../src/mesh/node.ts";

const CREATE = "/resonate.mesh.v1.PromiseService/Create";
const POLL = "/resonate.mesh.v1.TaskService/Poll";

function metrics() {
  return createMetrics({} as Engine);
}

/** The sample lines of one metric family. */
function samples(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe("gRPC call metrics", () => {
  test("calls are counted by method and status code", async () => {
    const m = metrics();
    m.observeGrpc(CREATE, grpc.status.OK, 0.001);
    m.observeGrpc(CREATE, grpc.status.OK, 0.001);
    m.observeGrpc(CREATE, grpc.status.INVALID_ARGUMENT, 0.001);
    const text = await m.render();
    expect(text).toContain("# TYPE resonate_grpc_calls_total counter");
    expect(samples(text, "resonate_grpc_calls_total")).toEqual([
      `resonate_grpc_calls_total{method="${CREATE}",code="OK"} 2`,
      `resonate_grpc_calls_total{method="${CREATE}",code="INVALID_ARGUMENT"} 1`,
    ]);
  });

  test("unary durations fill cumulative buckets (a value on a bound counts in it), with sum and count", async () => {
    const m = metrics();
    for (const seconds of [0.0002, 0.001, 0.003, 10]) m.observeGrpc(CREATE, grpc.status.OK, seconds);
    const text = await m.render();
    expect(text).toContain("# TYPE resonate_grpc_call_duration_seconds histogram");
    const buckets = samples(text, "resonate_grpc_call_duration_seconds_bucket");
    expect(buckets).toHaveLength(13);
    expect(buckets[0]).toBe(`resonate_grpc_call_duration_seconds_bucket{le="0.0005",method="${CREATE}"} 1`);
    expect(buckets[1]).toBe(`resonate_grpc_call_duration_seconds_bucket{le="0.001",method="${CREATE}"} 2`);
    expect(buckets[2]).toBe(`resonate_grpc_call_duration_seconds_bucket{le="0.0025",method="${CREATE}"} 2`);
    expect(buckets[3]).toBe(`resonate_grpc_call_duration_seconds_bucket{le="0.005",method="${CREATE}"} 3`);
    expect(buckets[11]).toBe(`resonate_grpc_call_duration_seconds_bucket{le="2.5",method="${CREATE}"} 3`);
    expect(buckets[12]).toBe(`resonate_grpc_call_duration_seconds_bucket{le="+Inf",method="${CREATE}"} 4`);
    expect(samples(text, "resonate_grpc_call_duration_seconds_count")).toEqual([
      `resonate_grpc_call_duration_seconds_count{method="${CREATE}"} 4`,
    ]);
    const [sum] = samples(text, "resonate_grpc_call_duration_seconds_sum");
    expect(Number(sum!.split(" ")[1])).toBeCloseTo(10.0042, 6);
  });

  test("streams are counted but not timed", async () => {
    const m = metrics();
    m.observeGrpc(POLL, grpc.status.CANCELLED, 600);
    const text = await m.render();
    expect(samples(text, "resonate_grpc_calls_total")).toEqual([`resonate_grpc_calls_total{method="${POLL}",code="CANCELLED"} 1`]);
    expect(samples(text, "resonate_grpc_call_duration_seconds_bucket")).toEqual([]);
  });

  test("process metrics are still exposed", async () => {
    expect(await metrics().render()).toMatch(/^process_cpu_seconds_total /m);
  });
});

describe("the node's labelled series", () => {
  const telemetry = (store: NodeTelemetry["store"]): NodeTelemetry => {
    const latency = new Histogram([0.001, 0.01]);
    latency.observe(0.0005);
    latency.observe(0.005);
    latency.observe(1);
    return {
      requestLatency: new Map([["promise.create", latency]]),
      promises: { pending: 2, resolved: 1 },
      tasks: { acquired: 1 },
      groups: [{ group: "g", workers: 2, waiting: 3 }],
      timerLag: { promise: new Histogram([1]), task: new Histogram([1]), schedule: new Histogram([1]) },
      commitLatency: new Histogram([1]),
      commits: { commits: 7, conflicts: 2, exhausted: 0, loads: 0, staleReads: 0 },
      store,
    };
  };

  test("a request latency histogram per kind, cumulative, with sum and count", () => {
    const text = telemetryMetrics(telemetry({ engine: "memory" }));
    expect(text).toContain("# TYPE resonate_request_duration_seconds histogram");
    expect(samples(text, "resonate_request_duration_seconds_bucket")).toEqual([
      'resonate_request_duration_seconds_bucket{kind="promise.create",le="0.001"} 1',
      'resonate_request_duration_seconds_bucket{kind="promise.create",le="0.01"} 2',
      'resonate_request_duration_seconds_bucket{kind="promise.create",le="+Inf"} 3',
    ]);
    expect(samples(text, "resonate_request_duration_seconds_count")).toEqual(['resonate_request_duration_seconds_count{kind="promise.create"} 3']);
  });

  test("every promise and task state is reported, 0 when none", () => {
    const text = telemetryMetrics(telemetry({ engine: "memory" }));
    expect(samples(text, "resonate_promises")).toEqual([
      'resonate_promises{state="pending"} 2',
      'resonate_promises{state="resolved"} 1',
      'resonate_promises{state="rejected"} 0',
      'resonate_promises{state="rejected_canceled"} 0',
      'resonate_promises{state="rejected_timedout"} 0',
    ]);
    expect(samples(text, "resonate_tasks")).toContain('resonate_tasks{state="acquired"} 1');
    expect(samples(text, "resonate_tasks")).toContain('resonate_tasks{state="halted"} 0');
  });

  test("workers and backlog per group, commits and conflicts", () => {
    const text = telemetryMetrics(telemetry({ engine: "memory" }));
    expect(samples(text, "resonate_workers_connected")).toEqual(['resonate_workers_connected{group="g"} 2']);
    expect(samples(text, "resonate_dispatch_waiting")).toEqual(['resonate_dispatch_waiting{group="g"} 3']);
    expect(samples(text, "resonate_store_commits_total")).toEqual(["resonate_store_commits_total 7"]);
    expect(samples(text, "resonate_store_conflicts_total")).toEqual(["resonate_store_conflicts_total 2"]);
  });

  test("the NATS connection and the JetStream counters only for the JetStream engine", () => {
    expect(telemetryMetrics(telemetry({ engine: "memory" }))).not.toContain("resonate_nats_connected");
    const text = telemetryMetrics(telemetry({ engine: "jetstream", connected: false, stats: { commits: 5, partialCommits: 1 } }));
    expect(samples(text, "resonate_nats_connected")).toEqual(["resonate_nats_connected 0"]);
    expect(samples(text, "resonate_jetstream_partial_commits_total")).toEqual(["resonate_jetstream_partial_commits_total 1"]);
  });

  test("before the node is ready: the families are announced, with no samples", () => {
    const text = telemetryMetrics(undefined);
    expect(text).toContain("# TYPE resonate_promises gauge");
    expect(text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))).toEqual([]);
  });
});
