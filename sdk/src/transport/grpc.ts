// A node over gRPC, through the node package's client (the one the CLI uses
// too): unary calls per request kind, the worker's `Poll` stream for
// messages. The stream reconnects with backoff for as long as it is wanted;
// every (re)connection is reported so the client registers its listeners
// again and no `unblock` is missed.

import type { Logger } from "pino";
import { endpointOf, GrpcStatus, NoAnswerError, NodeClient, type OpenStream } from "@resonate-mesh/node/client";
import type { Kind, Message, RequestOf, Response } from "@resonate-mesh/node/protocol";
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
}

// gRPC statuses with which the node refuses a worker's stream outright (as opposed to losing it).
const REFUSED = new Set([GrpcStatus.INVALID_ARGUMENT, GrpcStatus.UNAUTHENTICATED, GrpcStatus.PERMISSION_DENIED]);

export class GrpcTransport implements Transport {
  readonly mode = "remote" as const;
  private readonly client: NodeClient;
  private readonly logger: Logger;
  private readonly maxReconnectDelayMs: number;
  private readonly streams = new Set<() => void>();
  private closed = false;

  constructor(options: GrpcTransportOptions) {
    const { address, secure } = endpointOf(options.url);
    this.client = new NodeClient({
      address,
      secure,
      token: options.token,
      requestTimeoutMs: options.requestTimeoutMs,
      userAgent: "resonate-mesh-sdk",
    });
    this.logger = options.logger;
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? 5_000;
  }

  async send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    if (this.closed) throw new TransportError(`${request.kind}: the transport is closed`);
    try {
      return await this.client.send(request);
    } catch (err) {
      if (err instanceof NoAnswerError) throw new TransportError(err.message, { cause: err });
      throw err;
    }
  }

  subscribe(group: string, pid: string, onMessage: (message: Message) => void, onReconnect?: () => void): () => void {
    let wanted = true;
    let stream: OpenStream | undefined;
    let timer: NodeJS.Timeout | undefined;
    let delay = 100;

    const open = () => {
      timer = undefined;
      if (!wanted || this.closed) return;
      stream = this.client.poll(group, pid, {
        // The node sends headers once this worker is registered: from then on nothing is missed.
        onOpen: () => {
          delay = 100;
          onReconnect?.();
        },
        onData: onMessage,
        onMalformed: (err) => this.logger.warn({ err }, "dropping a malformed message from the node"),
        onEnd: (err) => {
          stream = undefined;
          if (!wanted || this.closed) return;
          if (err !== undefined && REFUSED.has(err.code)) {
            this.logger.error({ group, pid, err: err.details }, "the node refused this worker's stream");
          }
          this.logger.debug({ group, pid, why: err?.details ?? "end", delay }, "poll stream closed; reconnecting");
          timer = setTimeout(open, delay);
          timer.unref();
          delay = Math.min(delay * 2, this.maxReconnectDelayMs);
        },
      });
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
    this.client.close();
  }
}
