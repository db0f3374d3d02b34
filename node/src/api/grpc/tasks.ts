// TaskService: unary calls straight onto the protocol, plus the worker Poll
// stream bound to engine.poll.

import * as grpc from "@grpc/grpc-js";
import {
  TaskService,
  type TaskServicePollRequest,
  type TaskServicePollResponse,
} from "../../gen/resonate/mesh/v1/task_service_pb.ts";
import { parseAddress } from "../../protocol/address.ts";
import type { Message, ProtocolError } from "../../protocol/types.ts";
import type { Subscription } from "../../mesh/engine.ts";
import { isPrincipal, mayPoll, mayReceive, OPEN, type Principal } from "../auth.ts";
import { OutboundBound } from "../outbound.ts";
import { messageToProto } from "./convert.ts";
import { authenticateCall, internalError, shuttingDown, unary, type HandlerContext, type OpenStream } from "./handler.ts";
import type { ServiceImplementation } from "./service.ts";
import { grpcCodeOf, toServiceError } from "./status.ts";
import { RESERVED_GROUP_PREFIX } from "./watch.ts";

export function taskService(ctx: HandlerContext): ServiceImplementation<(typeof TaskService)["method"]> {
  return {
    create: unary(ctx, "task.create"),
    acquire: unary(ctx, "task.acquire"),
    suspend: unary(ctx, "task.suspend"),
    fulfill: unary(ctx, "task.fulfill"),
    release: unary(ctx, "task.release"),
    fence: unary(ctx, "task.fence"),
    fenceBatch: unary(ctx, "task.fence_batch"),
    heartbeat: unary(ctx, "task.heartbeat"),
    get: unary(ctx, "task.get"),
    halt: unary(ctx, "task.halt"),
    continue: unary(ctx, "task.continue"),
    search: unary(ctx, "task.search"),
    poll: (call) => poll(ctx, call),
  };
}

const POLL_PATH = `/${TaskService.typeName}/${TaskService.method.poll.name}`;

function invalid(field: string, rule: string): ProtocolError {
  return { status: 400, code: "INVALID_ARGUMENT", field, message: `${field} ${rule}` };
}

/** group and pid become the worker's addresses, so they follow the address rules. */
export function validatePoll(group: string, pid: string): ProtocolError | undefined {
  if (group === "") return invalid("group", "must not be empty");
  if (pid === "") return invalid("pid", "must not be empty");
  if (group.startsWith(RESERVED_GROUP_PREFIX)) {
    return invalid("group", `must not start with "${RESERVED_GROUP_PREFIX}", which is reserved for the node itself, got "${group}"`);
  }
  const groupOk = parseAddress(`poll://any@${group}`);
  if (typeof groupOk === "string" || groupOk.scheme !== "poll" || groupOk.group !== group || groupOk.pid !== undefined) {
    return invalid("group", `must be letters, digits, '-', '_', '.', '~' or ':' (a valid address part), got ${JSON.stringify(group)}`);
  }
  const pidOk = parseAddress(`poll://uni@${group}/${pid}`);
  if (typeof pidOk === "string") {
    return invalid("pid", `must be letters, digits, '-', '_', '.', '~' or ':' (a valid address part), got ${JSON.stringify(pid)}`);
  }
  return undefined;
}

/**
 * The worker inbox. Response headers go out once the worker is registered
 * (clients may wait for them before registering listeners); the
 * subscription closes when the client cancels or the connection drops.
 */
function poll(ctx: HandlerContext, call: grpc.ServerWritableStream<TaskServicePollRequest, TaskServicePollResponse>): void {
  const started = process.hrtime.bigint();
  if (ctx.auth === undefined) return attach(ctx, call, OPEN, started);
  authenticateCall(ctx, call.metadata).then(
    (principal) => {
      const refusal = isPrincipal(principal) ? mayPoll(principal) : principal;
      if (refusal === undefined) {
        if (!call.cancelled) attach(ctx, call, principal as Principal, started);
        return;
      }
      ctx.observe?.(POLL_PATH, grpcCodeOf(refusal), Number(process.hrtime.bigint() - started) / 1e9);
      call.emit("error", toServiceError(refusal));
    },
    (err: unknown) => call.emit("error", internalError(ctx, POLL_PATH, err)),
  );
}

