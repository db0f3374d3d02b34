// The one gRPC client of a node, shared by the SDK and the CLI. Unary calls
// (one per durable step) go through RawUnaryChannel, which writes the HTTP/2
// frames itself; the two server streams (the worker's Poll, a promise's
// Watch) go through grpc-js. Why the split: per unary call grpc-js costs about
// three times the CPU of a node:http2 client (UnaryChannel), which in turn
// costs several times RawUnaryChannel's (see raw-channel.ts), and
// @connectrpc/connect-node's gRPC transport more still (`npm run bench --
// --only unary`); streams are few and long-lived, so their per-message cost
// does not matter and grpc-js's stream handling is kept.
//
// Two ways to call: `call` resolves the protocol's answer of a successful call
// and rejects with the gRPC failure as it came (code, details, metadata: what
// the CLI turns into sentences); `send` answers in the protocol's shape, a
// refusal being an answer, and rejects (NoAnswerError) only when the node gave
// none.

import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type {
  Kind,
  Message,
  PromiseCreateRequest,
  PromiseRecord,
  PromiseSettleRequest,
  ProtocolError,
  RequestOf,
  Response,
  TaskRef,
} from "../protocol/types.ts";
import {
  fromProtocolRequest,
  messageFromProto,
  promiseFromProto,
  rpcOf,
  toProtocolResponse,
  type OkResponse,
} from "../api/grpc/convert.ts";
import { createClient, methodPath, type ServiceClient } from "../api/grpc/service.ts";
import { CODE_METADATA, fromServiceError, INNER_KIND_METADATA } from "../api/grpc/status.ts";
import type { ClientTlsOptions, UnaryCallError, UnaryCallOptions } from "../api/grpc/unary-channel.ts";
import { RawUnaryChannel } from "./raw-channel.ts";
import { readFileSync } from "node:fs";
import { decodeAnswer, encodeRequest } from "../api/grpc/wire.ts";
import { PromiseService, type PromiseServiceWatchResponse } from "../gen/resonate/mesh/v1/promise_service_pb.ts";
import { TaskService, type TaskServicePollResponse } from "../gen/resonate/mesh/v1/task_service_pb.ts";

export interface NodeClientOptions {
  /** `host:port` of the node. */
  address: string;
  /** TLS (https://) instead of plaintext. */
  secure?: boolean;
  /** With `secure`: the CA to trust (instead of the default roots) and a client certificate for mTLS, PEM contents. */
  tls?: ClientTlsOptions;
  /** Sent as `authorization: Bearer <token>` on every call and stream. */
  token?: string;
  /** Deadline of each unary call (default 30 s). */
  requestTimeoutMs?: number;
  /** Sent as `user-agent` on unary calls. */
  userAgent?: string;
  /** HTTP/2 connections for unary calls, opened as load needs them (default 4). */
  maxConnections?: number;
  /** Unary calls in flight on a connection before another opens (default 16). */
  callsPerConnection?: number;
  /**
   * Longest pause of the streams' channel between connection attempts
   * (default 5 s). grpc-js backs off up to 120 s by default: a node that came
   * back would wait that long for its workers.
   */
  maxReconnectDelayMs?: number;
  /** What `send` rejects with when the node gave no answer (default: the NoAnswerError itself), e.g. the caller's own error type. */
  noAnswer?: (error: NoAnswerError) => Error;
}

/** A failed call: gRPC status code, the node's sentence and the trailing metadata. */
export type GrpcCallError = Pick<UnaryCallError, "code" | "details" | "metadata" | "message">;

/** The node gave no answer (unreachable, connection lost, deadline passed, cancelled). */
export class NoAnswerError extends Error {
  readonly code = "UNAVAILABLE";
  constructor(
    message: string,
    readonly grpcCode: grpc.status,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "NoAnswerError";
  }
}

/** `http://host[:port]`, `https://...` or `grpc(s)://...` -> where to connect; no port means `defaultPort`. */
export function endpointOf(url: string, defaultPort = "8001"): { address: string; secure: boolean } {
  const parsed = new URL(url);
  const secure = parsed.protocol === "https:" || parsed.protocol === "grpcs:";
  return { address: `${parsed.hostname}:${parsed.port === "" ? defaultPort : parsed.port}`, secure };
}

/**
 * The PEM files a TLS client names (CLI flags, environment) read into
 * ClientTlsOptions; throws a sentence naming the option and the file.
 */
export function readClientTls(
  files: { caFile?: string; certFile?: string; keyFile?: string },
  names = { ca: "--ca-file", cert: "--cert-file", key: "--key-file" },
): ClientTlsOptions {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new Error(`${names.cert} and ${names.key} go together: a client certificate needs its private key`);
  }
  const read = (file: string | undefined, name: string) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
      throw new Error(`${name} ${file} cannot be read: ${reason}`);
    }
  };
  const tls: ClientTlsOptions = {};
  const ca = read(files.caFile, names.ca);
  const cert = read(files.certFile, names.cert);
  const key = read(files.keyFile, names.key);
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  return tls;
}

