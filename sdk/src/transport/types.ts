// How the SDK reaches a node: one request at a time in protocol types, and a
// stream of messages for this worker. Local mode and gRPC implement the same
// interface, so the SDK has one code path.

import type {
  Kind,
  Message,
  PromiseCreateRequest,
  PromiseSettleRequest,
  RequestOf,
  Response,
  TaskRef,
} from "@resonate-mesh/node/protocol";

export interface Transport {
  /** "local" runs an in-process node; "remote" talks to one over the network. */
  readonly mode: "local" | "remote";
  /**
   * Send one request and get its answer. Protocol refusals (404, 409, ...) are
   * answers; only a failure to get an answer at all rejects (TransportError).
   * Every kind goes through here, `task.fence_batch` included (see fenceBatch).
   */
  send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>>;
  /**
   * Receive `execute` and `unblock` messages for (group, pid) until the
   * returned function is called. A remote transport reconnects on its own and
   * calls `onReconnect` after each reconnection, so the caller can re-register
   * what it waits for.
   */
  subscribe(group: string, pid: string, onMessage: (message: Message) => void, onReconnect?: () => void): () => void;
  close(): Promise<void>;
}

/** No answer from the node (unreachable, connection dropped, deadline passed). */
export class TransportError extends Error {
  readonly code = "UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransportError";
  }
}

/** Most writes one task.fence_batch may carry. */
export { MAX_FENCE_BATCH } from "@resonate-mesh/node/protocol";

/**
 * Several fenced writes of a held task in one round trip and one store commit
 * (`task.fence_batch`, our extension; over gRPC TaskService.FenceBatch): the
 * fence is checked once, the writes run in order as separate task.fence
 * calls would and commit together, and each gets its answer in order (a
 * refused write is an error in its slot). A failed fence or one malformed
 * write is the answer of the whole call, and nothing is written. Both
 * transports carry it through `send`; this names the call for the replay
 * core, whose commands of one turn are the natural batch.
 */
export function fenceBatch(
  transport: Pick<Transport, "send">,
  task: TaskRef,
  actions: (PromiseCreateRequest | PromiseSettleRequest)[],
): Promise<Response<"task.fence_batch">> {
  return transport.send({ kind: "task.fence_batch", data: { id: task.id, version: task.version, actions } });
}
