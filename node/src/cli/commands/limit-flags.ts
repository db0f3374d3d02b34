// The flags of `resonate serve`/`dev` that set the node's limits, each with
// its environment variable (flag > env > default). One table, so the CLI
// help, the README's "Limits" table and api/limits.ts + mesh/limits.ts agree.

import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from "../../api/limits.ts";
import { DEFAULT_NODE_LIMITS, type NodeLimits } from "../../mesh/limits.ts";

interface LimitFlag {
  flag: string;
  env: string;
  help: string;
  /** Where the value goes. */
  server?: keyof ServerLimits;
  node?: keyof NodeLimits;
  parse: (text: string) => unknown;
  default?: unknown;
}

function wholeNumber(min: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text.trim()) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
      throw new InvalidArgumentError(`It must be a whole number >= ${min}.`);
    }
    return Number(text);
  };
}

function originList(text: string): string[] {
  const origins = text.split(",").map((o) => o.trim()).filter((o) => o.length > 0);
  for (const o of origins) {
    if (o === "*") continue;
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new InvalidArgumentError(`"${o}" is not an origin; write scheme://host[:port], e.g. http://localhost:3000, or *.`);
    }
    if (url.origin !== o) throw new InvalidArgumentError(`"${o}" is not an origin; write it as ${url.origin} (no path, no trailing slash).`);
  }
  return origins;
}

export const LIMIT_FLAGS: readonly LimitFlag[] = [
  {
    flag: "--allow-origin <origins>",
    env: "RESONATE_ALLOW_ORIGIN",
    help: "comma-separated web origins whose pages may call the node (default: none)",
    server: "allowedOrigins",
    parse: originList,
  },
  { flag: "--max-connections <n>", env: "RESONATE_MAX_CONNECTIONS", help: "TCP connections held at once", server: "maxConnections", parse: wholeNumber(1) },
  { flag: "--header-timeout-ms <ms>", env: "RESONATE_HEADER_TIMEOUT_MS", help: "time to send request headers (HTTP/1.1), then 408", server: "headersTimeoutMs", parse: wholeNumber(1) },
  { flag: "--request-timeout-ms <ms>", env: "RESONATE_REQUEST_TIMEOUT_MS", help: "time to send a whole request (HTTP/1.1), then 408", server: "requestTimeoutMs", parse: wholeNumber(1) },
  { flag: "--max-header-bytes <n>", env: "RESONATE_MAX_HEADER_BYTES", help: "largest request head (HTTP/1.1), then 431", server: "maxHeaderBytes", parse: wholeNumber(1024) },
  { flag: "--max-body-bytes <n>", env: "RESONATE_MAX_BODY_BYTES", help: "largest POST / body, then 413", server: "maxBodyBytes", parse: wholeNumber(1024) },
  { flag: "--http2-idle-timeout-ms <ms>", env: "RESONATE_HTTP2_IDLE_TIMEOUT_MS", help: "HTTP/2 connections with no call open are closed after this", server: "http2IdleTimeoutMs", parse: wholeNumber(1) },
  { flag: "--max-grpc-streams <n>", env: "RESONATE_MAX_GRPC_STREAMS", help: "gRPC Poll and Watch streams held at once", server: "maxGrpcStreams", parse: wholeNumber(1) },
  { flag: "--max-sse-streams <n>", env: "RESONATE_MAX_SSE_STREAMS", help: "SSE worker streams held at once", server: "maxSseStreams", parse: wholeNumber(1) },
  { flag: "--max-queued-bytes-per-stream <n>", env: "RESONATE_MAX_QUEUED_BYTES_PER_STREAM", help: "bytes queued for one slow stream before it is cut", server: "maxQueuedBytesPerStream", parse: wholeNumber(1024) },
  { flag: "--max-outstanding-per-worker <n>", env: "RESONATE_MAX_OUTSTANDING_PER_WORKER", help: "unacknowledged executes a worker may hold before it gets no new work", node: "maxOutstandingPerWorker", parse: wholeNumber(1) },
  { flag: "--worker-stall-ms <ms>", env: "RESONATE_WORKER_STALL_MS", help: "an execute unacknowledged this long goes to another worker", node: "workerStallMs", parse: wholeNumber(1) },
  {
    flag: "--memory-budget-mb <mb>",
    env: "RESONATE_MEMORY_BUDGET_MB",
    help: "heap the node may use before it refuses new records with 429 (default: 70% of the heap limit)",
    node: "memoryBudgetBytes",
    parse: (text: string) => wholeNumber(1)(text) * 1024 * 1024,
  },
  { flag: "--retention-ms <ms>", env: "RESONATE_RETENTION_MS", help: "remove settled promises and their tasks this long after they settled (0: keep)", node: "retentionMs", parse: wholeNumber(0) },
  { flag: "--parked-execute-ttl-ms <ms>", env: "RESONATE_PARKED_EXECUTE_TTL_MS", help: "how long an execute nobody can take waits before it is dropped", node: "parkedExecuteTtlMs", parse: wholeNumber(1) },
];

/** Add every limit flag to `cmd`. */
export function limitOptions(cmd: Command): Command {
  for (const f of LIMIT_FLAGS) {
    const option = new Option(f.flag, f.help).env(f.env).argParser(f.parse as (v: string) => unknown);
    const def = f.server !== undefined ? DEFAULT_SERVER_LIMITS[f.server] : f.node !== undefined ? DEFAULT_NODE_LIMITS[f.node] : f.default;
    if (typeof def === "number") option.default(def);
    cmd.addOption(option);
  }
  return cmd;
}

/** The server and node limits from parsed options (commander's camelCase keys). */
export function limitsFrom(opts: Record<string, unknown>): { server: Partial<ServerLimits>; node: Partial<NodeLimits> } {
  const server: Partial<ServerLimits> = {};
  const node: Partial<NodeLimits> = {};
  for (const f of LIMIT_FLAGS) {
    const value = opts[new Option(f.flag).attributeName()];
    if (value === undefined) continue;
    if (f.server !== undefined) (server as Record<string, unknown>)[f.server] = value;
    if (f.node !== undefined) (node as Record<string, unknown>)[f.node] = value;
  }
  return { server, node };
}
