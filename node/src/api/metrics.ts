// Prometheus metrics for GET /metrics: process defaults, gRPC calls by
// method and status, and whatever the engine reports in stats(), read at
// scrape time so a new counter in the engine shows up without a change here.

import * as grpc from "@grpc/grpc-js";
import { Registry, collectDefaultMetrics } from "prom-client";
import type { Engine } from "../mesh/engine.ts";

/** An engine that can report counters (MeshNode does). */
export type EngineWithStats = Engine & { stats?: () => unknown };

export interface Metrics {
  /** Record one finished gRPC call. */
  observeGrpc(method: string, code: grpc.status, seconds: number): void;
  /** Count one connection, stream or request the server refused to protect itself (by reason). */
  refused(reason: RefusalReason): void;
  /** Gauges the server reports at scrape time (open connections, streams). */
  gauge(name: string, help: string, read: () => number): void;
  /** The exposition text. */
  render(): Promise<string>;
  readonly contentType: string;
}

/** Why the server refused something (the label of resonate_server_refused_total). */
export type RefusalReason =
  | "access"
  | "connections"
  | "streams"
  | "header_timeout"
  | "request_timeout"
  | "headers_too_large"
  | "body_too_large"
  | "idle_session"
  | "slow_reader";

export function createMetrics(engine: EngineWithStats): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const grpcCalls = new GrpcCallMetrics();
  const refusals = new Map<RefusalReason, number>();
  const gauges = new Map<string, { help: string; read: () => number }>();

  const serverMetrics = (): string => {
    const lines = [
      "# HELP resonate_server_refused_total Connections, streams and requests refused or cut to protect the node, by reason.",
      "# TYPE resonate_server_refused_total counter",
    ];
    for (const [reason, n] of refusals) lines.push(`resonate_server_refused_total{reason="${reason}"} ${n}`);
    for (const [name, g] of gauges) lines.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`, `${name} ${g.read()}`);
    return `${lines.join("\n")}\n`;
  };

  return {
    contentType: registry.contentType,
    observeGrpc: (method, code, seconds) => grpcCalls.observe(method, code, seconds),
    refused: (reason) => refusals.set(reason, (refusals.get(reason) ?? 0) + 1),
    gauge: (name, help, read) => gauges.set(name, { help, read }),
    async render() {
      return (await registry.metrics()) + grpcCalls.render() + serverMetrics() + engineMetrics(engine.stats?.());
    },
  };
}

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
// Streams (Poll, Watch) live for minutes; their duration would swamp the histogram.
const STREAMING = new Set(["/resonate.mesh.v1.TaskService/Poll", "/resonate.mesh.v1.PromiseService/Watch"]);

interface MethodSeries {
  /** Finished calls by status code. */
  calls: Map<grpc.status, number>;
  /** Unary calls only: non-cumulative counts per bucket, the last one +Inf. */
  buckets?: number[];
  sum: number;
  count: number;
}

/**
 * resonate_grpc_calls_total (counter by method and code) and
 * resonate_grpc_call_duration_seconds (histogram by method), kept as plain
 * numbers and rendered at scrape time: observing runs on every call, and
 * prom-client hashes its label set on each observation.
 */
class GrpcCallMetrics {
  private readonly methods = new Map<string, MethodSeries>();

  observe(method: string, code: grpc.status, seconds: number): void {
    let series = this.methods.get(method);
    if (series === undefined) {
      series = { calls: new Map(), sum: 0, count: 0 };
      if (!STREAMING.has(method)) series.buckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
      this.methods.set(method, series);
    }
    series.calls.set(code, (series.calls.get(code) ?? 0) + 1);
    if (series.buckets === undefined) return;
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++;
    series.buckets[bucket]!++;
    series.sum += seconds;
    series.count++;
  }

  render(): string {
    const lines = [
      "# HELP resonate_grpc_calls_total gRPC calls finished, by method and status code.",
      "# TYPE resonate_grpc_calls_total counter",
    ];
    for (const [method, series] of this.methods) {
      for (const [code, count] of series.calls) {
        lines.push(`resonate_grpc_calls_total{method="${escapeLabel(method)}",code="${grpc.status[code] ?? String(code)}"} ${count}`);
      }
    }
    lines.push(
      "# HELP resonate_grpc_call_duration_seconds Duration of unary gRPC calls.",
      "# TYPE resonate_grpc_call_duration_seconds histogram",
    );
    for (const [method, series] of this.methods) {
      if (series.buckets === undefined) continue;
      const label = `method="${escapeLabel(method)}"`;
      let cumulative = 0;
      series.buckets.forEach((n, i) => {
        cumulative += n;
        const le = i < DURATION_BUCKETS.length ? String(DURATION_BUCKETS[i]) : "+Inf";
        lines.push(`resonate_grpc_call_duration_seconds_bucket{le="${le}",${label}} ${cumulative}`);
      });
      lines.push(`resonate_grpc_call_duration_seconds_sum{${label}} ${series.sum}`);
      lines.push(`resonate_grpc_call_duration_seconds_count{${label}} ${series.count}`);
    }
    return `${lines.join("\n")}\n`;
  }
}

function metricName(path: string[]): string {
  return `resonate_node_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9_]/g, "_").toLowerCase()).join("_")}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * MeshNode.stats(): `requests` (by kind, then status) becomes one labelled
 * counter; every other numeric leaf a gauge named by its path
 * (`messages.parked` -> resonate_node_messages_parked).
 */
export function engineMetrics(stats: unknown): string {
  if (stats === null || typeof stats !== "object") return "";
  const lines: string[] = [];
  const { requests, ...rest } = stats as Record<string, unknown>;
  if (requests !== null && typeof requests === "object") {
    lines.push("# HELP resonate_node_requests_total Protocol requests answered, by kind and status.");
    lines.push("# TYPE resonate_node_requests_total counter");
    for (const [kind, byStatus] of Object.entries(requests as Record<string, unknown>)) {
      if (byStatus === null || typeof byStatus !== "object") continue;
      for (const [status, count] of Object.entries(byStatus as Record<string, unknown>)) {
        if (typeof count !== "number") continue;
        lines.push(`resonate_node_requests_total{kind="${escapeLabel(kind)}",status="${escapeLabel(status)}"} ${count}`);
      }
    }
  }
  const walk = (value: unknown, path: string[]) => {
    if (typeof value === "number" && Number.isFinite(value)) {
      const name = metricName(path);
      lines.push(`# HELP ${name} Engine statistic ${path.join(".")}.`);
      lines.push(`# TYPE ${name} gauge`);
      lines.push(`${name} ${value}`);
    } else if (value !== null && typeof value === "object" && !Array.isArray(value) && path.length < 4) {
      for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
    }
  };
  walk(rest, []);
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
