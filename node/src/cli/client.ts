// The CLI's connection to a node: the node client the SDK uses too
// (client/node-client.ts), spoken in protocol types, with every gRPC failure
// turned into one sentence a person can act on.

import type {
  Kind,
  PromiseCreateData,
  PromiseRecord,
  PromiseSearchData,
  PromiseSettleData,
  RequestOf,
  ResponseDataMap,
  ScheduleRecord,
  TaskRecord,
  TaskState,
} from "../protocol/types.ts";
import { GrpcStatus, NodeClient, readClientTls, type GrpcCallError } from "../client/index.ts";
import { RefusedError, UsageError } from "./errors.ts";

type ScheduleCreateData = RequestOf<"schedule.create">["data"];

/** What the client subcommands need from a node. */
export interface CliClient {
  readonly server: string;
  promiseGet(id: string): Promise<PromiseRecord>;
  promiseCreate(data: PromiseCreateData): Promise<PromiseRecord>;
  promiseSettle(data: PromiseSettleData): Promise<PromiseRecord>;
  promiseSearch(data: PromiseSearchData): Promise<{ promises: PromiseRecord[]; cursor?: string }>;
  /** Resolves with the promise once it is settled. */
  promiseWait(id: string): Promise<PromiseRecord>;
  taskGet(id: string): Promise<TaskRecord>;
  taskSearch(data: { state?: TaskState; id?: string; limit?: number; cursor?: string }): Promise<{ tasks: TaskRecord[]; cursor?: string }>;
  scheduleGet(id: string): Promise<ScheduleRecord>;
  scheduleCreate(data: ScheduleCreateData): Promise<ScheduleRecord>;
  scheduleDelete(id: string): Promise<void>;
  scheduleSearch(data: { tags?: Record<string, string>; id?: string; limit?: number; cursor?: string }): Promise<{ schedules: ScheduleRecord[]; cursor?: string }>;
  close(): void;
}

/** How long one unary call may take before the CLI gives up on the node. */
const CALL_TIMEOUT_MS = 30_000;
/** When the node cannot stream a promise (`Watch`), how often `--wait` reads it instead. */
const POLL_INTERVAL_MS = 500;

export interface Endpoint {
  /** `host:port`. */
  address: string;
  tls: boolean;
}

/** `http://host:port`, `https://host[:port]` or bare `host:port` -> where the client connects. */
export function parseServer(server: string): Endpoint {
  const text = server.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--server "${server}" is not a URL such as http://localhost:8001`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--server "${server}" must start with http:// or https://`);
  }
  if (url.hostname === "") throw new UsageError(`--server "${server}" has no host`);
  const tls = url.protocol === "https:";
  const port = url.port !== "" ? url.port : tls ? "443" : "80";
  return { address: `${url.hostname}:${port}`, tls };
}

type Noun = "promise" | "task" | "schedule";

/** One sentence for a failed call, classified into usage (exit 2) or refused (exit 1). */
export function describeGrpcError(err: unknown, server: string, noun: Noun, id?: string): UsageError | RefusedError {
  const e = err as Partial<GrpcCallError>;
  const details = (e.details ?? e.message ?? "").trim();
  switch (e.code) {
    case GrpcStatus.NOT_FOUND:
      return new RefusedError(id !== undefined ? `${noun} "${id}" not found` : details || `${noun} not found`);
    case GrpcStatus.UNAVAILABLE: {
      const { reason, hint } = unreachable(details, server.startsWith("https:"));
      return new RefusedError(`cannot reach the node at ${server} (${reason}); ${hint}`);
    }
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new RefusedError(`the node at ${server} did not answer within ${CALL_TIMEOUT_MS / 1_000}s`);
    case GrpcStatus.INVALID_ARGUMENT:
      return new UsageError(details || "the node refused the request as invalid");
    case GrpcStatus.UNAUTHENTICATED:
      if (/TLS/.test(details)) return new RefusedError(`the node at ${server} requires TLS: use an https:// --server (${details})`);
      return new RefusedError(`the node at ${server} refused the credentials (${details || "unauthenticated"}); check --token or RESONATE_TOKEN`);
    case GrpcStatus.PERMISSION_DENIED:
      return new RefusedError(`the token is not allowed to do this (${details || "permission denied"})`);
    case GrpcStatus.UNIMPLEMENTED:
      return new RefusedError(`the node at ${server} does not support this call; is it a resonate mesh node?`);
    default:
      return new RefusedError(details || `the call to ${server} failed`);
  }
}

function unreachable(details: string, overTls = false): { reason: string; hint: string } {
  const running = "is it running?";
  if (/ECONNREFUSED/.test(details)) return { reason: "connection refused", hint: running };
  if (/ENOTFOUND|EAI_AGAIN|Name resolution failed/i.test(details)) {
    return { reason: "host not found", hint: "check --server or RESONATE_SERVER" };
  }
  if (/ETIMEDOUT|timed out/i.test(details)) return { reason: "connection timed out", hint: running };
  const tlsFailure = tlsFailureOf(details);
  if (tlsFailure !== undefined) return tlsFailure;
  if (overTls && /ECONNRESET|Connection dropped/i.test(details)) {
    // A TLS node drops a client whose certificate it does not accept, without a TLS alert.
    return { reason: "the connection was dropped", hint: "if the node requires client certificates, is --cert-file signed by its --tls-client-ca?" };
  }
  if (/ECONNRESET|Connection dropped|protocol error|Received HTTP status/i.test(details)) {
    return { reason: "the connection was dropped", hint: "is that address a resonate node (gRPC)?" };
  }
  const reason = details.replace(/^No connection established\.\s*Last error:\s*/i, "").split("\n")[0] || "unavailable";
  return { reason, hint: running };
}

