// What every gRPC handler shares: the engine, a logger, the registry of open
// streams (ended on shutdown), and the unary path proto -> protocol ->
// engine.handle -> proto, with errors mapped per DESIGN.md rule 9.

import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Engine } from "../../mesh/engine.ts";
import type { Kind, ProtocolError, RequestOf } from "../../protocol/types.ts";
import { authorize, bearerToken, isPrincipal, isRequest, OPEN, type Authenticator, type Principal } from "../auth.ts";
import {
  ConversionError,
  fenceInnerError,
  fromProtocolResponse,
  localizeError,
  rpcOf,
  toProtocolRequest,
  type OkResponse,
  type ProtoRequestMap,
  type ProtoResponseMap,
} from "./convert.ts";
import { toServiceError } from "./status.ts";
import { traceRequest } from "../../telemetry/requests.ts";
import { tracingActive } from "../../telemetry/tracing.ts";

/** Called once per finished call: `method` is the full path, `seconds` the time spent. */
export type CallObserver = (method: string, code: grpc.status, seconds: number) => void;

/** An open server stream that shutdown must end. */
export interface OpenStream {
  /** End the stream now, telling the client why. */
  shutdown(): void;
}

export class StreamRegistry {
  private readonly open = new Set<OpenStream>();
  private closing = false;

  constructor(
    /** Streams held at once (Poll and Watch together). */
    readonly max = 1_000,
    private readonly onFull: () => void = () => undefined,
  ) {}

  /** Track a stream; the error to end it with instead when the server is shutting down or full. */
  add(stream: OpenStream): ProtocolError | undefined {
    if (this.closing) return shuttingDown;
    if (this.open.size >= this.max) {
      this.onFull();
      return tooManyStreams(this.max);
    }
    this.open.add(stream);
    return undefined;
  }

  delete(stream: OpenStream): void {
    this.open.delete(stream);
  }

  get size(): number {
    return this.open.size;
  }

  /** End every stream and refuse new ones. */
  shutdown(): void {
    this.closing = true;
    for (const stream of [...this.open]) stream.shutdown();
    this.open.clear();
  }
}

export interface HandlerContext {
  engine: Engine;
  logger?: Logger;
  streams: StreamRegistry;
  observe?: CallObserver;
  /** Bytes queued for a Poll stream that does not read before it is cut. Default 16 MiB. */
  maxQueuedBytesPerStream?: number;
  /** Called when a stream is cut for reading too slowly. */
  onSlowReader?: () => void;
  /** Verifies bearer tokens; absent, the node is open and every caller may do anything. */
  auth?: Authenticator;
}

/** The principal of a call's `authorization` metadata, or the 401 to answer. */
export async function authenticateCall(ctx: HandlerContext, metadata: grpc.Metadata): Promise<Principal | ProtocolError> {
  if (ctx.auth === undefined) return OPEN;
  const value = metadata.get("authorization")[0];
  return await authenticateHeader(ctx, typeof value === "string" ? value : value?.toString("utf8"));
}

/** The principal of an `authorization` header value, or the 401 to answer. */
export async function authenticateHeader(ctx: HandlerContext, authorization: string | undefined): Promise<Principal | ProtocolError> {
  if (ctx.auth === undefined) return OPEN;
  return await ctx.auth.admit(bearerToken(authorization));
}

export type ServiceErrorLike = Partial<grpc.StatusObject> & { code: grpc.status };

export const shuttingDown: ProtocolError = {
  status: 503,
  code: "UNAVAILABLE",
  message: "the node is shutting down; reconnect to another node or retry shortly",
};

export function tooManyStreams(max: number): ProtocolError {
  return {
    status: 429,
    code: "RESOURCE_EXHAUSTED",
    message: `this node already holds ${max} Poll and Watch streams (--max-grpc-streams); retry later or connect to another node`,
  };
}

/** A failure that is not the caller's: logged once, answered INTERNAL without internals beyond the sentence. */
export function internalError(ctx: HandlerContext, method: string, err: unknown): ServiceErrorLike {
  ctx.logger?.error({ err, method }, "gRPC call failed");
  return toServiceError({
    status: 500,
    code: "INTERNAL",
    message: `internal error in ${method}: ${err instanceof Error ? err.message : String(err)}`,
  });
}

/**
 * A request read straight from its bytes into the protocol's shape (the
 * lean path's wire.ts); its protobuf message, which error messages take
 * their field names from, is decoded only if one is needed.
 */
export class DirectRequest<K extends Kind> {
  #message: ProtoRequestMap[K] | undefined;

