// A node over gRPC: unary calls per request kind, the worker's `Poll` stream
// for messages. The wire mapping is the node's own (api/grpc/convert.ts), so
// the SDK and the node cannot disagree about it. Unary calls, one per durable
// step, go through the lean UnaryChannel; the stream stays on grpc-js. The
// stream reconnects with backoff for as long as it is wanted; every
// (re)connection is reported so the client registers its listeners again and
// no `unblock` is missed.

import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { TaskService } from "@resonate-mesh/node/gen/resonate/mesh/v1/task_service_pb";
import type { TaskServicePollResponse } from "@resonate-mesh/node/gen/resonate/mesh/v1/task_service_pb";
import {
  fromProtocolRequest,
  messageFromProto,
  rpcOf,
  toProtocolResponse,
} from "@resonate-mesh/node/api/grpc/convert";
import { createClient, methodPath, type ServiceClient } from "@resonate-mesh/node/api/grpc/service";
import { fromServiceError } from "@resonate-mesh/node/api/grpc/status";
import { UnaryChannel } from "@resonate-mesh/node/api/grpc/unary-channel";
import type { DescService } from "@bufbuild/protobuf";
import type { GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { Kind, Message, ProtocolError, RequestOf, Response } from "@resonate-mesh/node/protocol/types";
import { TransportError, type Transport } from "./types.ts";

export interface GrpcTransportOptions {
  /** http://host:port (plaintext) or https://host:port (TLS). */
  url: string;
  token?: string;
  logger: Logger;
  /** Deadline of each unary call (default 30 s); a call past it is UNAVAILABLE and retried by the client. */
  requestTimeoutMs?: number;
  /** Longest pause between reconnection attempts of the Poll stream (default 5 s). */
  maxReconnectDelayMs?: number;
  /** While the node stays unreachable, one warning per this many ms at most (default 30 s). */
  reconnectLogEveryMs?: number;
}

/**
 * The pause before reconnection attempt `n` (1-based): exponential from
 * 100 ms, capped, with "equal jitter" (half fixed, half random) so a fleet of
 * workers that lost the same node does not reconnect in lockstep.
 */
export function reconnectDelay(attempt: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, 100 * 2 ** Math.min(attempt - 1, 20));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

// Statuses that mean "no answer", as opposed to a refusal the node sent.
const NO_ANSWER = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED]);

/** `host:port` from a URL; a URL without a port means the node's default, 8001. */
export function grpcAddress(url: string): { address: string; secure: boolean } {
  const parsed = new URL(url);
  const secure = parsed.protocol === "https:" || parsed.protocol === "grpcs:";
  return { address: `${parsed.hostname}:${parsed.port === "" ? "8001" : parsed.port}`, secure };
}

/** Method paths by request kind, spelled once. */
const paths = new Map<Kind, string>();
function pathOf(kind: Kind): string {
  let path = paths.get(kind);
  if (path === undefined) paths.set(kind, (path = methodPath(rpcOf(kind).method)));
  return path;
}

type AnyClient = ServiceClient<GenServiceMethods> & Record<string, (...args: unknown[]) => unknown>;

export class GrpcTransport implements Transport {
  readonly mode = "remote" as const;
  private readonly clients = new Map<string, AnyClient>();
  private readonly unary: UnaryChannel;
  private readonly address: string;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly token: string | undefined;
  private readonly headers: Record<string, string> | undefined;
  private readonly logger: Logger;
  private readonly requestTimeoutMs: number;
  private readonly maxReconnectDelayMs: number;
  private readonly reconnectLogEveryMs: number;
  private readonly streams = new Set<() => void>();
  private closed = false;

  constructor(options: GrpcTransportOptions) {
    const { address, secure } = grpcAddress(options.url);
    this.address = address;
    this.credentials = secure ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    // A few connections, opened as load needs them: one busy HTTP/2 connection makes client and
    // node take turns (each waits while the other works through a batch); with several, they overlap.
    this.unary = new UnaryChannel(address, { secure, userAgent: "resonate-mesh-sdk", maxConnections: 4, callsPerConnection: 16 });
    this.token = options.token;
    this.headers = options.token === undefined ? undefined : { authorization: `Bearer ${options.token}` };
    this.logger = options.logger;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? 5_000;
    this.reconnectLogEveryMs = options.reconnectLogEveryMs ?? 30_000;
  }

  private client(service: DescService): AnyClient {
    let client = this.clients.get(service.typeName);
    if (client === undefined) {
      // Clients of one address and options share one HTTP/2 connection.
      client = createClient(service as never, this.address, {
        credentials: this.credentials,
        // grpc-js backs off up to 120 s between connection attempts by default: a node that
        // came back would wait that long for its workers. Keep the channel's pace ours.
        channelOptions: {
          "grpc.initial_reconnect_backoff_ms": 100,
          "grpc.max_reconnect_backoff_ms": this.maxReconnectDelayMs,
        },
      }) as unknown as AnyClient;
      this.clients.set(service.typeName, client);
    }
    return client;
  }

