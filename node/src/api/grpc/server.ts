// The grpc-js server with everything the node serves over gRPC: the three
// protocol services, health and reflection. It never binds a port itself:
// the one-port listener (api/server.ts) hands it the connections that open
// with the HTTP/2 preface.

import { create, fromBinary, isMessage, toBinary, type DescMessage } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { Health } from "../../gen/grpc/health/v1/health_pb.ts";
import { PromiseService } from "../../gen/resonate/mesh/v1/promise_service_pb.ts";
import { ScheduleService } from "../../gen/resonate/mesh/v1/schedule_service_pb.ts";
import { TaskService } from "../../gen/resonate/mesh/v1/task_service_pb.ts";
import type { Engine } from "../../mesh/engine.ts";
import type { Authenticator } from "../auth.ts";
import { fromProtocolResponse, kinds, rpcOf } from "./convert.ts";
import { takeStreamsFirst } from "./grpc-js-hook.ts";
import { DirectRequest, serveUnary, StreamRegistry, type CallObserver, type HandlerContext } from "./handler.ts";
import { HealthState, healthService } from "./health.ts";
import { promiseService } from "./promises.ts";
import { addReflection } from "./reflection.ts";
import { scheduleService } from "./schedules.ts";
import { addService } from "./service.ts";
import { taskService } from "./tasks.ts";
import { UnaryServer, UndecodableRequestError, type UnaryRoute } from "./unary-server.ts";
import { decodeRequest, encodeAnswer } from "./wire.ts";
import { WatchHub } from "./watch.ts";

export interface GrpcServerOptions {
  engine: Engine;
  logger?: Logger;
  observe?: CallObserver;
  /**
   * Largest request accepted, in bytes. Above the protocol's payload limit
   * (4 MiB by default) so that an oversized payload reaches validation and
   * gets INVALID_ARGUMENT naming the field, not a bare RESOURCE_EXHAUSTED.
   */
  maxReceiveMessageBytes?: number;
  /** Verifies bearer tokens on every call and stream; absent, the node is open. */
  auth?: Authenticator;
  /** Health says NOT_SERVING while this returns false (a node still reaching its store). Default: always ready. */
  ready?: () => boolean;
  /** An HTTP/2 connection with no call open for this long is closed (keepalive pings do not count). */
  idleTimeoutMs?: number;
  /** Poll and Watch streams held at once; one more is refused RESOURCE_EXHAUSTED. */
  maxStreams?: number;
  onRefused?: (reason: "streams" | "slow_reader") => void;
  /** Bytes queued for a Poll stream that does not read before it is cut. */
  maxQueuedBytesPerStream?: number;
  /**
   * Who serves the protocol's unary calls: "lean" (default, unary-server.ts)
   * or "grpc-js" (as before it; kept to compare the two in a benchmark).
   */
  unaryPath?: "lean" | "grpc-js";
}

export interface GrpcServer {
  /** Hand it a connection that opened with the HTTP/2 preface. */
  injectConnection(socket: import("node:stream").Duplex): void;
  /** Open Poll and Watch streams. */
  readonly openStreams: number;
  /** Stop serving: health NOT_SERVING, streams ended, calls drained for up to `graceMs`, then cut. */
  shutdown(graceMs: number): Promise<void>;
}

export const SERVICE_NAMES = [PromiseService.typeName, TaskService.typeName, ScheduleService.typeName] as const;

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const maxReceiveMessageBytes = options.maxReceiveMessageBytes ?? 16 * 1024 * 1024;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": maxReceiveMessageBytes,
    "grpc.max_send_message_length": -1,
    // Detect workers that vanished without closing their Poll stream (a pulled cable, a frozen VM).
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    // Nothing reads channelz, and its bookkeeping (counters, timestamps, closures) runs on every call.
    "grpc.enable_channelz": 0,
    // A session that answers pings but opens no call is closed after this (else idle sessions pile up).
    "grpc.max_connection_idle_ms": options.idleTimeoutMs ?? 5 * 60_000,
  });
  const streams = new StreamRegistry(options.maxStreams ?? 1_000, () => options.onRefused?.("streams"));
  const ctx: HandlerContext = {
    engine: options.engine,
    logger: options.logger,
    streams,
    observe: options.observe,
    maxQueuedBytesPerStream: options.maxQueuedBytesPerStream,
    onSlowReader: () => options.onRefused?.("slow_reader"),
    auth: options.auth,
  };
  const hub = new WatchHub(options.engine);
  const health = new HealthState(SERVICE_NAMES, options.ready);

  addService(server, PromiseService, promiseService(ctx, hub));
  addService(server, TaskService, taskService(ctx));
  addService(server, ScheduleService, scheduleService(ctx));
  addService(server, Health, healthService(health));
  addReflection(server);
  if ((options.unaryPath ?? "lean") === "lean") {
    takeStreamsFirst(server, new UnaryServer(unaryRoutes(ctx), { maxReceiveMessageBytes }));
  }

  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  let shutdownPromise: Promise<void> | undefined;

  return {
    injectConnection: (socket) => injector.injectConnection(socket),
    get openStreams() {
      return streams.size;
    },
    shutdown(graceMs) {
      shutdownPromise ??= new Promise<void>((resolve) => {
        health.stopServing();
        streams.shutdown();
        hub.close();
        const timer = setTimeout(() => {
          options.logger?.warn({ graceMs }, "gRPC calls still running after the grace period; cutting them");
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return shutdownPromise;
    },
  };
}

/** Every protocol request kind's unary method, by path, for the lean path. */
function unaryRoutes(ctx: HandlerContext): Map<string, UnaryRoute> {
  const routes = new Map<string, UnaryRoute>();
  for (const kind of kinds) {
    const { method } = rpcOf(kind);
    const serve = serveUnary(ctx, kind);
    const output: DescMessage = method.output;
    routes.set(`/${method.parent.typeName}/${method.name}`, {
      decode: (bytes) => {
        const direct = decodeRequest(kind, bytes);
        if (direct !== undefined) return new DirectRequest(direct, () => fromBinary(method.input, bytes) as never);
        try {
          return fromBinary(method.input, bytes);
        } catch (err) {
          throw new UndecodableRequestError(method.input.typeName, err);
        }
      },
      serve: (request, authorization, carrier) =>
        serve(request as never, authorization, carrier).then((result) => {
          if ("error" in result) return result;
          try {
            const bytes = encodeAnswer(result.answer);
            if (bytes !== undefined) return { response: bytes };
            const message = fromProtocolResponse(result.answer);
            return { response: toBinary(output, isMessage(message, output) ? message : create(output, message as never)) };
          } catch {
            return { error: { code: grpc.status.INTERNAL, details: "Error serializing response" } };
          }
        }),
    });
  }
  return routes;
}