  constructor(
    readonly request: RequestOf<K>,
    private readonly decode: () => ProtoRequestMap[K],
  ) {}

  get message(): ProtoRequestMap[K] {
    return (this.#message ??= this.decode());
  }
}

/** Run one protocol request for a unary RPC: its successful answer (the transport encodes it), or the error to send. */
export async function runUnary<K extends Kind>(
  ctx: HandlerContext,
  kind: K,
  input: ProtoRequestMap[K] | DirectRequest<K>,
  principal: Principal = OPEN,
  carrier?: () => Record<string, unknown> | undefined,
): Promise<{ answer: OkResponse<K> } | { error: ServiceErrorLike }> {
  let request: RequestOf<K>;
  // Field names in errors come from the protobuf message: a direct request decodes it only then.
  let message: () => ProtoRequestMap[K];
  if (input instanceof DirectRequest) {
    request = input.request;
    message = () => input.message;
  } else {
    message = () => input;
    try {
      request = toProtocolRequest(kind, input);
    } catch (err) {
      if (err instanceof ConversionError) return { error: toServiceError(err.error) };
      throw err;
    }
  }
  if (!principal.admin) {
    const scoped = authorize(principal, request);
    if (!isRequest(scoped)) return { error: toServiceError(localizeError(kind, scoped, message())) };
    request = scoped as RequestOf<K>;
  }
  const admitted = request;
  const answer = await (tracingActive() ? traceRequest(admitted, () => carrier?.(), () => ctx.engine.handle(admitted)) : ctx.engine.handle(admitted));
  if (!("data" in answer)) return { error: toServiceError(localizeError(kind, answer.error, message())) };
  const ok = answer as OkResponse<K>;
  if (kind === "task.fence") {
    const fence = ok as OkResponse<"task.fence">;
    const inner = fenceInnerError(fence);
    if (inner !== undefined) return { error: toServiceError(localizeError(kind, inner, message()), fence.data.action.kind) };
  }
  return { answer: ok };
}

export type UnaryResult<K extends Kind> = { answer: OkResponse<K> } | { error: ServiceErrorLike };

/**
 * One unary call of `kind`, whichever transport carries it: authenticate
 * the `authorization` value, run the request, observe the outcome. The one
 * place per-request instrumentation goes; it never rejects (a failure that
 * is not the caller's becomes INTERNAL here).
 */
export function serveUnary<K extends Kind>(
  ctx: HandlerContext,
  kind: K,
): (
  message: ProtoRequestMap[K] | DirectRequest<K>,
  authorization: string | undefined,
  /** The call's headers, read only when tracing is on (for `traceparent`). */
  carrier?: () => Record<string, unknown> | undefined,
) => Promise<UnaryResult<K>> {
  const { method } = rpcOf(kind);
  const path = `/${method.parent.typeName}/${method.name}`;
  const observed = (result: UnaryResult<K>, started: number): UnaryResult<K> => {
    observeCall(ctx, path, "error" in result ? result.error.code : grpc.status.OK, started);
    return result;
  };
  const failed = (err: unknown, started: number): UnaryResult<K> => observed({ error: internalError(ctx, path, err) }, started);
  return (message, authorization, carrier) => {
    const started = performance.now();
    const run =
      ctx.auth === undefined
        ? runUnary(ctx, kind, message, OPEN, carrier)
        : authenticateHeader(ctx, authorization).then((principal) =>
            isPrincipal(principal) ? runUnary(ctx, kind, message, principal, carrier) : { error: toServiceError(principal) },
          );
    return run.then(
      (result) => observed(result, started),
      (err: unknown) => failed(err, started),
    );
  };
}

/** The grpc-js unary handler of a protocol request kind (the lean path, unary-server.ts, serves these first). */
export function unary<K extends Kind>(
  ctx: HandlerContext,
  kind: K,
): grpc.handleUnaryCall<ProtoRequestMap[K], ProtoResponseMap[K]> {
  const serve = serveUnary(ctx, kind);
  return (call, callback) => {
    const value = ctx.auth === undefined ? undefined : call.metadata.get("authorization")[0];
    void serve(call.request, typeof value === "string" ? value : value?.toString("utf8"), () => call.metadata.getMap()).then((result) => {
      if ("error" in result) callback(result.error);
      else callback(null, fromProtocolResponse(result.answer));
    });
  };
}

function observeCall(ctx: HandlerContext, path: string, code: grpc.status, started: number): void {
  ctx.observe?.(path, code, (performance.now() - started) / 1000);
}
