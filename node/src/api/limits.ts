// Every limit the server side of a node enforces to protect itself from its
// clients, with its default, in one place: the CLI's flags (serve.ts), the
// README's "Limits" table and the tests all name these fields.

export interface ServerLimits {
  /** Web origins whose pages may call the node (exact `scheme://host[:port]`, or "*"). */
  allowedOrigins: string[];
  /** TCP connections held at once (HTTP/1.1 and HTTP/2); one more is refused. */
  maxConnections: number;
  /** Time allowed to send a request's headers (HTTP/1.1); then 408 and the socket is closed. */
  headersTimeoutMs: number;
  /** Time allowed to send a whole request, body included (HTTP/1.1); then 408 and the socket is closed. */
  requestTimeoutMs: number;
  /** Largest request head (HTTP/1.1); larger gets 431 and the socket is closed. */
  maxHeaderBytes: number;
  /** Largest request body on POST / (HTTP/1.1); larger gets 413 and the socket is closed. */
  maxBodyBytes: number;
  /** An HTTP/2 connection with no call or stream open for this long is closed (pings do not count). */
  http2IdleTimeoutMs: number;
  /** gRPC Poll and Watch streams held at once; one more is refused RESOURCE_EXHAUSTED. */
  maxGrpcStreams: number;
  /** SSE worker streams held at once; one more is answered 503. */
  maxSseStreams: number;
  /** Bytes queued for one slow stream (Poll, Watch, SSE) before it is cut and its work goes back to dispatch. */
  maxQueuedBytesPerStream: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  allowedOrigins: [],
  maxConnections: 10_000,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 8 * 1024 * 1024,
  http2IdleTimeoutMs: 5 * 60_000,
  maxGrpcStreams: 1_000,
  maxSseStreams: 1_000,
  maxQueuedBytesPerStream: 16 * 1024 * 1024,
});

export function resolveServerLimits(limits: Partial<ServerLimits> = {}): ServerLimits {
  const out = { ...DEFAULT_SERVER_LIMITS, allowedOrigins: [...DEFAULT_SERVER_LIMITS.allowedOrigins] };
  for (const [key, value] of Object.entries(limits) as [keyof ServerLimits, unknown][]) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}