  private metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.token !== undefined) metadata.set("authorization", `Bearer ${this.token}`);
    return metadata;
  }

  async send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    if (this.closed) throw new TransportError(`${request.kind}: the transport is closed`);
    const { method } = rpcOf(request.kind);
    let bytes: Uint8Array;
    try {
      const message = fromProtocolRequest(request);
      bytes = toBinary(method.input, isMessage(message, method.input) ? message : create(method.input, message as never));
    } catch (err) {
      // A value the wire cannot carry (an unknown enum, a number out of range): the caller's bad input.
      const error: ProtocolError = { status: 400, code: "INVALID_ARGUMENT", message: err instanceof Error ? err.message : String(err) };
      return { kind: request.kind, status: 400, error } as Response<K>;
    }
    try {
      const answer = await this.unary.call(pathOf(request.kind), bytes, {
        metadata: this.headers,
        deadline: Date.now() + this.requestTimeoutMs,
      });
      return toProtocolResponse(request.kind, fromBinary(method.output, answer) as never) as Response<K>;
    } catch (err) {
      const serviceError = err as Partial<grpc.ServiceError>;
      const sentByNode = (serviceError.metadata?.get("resonate-code").length ?? 0) > 0;
      if (serviceError.code !== undefined && NO_ANSWER.has(serviceError.code) && !sentByNode) {
        throw new TransportError(`${request.kind} to ${this.address}: ${serviceError.details ?? serviceError.message}`, { cause: err });
      }
      if (serviceError.code === undefined) throw err;
      const error = fromServiceError(serviceError);
      if (request.kind === "task.fence" && !error.code.startsWith("TASK_")) {
        // Over gRPC a fence whose inner create/settle failed fails as a whole; the protocol
        // answers 200 with the failure inside. Give callers the protocol's shape.
        const inner = (request as RequestOf<"task.fence">).data.action.kind;
        return {
          kind: request.kind,
          status: 200,
          data: { action: { kind: inner, status: error.status, error }, preload: [] },
        } as unknown as Response<K>;
      }
      return { kind: request.kind, status: error.status, error } as Response<K>;
    }
  }

  /**
   * The stream is retried for as long as it is wanted, never given up: a node
   * restart or a rolling deploy must not empty the worker fleet. The pending
   * reconnection timer is deliberately not unref'd, so an idle worker whose
   * node is gone stays alive (and reconnects) instead of exiting with 0.
   */
  subscribe(group: string, pid: string, onMessage: (message: Message) => void, onReconnect?: () => void): () => void {
    const address = `poll://uni@${group}/${pid}`;
    let wanted = true;
    let stream: grpc.ClientReadableStream<TaskServicePollResponse> | undefined;
    let timer: NodeJS.Timeout | undefined;
    /** Failed attempts since the stream was last up. */
    let failures = 0;
    let downSince = 0;
    let lastWarned = 0;

    const open = () => {
      timer = undefined;
      if (!wanted || this.closed) return;
      const client = this.client(TaskService as unknown as DescService);
      const s = (client.poll as (m: unknown, o: unknown) => grpc.ClientReadableStream<TaskServicePollResponse>)(
        { group, pid },
        { metadata: this.metadata() },
      );
      stream = s;
      let ended = false;
      const retry = (why: string) => {
        if (ended) return;
        ended = true;
        if (stream === s) stream = undefined;
        if (!wanted || this.closed) return;
        failures++;
        const now = Date.now();
        if (failures === 1) downSince = now;
        const delay = reconnectDelay(failures, this.maxReconnectDelayMs);
        // One line when the node goes away, then one per reconnectLogEveryMs while it stays away.
        if (failures === 1 || now - lastWarned >= this.reconnectLogEveryMs) {
          lastWarned = now;
          this.logger.warn(
            { group, pid, node: this.address, attempts: failures, downMs: now - downSince },
            `the node at ${this.address} is unreachable (${why}); reconnecting every ${this.maxReconnectDelayMs} ms at most, for as long as this worker runs`,
          );
        } else {
          this.logger.debug({ group, pid, why, delay, attempts: failures }, "poll stream closed; reconnecting");
        }
        timer = setTimeout(open, delay);
      };
      // The node sends headers once this worker is registered: from then on nothing is missed.
      s.on("metadata", () => {
        if (failures > 0) {
          this.logger.warn(
            { group, pid, node: this.address, attempts: failures, downMs: Date.now() - downSince },
            `reconnected to the node at ${this.address} after ${failures} attempts`,
          );
        }
        failures = 0;
        onReconnect?.();
      });
      s.on("data", (response: TaskServicePollResponse) => {
        let message: Message | undefined;
        try {
          message = messageFromProto(response, address);
        } catch (err) {
          this.logger.warn({ err }, "dropping a malformed message from the node");
          return;
        }
        if (message !== undefined) onMessage(message);
      });
      s.on("error", (err: grpc.ServiceError) => {
        if (err.code === grpc.status.INVALID_ARGUMENT || err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED) {
          this.logger.error({ group, pid, err: err.details }, "the node refused this worker's stream");
        }
        retry(err.details ?? err.message);
      });
      s.on("end", () => retry("end"));
    };

    const close = () => {
      wanted = false;
      if (timer !== undefined) clearTimeout(timer);
      stream?.cancel();
      this.streams.delete(close);
    };
    this.streams.add(close);
    open();
    return close;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const close of [...this.streams]) close();
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    this.unary.close();
  }
}