// Statuses that mean "no answer", as opposed to a refusal the node sent.
const NO_ANSWER = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED]);

/** Method paths by request kind, spelled once. */
const paths = new Map<Kind, string>();
function pathOf(kind: Kind): string {
  let path = paths.get(kind);
  if (path === undefined) paths.set(kind, (path = methodPath(rpcOf(kind).method)));
  return path;
}

/** Callbacks of a server stream. */
export interface StreamHandlers<T> {
  /** The node answered the stream's headers: for Poll, this worker is registered from now on. */
  onOpen?(): void;
  onData(message: T): void;
  /** The stream ended: `error` undefined when the node closed it cleanly. Not called after `cancel()`. */
  onEnd(error?: GrpcCallError): void;
  /** A message that does not decode was dropped (the stream goes on). */
  onMalformed?(error: unknown): void;
}

export interface OpenStream {
  cancel(): void;
}

export class NodeClient {
  readonly address: string;
  readonly secure: boolean;
  private readonly tls: ClientTlsOptions;
  private readonly maxReconnectDelayMs: number;
  private readonly unary: RawUnaryChannel;
  private readonly headers: Record<string, string> | undefined;
  private readonly token: string | undefined;
  private readonly requestTimeoutMs: number;
  private readonly noAnswer: ((error: NoAnswerError) => Error) | undefined;
  private streamClients: { tasks: ServiceClient<(typeof TaskService)["method"]>; promises: ServiceClient<(typeof PromiseService)["method"]> } | undefined;

  constructor(options: NodeClientOptions) {
    this.address = options.address;
    this.secure = options.secure ?? false;
    this.tls = options.tls ?? {};
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? 5_000;
    // Several connections, opened as load needs them: one busy HTTP/2 connection makes client and
    // node take turns (each waits while the other works through a batch); with several, they overlap.
    this.unary = new RawUnaryChannel(options.address, {
      secure: this.secure,
      tls: this.tls,
      userAgent: options.userAgent,
      maxConnections: options.maxConnections ?? 4,
      callsPerConnection: options.callsPerConnection ?? 16,
    });
    this.token = options.token;
    this.headers = options.token === undefined ? undefined : { authorization: `Bearer ${options.token}` };
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.noAnswer = options.noAnswer;
  }

  /**
   * One request over its RPC. Resolves with the protocol's answer; rejects
   * with the gRPC failure (GrpcCallError) for a refusal or no answer, and
   * with a ConversionError for a value the wire cannot carry.
   */
  async call<K extends Kind>(request: RequestOf<K>): Promise<OkResponse<K>> {
    return await this.invoke(request.kind, this.encode(request));
  }

