// How the SDK reaches a node: one request at a time in protocol types, and a
// stream of messages for this worker. Local mode and gRPC implement the same
// interface, so the SDK has one code path.

import type { Kind, Message, RequestOf, Response } from "@resonate-mesh/node/protocol";

export interface Transport {
  /** "local" runs an in-process node; "remote" talks to one over the network. */
  readonly mode: "local" | "remote";
  /**
   * Send one request and get its answer. Protocol refusals (404, 409, ...) are
   * answers; only a failure to get an answer at all rejects (TransportError).
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