/** A failed TLS handshake, said with what to pass. */
function tlsFailureOf(details: string): { reason: string; hint: string } | undefined {
  const reason = details.replace(/^No connection(?: established)?[.:]\s*(?:Last error:\s*)?/i, "").split("\n")[0] ?? details;
  if (/certificate required|alert number 116|peer did not return a certificate/i.test(details)) {
    return { reason: `TLS: ${reason}`, hint: "the node requires a client certificate: pass --cert-file and --key-file" };
  }
  if (/certificate|self[- ]signed|issuer|CERT_|hostname\/IP does not match|altnames/i.test(details)) {
    return { reason: `TLS: ${reason}`, hint: "pass --ca-file (or RESONATE_CA_FILE) with the CA that signed the node's certificate" };
  }
  if (/wrong version number|SSL|EPROTO|packet length too long/i.test(details)) {
    return { reason: `TLS: ${reason}`, hint: "does that node serve TLS? use http:// for a cleartext node" };
  }
  return undefined;
}

/** A client for the node at `server`; `token` goes out as `authorization: Bearer`. */
export function connect(server: string, token?: string, tlsFiles: TlsFiles = {}): CliClient {
  return new GrpcCliClient(server, token, tlsFiles);
}

/** The PEM files of `--ca-file`, `--cert-file` and `--key-file`. */
export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

class GrpcCliClient implements CliClient {
  private readonly client: NodeClient;

  constructor(
    readonly server: string,
    token?: string,
    tlsFiles: TlsFiles = {},
  ) {
    const endpoint = parseServer(server);
    const given = Object.values(tlsFiles).some((f) => f !== undefined);
    if (given && !endpoint.tls) {
      throw new UsageError(`--ca-file, --cert-file and --key-file need an https:// --server, not "${server}"`);
    }
    let tls;
    try {
      tls = readClientTls(tlsFiles);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    // One connection serves the calls of a command: the CLI makes a handful, one after another.
    this.client = new NodeClient({
      address: endpoint.address,
      secure: endpoint.tls,
      tls,
      token,
      requestTimeoutMs: CALL_TIMEOUT_MS,
      userAgent: "resonate-cli",
      maxConnections: 1,
    });
  }

  /** One protocol request over its RPC; the answer's data, or the failure as one sentence. */
  private async call<K extends Kind>(request: RequestOf<K>, noun: Noun, id?: string): Promise<ResponseDataMap[K]> {
    try {
      return (await this.client.call(request)).data;
    } catch (err) {
      throw describeGrpcError(err, this.server, noun, id);
    }
  }

  async promiseGet(id: string): Promise<PromiseRecord> {
    return (await this.call({ kind: "promise.get", data: { id } }, "promise", id)).promise;
  }

  async promiseCreate(data: PromiseCreateData): Promise<PromiseRecord> {
    return (await this.call({ kind: "promise.create", data }, "promise", data.id)).promise;
  }

  async promiseSettle(data: PromiseSettleData): Promise<PromiseRecord> {
    return (await this.call({ kind: "promise.settle", data }, "promise", data.id)).promise;
  }

  promiseSearch(data: PromiseSearchData): Promise<{ promises: PromiseRecord[]; cursor?: string }> {
    return this.call({ kind: "promise.search", data }, "promise");
  }

  async promiseWait(id: string): Promise<PromiseRecord> {
    try {
      const last = await this.watch(id);
      if (last !== undefined && last.state !== "pending") return last;
    } catch (err) {
      // A node without Watch, or a stream cut short: reading in a loop still gets the answer.
      const code = (err as GrpcCallError).code;
      if (code !== GrpcStatus.UNIMPLEMENTED && code !== GrpcStatus.CANCELLED && code !== GrpcStatus.INTERNAL) {
        throw describeGrpcError(err, this.server, "promise", id);
      }
    }
    for (;;) {
      const p = await this.promiseGet(id);
      if (p.state !== "pending") return p;
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    }
  }

  /** The last state `Watch` streamed before it ended. */
  private watch(id: string): Promise<PromiseRecord | undefined> {
    return new Promise((resolve, reject) => {
      let last: PromiseRecord | undefined;
      this.client.watch(id, {
        onData: (promise) => (last = promise),
        onEnd: (err) => (err === undefined ? resolve(last) : reject(err)),
      });
    });
  }

  async taskGet(id: string): Promise<TaskRecord> {
    return (await this.call({ kind: "task.get", data: { id } }, "task", id)).task;
  }

  taskSearch(data: { state?: TaskState; id?: string; limit?: number; cursor?: string }): Promise<{ tasks: TaskRecord[]; cursor?: string }> {
    return this.call({ kind: "task.search", data }, "task");
  }

  async scheduleGet(id: string): Promise<ScheduleRecord> {
    return (await this.call({ kind: "schedule.get", data: { id } }, "schedule", id)).schedule;
  }

  async scheduleCreate(data: ScheduleCreateData): Promise<ScheduleRecord> {
    return (await this.call({ kind: "schedule.create", data }, "schedule", data.id)).schedule;
  }

  async scheduleDelete(id: string): Promise<void> {
    await this.call({ kind: "schedule.delete", data: { id } }, "schedule", id);
  }

  scheduleSearch(data: {
    tags?: Record<string, string>;
    id?: string;
    limit?: number;
    cursor?: string;
  }): Promise<{ schedules: ScheduleRecord[]; cursor?: string }> {
    return this.call({ kind: "schedule.search", data }, "schedule");
  }

  close(): void {
    this.client.close();
  }
}