function attach(
  ctx: HandlerContext,
  call: grpc.ServerWritableStream<TaskServicePollRequest, TaskServicePollResponse>,
  principal: Principal,
  started: bigint,
): void {
  const { group, pid } = call.request;
  const observe = (code: grpc.status) => ctx.observe?.(POLL_PATH, code, Number(process.hrtime.bigint() - started) / 1e9);
  const problem = validatePoll(group, pid);
  if (problem !== undefined) {
    observe(grpc.status.INVALID_ARGUMENT);
    call.emit("error", toServiceError(problem));
    return;
  }

  let open = true;
  /** Messages to give back to dispatch when the stream was cut before poll() returned. */
  let giveBack: Message[] | undefined;
  const close = (code: grpc.status, undelivered?: readonly Message[]): boolean => {
    if (!open) return false;
    open = false;
    subscription?.close(undelivered);
    ctx.streams.delete(stream);
    observe(code);
    ctx.logger?.debug({ group, pid, code: grpc.status[code] }, "worker disconnected");
    return true;
  };
  const stream: OpenStream = {
    shutdown: () => {
      if (close(grpc.status.UNAVAILABLE)) call.emit("error", toServiceError(shuttingDown));
    },
  };
  const refused = ctx.streams.add(stream);
  if (refused !== undefined) {
    const error = toServiceError(refused);
    observe(error.code);
    call.emit("error", error);
    return;
  }
  call.on("cancelled", () => close(grpc.status.CANCELLED));
  call.on("error", () => close(grpc.status.UNKNOWN));

  const maxQueuedBytes = ctx.maxQueuedBytesPerStream ?? 16 * 1024 * 1024;
  const bound = new OutboundBound(maxQueuedBytes);
  const onDrain = () => bound.drained();
  /** The worker stopped reading: free what is queued for it and let other workers have its messages. */
  const cutSlowReader = () => {
    const undelivered = bound.undelivered();
    ctx.logger?.warn(
      { group, pid, maxQueuedBytes, messages: undelivered.length },
      `worker stream cut: it did not read its messages (over ${maxQueuedBytes} bytes queued); they go to other workers`,
    );
    ctx.onSlowReader?.();
    if (subscription === undefined) giveBack = undelivered;
    if (close(grpc.status.RESOURCE_EXHAUSTED, undelivered)) {
      call.emit(
        "error",
        toServiceError({
          status: 429,
          code: "RESOURCE_EXHAUSTED",
          message: `this worker's stream was cut: it left more than ${maxQueuedBytes} bytes of messages unread; reconnect and read promptly`,
        }),
      );
    }
  };

  let subscription: Subscription | undefined;
  subscription = ctx.engine.poll(group, pid, {
    send: (message) => {
      // A message to a stream that is gone is refused, so the dispatcher parks it for the next worker.
      if (!open || call.cancelled || call.destroyed) return false;
      if (!bound.admit(message)) {
        cutSlowReader();
        return false;
      }
      const accepted = call.write(messageToProto(message));
      bound.wrote(message, accepted);
      if (!accepted && call.listenerCount("drain") === 0) call.once("drain", onDrain);
      return true;
    },
    // A scoped token's worker gets only its own tenant's work, whatever group it shares.
    ...(principal.admin ? {} : { accepts: (message: Message) => mayReceive(principal, message) }),
  });
  if (!open) subscription.close(giveBack);
  else call.sendMetadata(new grpc.Metadata());
  ctx.logger?.debug({ group, pid }, "worker connected");
}
