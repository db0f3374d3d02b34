// What a workload is: a named operation measured at several concurrencies
// against a node at `address`. Add a file under bench/workloads/ exporting
// `workload` and list it in bench/run.ts to add rows to the table.

export interface RunContext {
  /** `host:port` of the node (gRPC and HTTP). */
  address: string;
  /** Operations in flight at once (one client each). */
  concurrency: number;
  /** Measure for this long, after the warm-up. */
  durationMs: number;
  warmupMs: number;
  /** A prefix unique to this row, for ids. */
  prefix: string;
  /** With a JetStream store: the nats-server(s) the node keeps its records on (comma-separated URLs). */
  natsUrl?: string;
  /** With a JetStream store: the stream replicas (1 or 3). */
  replicas?: 1 | 3;
  /** CPU time the node process has used so far, in µs (from /proc), to charge the node per op. */
  nodeCpuUs?: () => number;
  /** CPU time the nats-server process(es) have used so far, in µs; absent with the memory store. */
  natsCpuUs?: () => number;
}

export interface RunResult {
  /** Completed operations during the measured window. */
  ops: number;
  /** Latency of each measured operation, in ms. */
  latenciesMs: number[];
  /** Measured window, in ms. */
  elapsedMs: number;
  /** Operations that failed (they do not count as ops). */
  errors: number;
  /** CPU time of this (the client's) process during the measured window, in µs. */
  clientCpuUs?: number;
  /** CPU time of the node process during the measured window, in µs. */
  nodeCpuUs?: number;
  /** CPU time of the nats-server process(es) during the measured window, in µs. */
  natsCpuUs?: number;
}

export interface Workload {
  /** As shown in the table, e.g. "create+settle". */
  name: string;
  /** What one operation is, for the legend. */
  operation: string;
  /** The concurrencies to run by default. */
  concurrency: number[];
  run(ctx: RunContext): Promise<RunResult>;
}
