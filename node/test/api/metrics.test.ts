// The gRPC call metrics in Prometheus text: a counter by method and code, and
// a duration histogram of unary calls (streams are counted, not timed).

import * as grpc from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { createMetrics } from "../../src/api/metrics.ts";
import type { Engine } from "../../src/mesh/engine.ts";

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
