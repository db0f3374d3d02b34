// What the API adapters (gRPC, JSON envelope) and the SDK's local mode call.
// One implementation (mesh/node.ts) runs every request through the protocol
// functions against a store; the adapters only translate wire formats.

import type { Kind, Message, RequestOf, Response } from "../protocol/types.ts";

/** A connected worker's inbox (a gRPC Poll stream, an SSE stream, an in-process callback). */
export interface WorkerSink {
  /** Deliver one message; false when the sink is closed and the message was not taken. */
  send(message: Message): boolean;
  /**
   * Whether this worker may be given `message` at all (a worker whose token is
   * scoped to one tenant takes only that tenant's work). A refused message goes
   * to another worker or waits; the worker stays attached. Absent: everything.
   */
  accepts?(message: Message): boolean;
}

export interface Subscription {
  /** Detach the worker; `undelivered` messages (taken but never sent, e.g. a stream cut for reading too slowly) go to dispatch again. */
  close(undelivered?: readonly Message[]): void;
}

export interface Engine {
  /** Run one request: validate, read, transition, compare-and-set, dispatch. */
  handle<K extends Kind>(request: RequestOf<K>): Promise<Response<K>>;
  /** Attach a worker of `group` with process id `pid`; undelivered work for it goes out at once. */
  poll(group: string, pid: string, sink: WorkerSink): Subscription;
}
