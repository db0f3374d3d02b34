// A node over gRPC, through the node package's client (the one the CLI uses
// too): unary calls per request kind, the worker's `Poll` stream for
// messages. The stream reconnects with jittered backoff for as long as it is
// wanted; every (re)connection is reported so the client registers its
// listeners again and no `unblock` is missed.

import type { Logger } from "pino";
import { endpointOf, GrpcStatus, NodeClient, type ClientTlsOptions, type OpenStream } from "@resonate-mesh/node/client";
import type { Kind, Message, RequestOf, Response } from "@resonate-mesh/node/protocol";
import { TransportError, type Transport } from "./types.ts";

export interface GrpcTransportOptions {
  /** http://host:port (plaintext) or https://host:port (TLS). */
  url: string;
  token?: string;
  /** With an https:// url: the CA to trust and a client certificate (PEM contents). */
  tls?: ClientTlsOptions;
  logger: Logger;
  /** Deadline of each unary call (default 30 s); a call past it is UNAVAILABLE and retried by the client. */
  requestTimeoutMs?: number;
  /** Longest pause between reconnection attempts of the Poll stream (default 5 s). */
  maxReconnectDelayMs?: number;
  /** While the node stays unreachable, one warning per this many ms at most (default 30 s). */
  reconnectLogEveryMs?: number;
}

/**
 * The pause before reconnection attempt `n` (1-based): exponential from
 * 100 ms, capped, with "equal jitter" (half fixed, half random) so a fleet of
 * workers that lost the same node does not reconnect in lockstep.
 */
export function reconnectDelay(attempt: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, 100 * 2 ** Math.min(attempt - 1, 20));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

// gRPC statuses with which the node refuses a worker's stream outright (as opposed to losing it).
const REFUSED = new Set([GrpcStatus.INVALID_ARGUMENT, GrpcStatus.UNAUTHENTICATED, GrpcStatus.PERMISSION_DENIED]);

export class GrpcTransport implements Transport {
  readonly mode = "remote" as const;
  private readonly client: NodeClient;
  private readonly logger: Logger;
  private readonly address: string;
  private readonly maxReconnectDelayMs: number;
  private readonly reconnectLogEveryMs: number;
  private readonly streams = new Set<() => void>();
  private closed = false;

  constructor(options: GrpcTransportOptions) {
    const { address, secure } = endpointOf(options.url);
    this.client = new NodeClient({
      address,
      secure,
      tls: options.tls,
      token: options.token,
      requestTimeoutMs: options.requestTimeoutMs,
      userAgent: "resonate-mesh-sdk",
      maxReconnectDelayMs: options.maxReconnectDelayMs,
      noAnswer: (err) => new TransportError(err.message, { cause: err }),
    });
    this.address = address;
    this.logger = options.logger;
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? 5_000;
    this.reconnectLogEveryMs = options.reconnectLogEveryMs ?? 30_000;
  }

  send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    if (this.closed) return Promise.reject(new TransportError(`${request.kind}: the transport is closed`));
    // Every durable step comes through here: the client's promise as it is (it rejects with TransportError).
    return this.client.send(request);
  }

  /**
   * The stream is retried for as long as it is wanted, never given up: a node
   * restart or a rolling deploy must not empty the worker fleet. The pending
   * reconnection timer is deliberately not unref'd, so an idle worker whose
   * node is gone stays alive (and reconnects) instead of exiting with 0.
   */
  subscribe(group: string, pid: string, onMessage: (message: Message) => void, onReconnect?: () => void): () => void {
    let wanted = true;
    let stream: OpenStream | undefined;
    let timer: NodeJS.Timeout | undefined;
    /** Failed attempts since the stream was last up. */
    let failures = 0;
    let downSince = 0;
    let lastWarned = 0;

    const retry = (why: string) => {
      failures++;
      const now = Date.now();
      if (failures === 1) downSince = now;
      const delay = reconnectDelay(failures, this.maxReconnectDelayMs);
      // One line when the node goes away, then one per reconnectLogEveryMs while it stays away.
      if (failures === 1 || now - lastWarned >= this.reconnectLogEveryMs) {
        lastWarned = now;
        this.logger.warn(
          { group, pid, node: this.address, attempts: failures, downMs: now - downSince },
          `the node at ${this.address} is unreachable (${why}); reconnecting every ${this.maxReconnectDelayMs} ms at most, for as long as this worker runs`,
        );
      } else {
        this.logger.debug({ group, pid, why, delay, attempts: failures }, "poll stream closed; reconnecting");
      }
      timer = setTimeout(open, delay);
    };

    const open = () => {
      timer = undefined;
      if (!wanted || this.closed) return;
      stream = this.client.poll(group, pid, {
        // The node sends headers once this worker is registered: from then on nothing is missed.
        onOpen: () => {
          if (failures > 0) {
            this.logger.warn(
              { group, pid, node: this.address, attempts: failures, downMs: Date.now() - downSince },
              `reconnected to the node at ${this.address} after ${failures} attempts`,
            );
          }
          failures = 0;
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
          retry(err?.details ?? "end");
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