  /** One request, answered in the protocol's shape: refusals (404, 409, ...) are answers; no answer rejects (NoAnswerError). */
  send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    let bytes: Uint8Array;
    try {
      bytes = this.encode(request);
    } catch (err) {
      // A value the wire cannot carry (an unknown enum, a number out of range) is the caller's bad input.
      const error: ProtocolError = { status: 400, code: "INVALID_ARGUMENT", message: err instanceof Error ? err.message : String(err) };
      return Promise.resolve({ kind: request.kind, status: 400, error } as Response<K>);
    }
    // One promise per call on this path (every durable step takes it): no async functions stacked.
    return this.unary.call(pathOf(request.kind), bytes, this.callOptions()).then(
      (answer) => this.decode(request.kind, answer) as Response<K>,
      (err: unknown) => this.refusal(request, err),
    );
  }

  /** A failed call in the protocol's shape: the node's refusal as an answer; no answer throws NoAnswerError. */
  private refusal<K extends Kind>(request: RequestOf<K>, err: unknown): Response<K> {
    const failure = err as Partial<GrpcCallError>;
    if (failure.code === undefined) throw err;
    const sentByNode = (failure.metadata?.get(CODE_METADATA).length ?? 0) > 0;
    if (NO_ANSWER.has(failure.code) && !sentByNode) {
      const error = new NoAnswerError(`${request.kind} to ${this.address}: ${failure.details ?? failure.message}`, failure.code, { cause: err });
      throw this.noAnswer === undefined ? error : this.noAnswer(error);
    }
    const error = fromServiceError(failure);
    const innerKind = failure.metadata?.get(INNER_KIND_METADATA)[0];
    if (request.kind === "task.fence" && typeof innerKind === "string") {
      // The node failed the whole Fence because its inner create or settle failed, and said which
      // (resonate-inner-kind); the protocol answers 200 with the failure inside. Give callers that shape.
      return {
        kind: request.kind,
        status: 200,
        data: { action: { kind: innerKind, status: error.status, error }, preload: [] },
      } as unknown as Response<K>;
    }
    return { kind: request.kind, status: error.status, error } as Response<K>;
  }

  /**
   * Several fenced creates and settles of the task held at `task.version`, in
   * one call (TaskService.FenceBatch, our extension): the fence is checked
   * once, the writes commit together, and each gets its answer in order (a
   * refused write is an error in its slot). A failed fence, or one malformed
   * write, is the answer of the whole call and nothing is written.
   */
  fenceBatch(task: TaskRef, actions: (PromiseCreateRequest | PromiseSettleRequest)[]): Promise<Response<"task.fence_batch">> {
    return this.send({ kind: "task.fence_batch", data: { id: task.id, version: task.version, actions } });
  }

  private encode(request: RequestOf<Kind>): Uint8Array {
    // A worker's frequent requests are written straight from the protocol's shape (api/grpc/wire.ts).
    const direct = encodeRequest(request);
    if (direct !== undefined) return direct;
    const { method } = rpcOf(request.kind);
    const message = fromProtocolRequest(request);
    return toBinary(method.input, isMessage(message, method.input) ? message : create(method.input, message as never));
  }

  private async invoke<K extends Kind>(kind: K, bytes: Uint8Array): Promise<OkResponse<K>> {
    return this.decode(kind, await this.unary.call(pathOf(kind), bytes, this.callOptions()));
  }

  private callOptions(): UnaryCallOptions {
    return { metadata: this.headers, deadline: Date.now() + this.requestTimeoutMs };
  }

  private decode<K extends Kind>(kind: K, answer: Uint8Array): OkResponse<K> {
    return decodeAnswer(kind, answer) ?? toProtocolResponse(kind, fromBinary(rpcOf(kind).method.output, answer) as never);
  }

  /** The worker's stream of `execute` and `unblock` messages for (group, pid). No reconnection here: the caller decides. */
  poll(group: string, pid: string, handlers: StreamHandlers<Message>): OpenStream {
    const address = `poll://uni@${group}/${pid}`;
    return this.stream(this.streams().tasks.poll({ group, pid }, { metadata: this.metadata() }), {
      onOpen: handlers.onOpen,
      onData: (response: TaskServicePollResponse) => {
        let message: Message | undefined;
        try {
          message = messageFromProto(response, address);
        } catch (err) {
          handlers.onMalformed?.(err);
          return;
        }
        if (message !== undefined) handlers.onData(message);
      },
      onEnd: handlers.onEnd,
    });
  }

  /** A promise's states as it changes, until it is settled (the node then ends the stream). */
  watch(id: string, handlers: StreamHandlers<PromiseRecord>): OpenStream {
    return this.stream(this.streams().promises.watch({ id }, { metadata: this.metadata() }), {
      onOpen: handlers.onOpen,
      onData: (response: PromiseServiceWatchResponse) => {
        let promise: PromiseRecord;
        try {
          if (response.promise === undefined) return;
          promise = promiseFromProto(response.promise);
        } catch (err) {
          handlers.onMalformed?.(err);
          return;
        }
        handlers.onData(promise);
      },
      onEnd: handlers.onEnd,
    });
  }

  /** Unary calls in flight finish; streams are cancelled; later calls fail. */
  close(): void {
    this.unary.close();
    this.streamClients?.tasks.close();
    this.streamClients?.promises.close();
    this.streamClients = undefined;
  }

  private stream<T>(call: grpc.ClientReadableStream<T>, handlers: StreamHandlers<T>): OpenStream {
    let done = false;
    const end = (error?: GrpcCallError) => {
      if (done) return;
      done = true;
      handlers.onEnd(error);
    };
    call.on("metadata", () => handlers.onOpen?.());
    call.on("data", (message: T) => {
      if (!done) handlers.onData(message);
    });
    call.on("error", (err: grpc.ServiceError) => end(err));
    call.on("end", () => end());
    return {
      cancel: () => {
        done = true;
        call.cancel();
      },
    };
  }

  private streams() {
    if (this.streamClients === undefined) {
      const { ca, cert, key } = this.tls;
      const pem = (value: string | Buffer | undefined) => (value === undefined ? null : Buffer.from(value));
      const credentials = this.secure ? grpc.credentials.createSsl(pem(ca), pem(key), pem(cert)) : grpc.credentials.createInsecure();
      const channelOptions = {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": this.maxReconnectDelayMs,
      };
      // Clients of one address and options share one HTTP/2 connection (grpc-js pools subchannels).
      this.streamClients = {
        tasks: createClient(TaskService, this.address, { credentials, channelOptions }),
        promises: createClient(PromiseService, this.address, { credentials, channelOptions }),
      };
    }
    return this.streamClients;
  }

  private metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.token !== undefined) metadata.set("authorization", `Bearer ${this.token}`);
    return metadata;
  }
}
