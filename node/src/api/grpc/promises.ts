// PromiseService: unary calls straight onto the protocol, plus Watch.

import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  PromiseService,
  PromiseServiceWatchResponseSchema,
  type PromiseServiceWatchRequest,
  type PromiseServiceWatchResponse,
} from "../../gen/resonate/mesh/v1/promise_service_pb.ts";
import type { PromiseRecord, ProtocolError, Request } from "../../protocol/types.ts";
import { authorize, isPrincipal, isRequest } from "../auth.ts";
import { localizeError, promiseToProto } from "./convert.ts";
import { authenticateCall, internalError, shuttingDown, unary, type HandlerContext, type OpenStream } from "./handler.ts";
import type { ServiceImplementation } from "./service.ts";
import { grpcCodeOf, toServiceError } from "./status.ts";
import type { WatchHub } from "./watch.ts";

export function promiseService(ctx: HandlerContext, hub: WatchHub): ServiceImplementation<(typeof PromiseService)["method"]> {
  return {
    get: unary(ctx, "promise.get"),
    create: unary(ctx, "promise.create"),
    settle: unary(ctx, "promise.settle"),
    registerCallback: unary(ctx, "promise.register_callback"),
    registerListener: unary(ctx, "promise.register_listener"),
    search: unary(ctx, "promise.search"),
    watch: (call) => {
      if (ctx.auth === undefined) return watch(ctx, hub, call);
      const started = process.hrtime.bigint();
      authenticateCall(ctx, call.metadata).then(
        (principal) => {
          // Watch reads the promise as promise.get would: the same scope rule.
          const refusal = !isPrincipal(principal)
            ? principal
            : principal.admin
              ? undefined
              : asRefusal(authorize(principal, { kind: "promise.get", data: { id: call.request.id } }));
          // The request names it `id`, as promise.get does: the same field names in the refusal.
          if (refusal === undefined) {
            if (!call.cancelled) watch(ctx, hub, call);
            return;
          }
          ctx.observe?.(WATCH_PATH, grpcCodeOf(refusal), Number(process.hrtime.bigint() - started) / 1e9);
          call.emit("error", toServiceError(refusal));
        },
        (err: unknown) => call.emit("error", internalError(ctx, WATCH_PATH, err)),
      );
    },
  };
}

function asRefusal(result: Request | ProtocolError): ProtocolError | undefined {
  return isRequest(result) ? undefined : localizeError("promise.get", result);
}

const WATCH_PATH = `/${PromiseService.typeName}/${PromiseService.method.watch.name}`;

/**
 * The current record, then the settled one. The hub subscription is taken
 * before the listener is registered, so a settlement in between is not
 * missed; if it arrives before the first record went out, it follows it.
 */
function watch(
  ctx: HandlerContext,
  hub: WatchHub,
  call: grpc.ServerWritableStream<PromiseServiceWatchRequest, PromiseServiceWatchResponse>,
): void {
  const id = call.request.id;
  const started = process.hrtime.bigint();
  let done = false;
  let firstSent = false;
  let settledEarly: PromiseRecord | undefined;

  const cleanup = (code: grpc.status): boolean => {
    if (done) return false;
    done = true;
    unwatch();
    ctx.streams.delete(stream);
    ctx.observe?.(WATCH_PATH, code, Number(process.hrtime.bigint() - started) / 1e9);
    return true;
  };
  const finish = (error?: Partial<grpc.StatusObject> & { code: grpc.status }) => {
    if (!cleanup(error?.code ?? grpc.status.OK)) return;
    if (error) call.emit("error", error);
    else call.end();
  };
  const send = (promise: PromiseRecord) => {
    call.write(create(PromiseServiceWatchResponseSchema, { promise: promiseToProto(promise) }));
  };
  const stream: OpenStream = { shutdown: () => finish(toServiceError(shuttingDown)) };
  const unwatch = hub.watch(id, (promise) => {
    if (done) return;
    if (!firstSent) {
      settledEarly = promise;
      return;
    }
    send(promise);
    finish();
  });
  const refused = ctx.streams.add(stream);
  if (refused !== undefined) return finish(toServiceError(refused));
  call.on("cancelled", () => cleanup(grpc.status.CANCELLED));

  ctx.engine
    .handle({ kind: "promise.register_listener", data: { awaited: id, address: hub.address } })
    .then((answer) => {
      if (done) return;
      if (!("data" in answer)) {
        // The request said `id`; the listener registration calls it `awaited`.
        const rename = (text: string) => text.replace(/^data\.awaited/, "data.id");
        const { field, message } = answer.error;
        const error = localizeError("promise.get", {
          ...answer.error,
          message: rename(message),
          ...(field !== undefined ? { field: rename(field) } : {}),
        });
        return finish(toServiceError(error));
      }
      send(answer.data.promise);
      firstSent = true;
      if (answer.data.promise.state !== "pending") return finish();
      if (settledEarly !== undefined) {
        send(settledEarly);
        finish();
      }
    })
    .catch((err: unknown) => finish(internalError(ctx, WATCH_PATH, err)));
}
