// TaskService: unary calls straight onto the protocol, plus the worker Poll
// stream bound to engine.poll.

import * as grpc from "@grpc/grpc-js";
import {
  TaskService,
  type TaskServicePollRequest,
  type TaskServicePollResponse,
} from "../../gen/resonate/mesh/v1/task_service_pb.ts";
import { parseAddress } from "../../protocol/address.ts";
import type { ProtocolError } from "../../protocol/types.ts";
import { messageToProto } from "./convert.ts";
import { shuttingDown, unary, type HandlerContext, type OpenStream } from "./handler.ts";
import type { ServiceImplementation } from "./service.ts";
import { toServiceError } from "./status.ts";
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
  const { group, pid } = call.request;
  const started = process.hrtime.bigint();
  const observe = (code: grpc.status) => ctx.observe?.(POLL_PATH, code, Number(process.hrtime.bigint() - started) / 1e9);
  const problem = validatePoll(group, pid);
  if (problem !== undefined) {
    observe(grpc.status.INVALID_ARGUMENT);
    call.emit("error", toServiceError(problem));
    return;
  }

  let open = true;
  const close = (code: grpc.status): boolean => {
    if (!open) return false;
    open = false;
    subscription?.close();
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
  if (!ctx.streams.add(stream)) {
    observe(grpc.status.UNAVAILABLE);
    call.emit("error", toServiceError(shuttingDown));
    return;
  }
  call.on("cancelled", () => close(grpc.status.CANCELLED));
  call.on("error", () => close(grpc.status.UNKNOWN));

  let subscription: { close(): void } | undefined;
  subscription = ctx.engine.poll(group, pid, {
    send: (message) => {
      // A message to a stream that is gone is refused, so the dispatcher parks it for the next worker.
      if (!open || call.cancelled || call.destroyed) return false;
      call.write(messageToProto(message));
      return true;
    },
  });
  if (!open) subscription.close();
  else call.sendMetadata(new grpc.Metadata());
  ctx.logger?.debug({ group, pid }, "worker connected");
}
