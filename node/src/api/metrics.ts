// Prometheus metrics for GET /metrics: process defaults, gRPC calls by
// method and status, the node's labelled series (request latency by kind,
// promises and tasks by state, workers and backlog by group, timer lag,
// commit latency, the store's connection), and whatever the engine reports
// in stats(), read at scrape time so a new counter in the engine shows up
// without a change here. docs/metrics.md lists them all.

import * as grpc from "@grpc/grpc-js";
import { Registry, collectDefaultMetrics } from "prom-client";
import type { Engine } from "../mesh/engine.ts";
import type { Histogram } from "../mesh/histogram.ts";
import type { NodeTelemetry } from "../mesh/node.ts";
import { PROMISE_STATES, TASK_STATES } from "../protocol/validate.ts";

/** An engine that can report counters and labelled series (MeshNode does). */
export type EngineWithStats = Engine & { stats?: () => unknown; telemetry?: () => NodeTelemetry | undefined };

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
      return (
        (await registry.metrics()) +
        grpcCalls.render() +
        serverMetrics() +
        telemetryMetrics(engine.telemetry?.()) +
        engineMetrics(engine.stats?.())
      );
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

// ------------------------------------------------------------ the node's labelled series

/** One metric family: HELP and TYPE always (dashboards see the name before the first sample), then its samples. */
function family(lines: string[], name: string, type: "counter" | "gauge" | "histogram", help: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

function histogramSamples(lines: string[], name: string, h: Histogram, labels: string): void {
  const sep = labels === "" ? "" : ",";
  let cumulative = 0;
  h.counts.forEach((n, i) => {
    cumulative += n;
    const le = i < h.bounds.length ? String(h.bounds[i]) : "+Inf";
    lines.push(`${name}_bucket{${labels}${sep}le="${le}"} ${cumulative}`);
  });
  const braces = labels === "" ? "" : `{${labels}}`;
  lines.push(`${name}_sum${braces} ${h.sum}`, `${name}_count${braces} ${h.count}`);
}

function byState(lines: string[], name: string, states: readonly string[], counts: Record<string, number> | undefined): void {
  if (counts === undefined) return;
  for (const state of new Set([...states, ...Object.keys(counts)])) lines.push(`${name}{state="${escapeLabel(state)}"} ${counts[state] ?? 0}`);
}

/** The series MeshNode.telemetry() reports (nothing but the HELP/TYPE lines before the node is ready). */
export function telemetryMetrics(t: NodeTelemetry | undefined): string {
  const lines: string[] = [];
  family(lines, "resonate_request_duration_seconds", "histogram", "Protocol requests answered by the node (gRPC and JSON envelope alike), seconds, by kind.");
  if (t !== undefined) for (const [kind, h] of t.requestLatency) histogramSamples(lines, "resonate_request_duration_seconds", h, `kind="${escapeLabel(kind)}"`);
  family(lines, "resonate_promises", "gauge", "Promises held in the store, by stored state (a pending promise past its timeout counts as pending until its timer settles it).");
  byState(lines, "resonate_promises", PROMISE_STATES, t?.promises);
  family(lines, "resonate_tasks", "gauge", "Tasks held in the store, by state.");
  byState(lines, "resonate_tasks", TASK_STATES, t?.tasks);
  family(lines, "resonate_workers_connected", "gauge", "Workers connected to this node (Poll streams, SSE), by group.");
  family(lines, "resonate_dispatch_waiting", "gauge", "Messages (execute, unblock) parked on this node waiting for a worker of the group: the dispatch backlog.");
  if (t !== undefined) {
    for (const g of t.groups) {
      const label = `group="${escapeLabel(g.group)}"`;
      lines.push(`resonate_workers_connected{${label}} ${g.workers}`, `resonate_dispatch_waiting{${label}} ${g.waiting}`);
    }
  }
  family(lines, "resonate_timer_lag_seconds", "histogram", "How late timers fired (promise timeouts, lease expiries and dispatch retries, schedule ticks): commit time minus due time, by kind.");
  if (t !== undefined) for (const [kind, h] of Object.entries(t.timerLag)) histogramSamples(lines, "resonate_timer_lag_seconds", h, `kind="${kind}"`);
  family(lines, "resonate_store_commit_duration_seconds", "histogram", "Store commits (multi-key compare-and-set), seconds, conflicting ones included.");
  if (t !== undefined) histogramSamples(lines, "resonate_store_commit_duration_seconds", t.commitLatency, "");
  family(lines, "resonate_store_commits_total", "counter", "Store commits that succeeded.");
  family(lines, "resonate_store_conflicts_total", "counter", "Store commits refused because a record changed since it was read (the request is retried).");
  family(lines, "resonate_store_contention_exhausted_total", "counter", "Requests answered UNAVAILABLE after too many conflicting commits.");
  if (t !== undefined) {
    lines.push(
      `resonate_store_commits_total ${t.commits.commits}`,
      `resonate_store_conflicts_total ${t.commits.conflicts}`,
      `resonate_store_contention_exhausted_total ${t.commits.exhausted}`,
    );
  }
  if (t?.store.connected !== undefined && t.store.engine === "jetstream") {
    family(lines, "resonate_nats_connected", "gauge", "1 while the node's NATS connection is up (JetStream store), 0 while it reconnects.");
    lines.push(`resonate_nats_connected ${t.store.connected ? 1 : 0}`);
  }
  if (t?.mesh !== undefined) {
    family(lines, "resonate_mesh_members", "gauge", "Live nodes of the mesh as this node sees them, itself included.");
    lines.push(`resonate_mesh_members ${t.mesh.members}`);
    family(
      lines,
      "resonate_mesh_partition_owned",
      "gauge",
      "1 for each partition this node owns (it runs the partition's timers and applies its outbox), 0 for the others; summed over the nodes, every partition is 1 once membership has settled.",
    );
    const owned = new Set(t.mesh.owned);
    for (let p = 0; p < t.mesh.partitions; p++) lines.push(`resonate_mesh_partition_owned{partition="${p}"} ${owned.has(p) ? 1 : 0}`);
  }
  if (t?.store.stats !== undefined) {
    for (const [stat, value] of Object.entries(t.store.stats)) {
      if (typeof value !== "number") continue;
      const name = `resonate_${t.store.engine}_${snake(stat)}_total`;
      family(lines, name, "counter", `Store engine counter ${stat} (${t.store.engine}).`);
      lines.push(`${name} ${value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9_]/g, "_").toLowerCase();
}
