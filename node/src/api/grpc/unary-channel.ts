// A lean client for unary gRPC calls: a few HTTP/2 connections (node:http2),
// one stream per call, the gRPC framing and status rules written out here.
//
// Why not grpc-js for these: its client spends about three times the CPU of
// the HTTP/2 layer beneath it on every call (interceptor and filter chains,
// retry buffers, resolver and load-balancer state, a Metadata object each
// way). The SDK makes one unary call per durable step, so that overhead was
// most of a worker's CPU. @connectrpc/connect-node's gRPC transport (also on
// node:http2) measured higher still: `npm run bench -- --only unary`, column
// "client CPU µs/op". Streams (the worker's Poll, Watch) stay on grpc-js:
// they are few and long-lived, and its reconnection logic is worth having there.
//
// Failures look like grpc-js's (`{code, details, metadata}` with
// `metadata.get(key)`), so callers map them with status.ts unchanged. A call
// that got no answer (connection refused or lost, stream refused by a
// GOAWAY) fails UNAVAILABLE and is not retried here: the caller decides.

import fs from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import * as grpc from "@grpc/grpc-js";

export interface UnaryChannelOptions {
  /**
   * Connections opened at most (default 4). A new one opens only when every
   * open one already carries `callsPerConnection` calls.
   */
  maxConnections?: number;
  /** Calls in flight on each connection before another one is opened (default 16). */
  callsPerConnection?: number;
  /** TLS, trusting the roots grpc-js would (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, else Node's defaults). */
  secure?: boolean;
  /** With `secure`: the CA to trust instead of the default roots, and a client certificate (mTLS), all PEM. */
  tls?: ClientTlsOptions;
  /** Largest response accepted, in bytes (default 64 MiB, as `defaultChannelOptions`). */
  maxReceiveMessageBytes?: number;
  /** Sent as `user-agent`. */
  userAgent?: string;
}

/** PEM contents (not file names) a TLS client uses. */
export interface ClientTlsOptions {
  /** CA certificates that signed the node's certificate (replaces the default roots). */
  ca?: string | Buffer;
  /** Client certificate chain, for a node that requires one (--tls-client-ca). */
  cert?: string | Buffer;
  /** Its private key. */
  key?: string | Buffer;
}

export interface UnaryCallOptions {
  /** Request metadata (ASCII values). */
  metadata?: Readonly<Record<string, string>>;
  /** ms epoch after which the call fails DEADLINE_EXCEEDED (and the server is told by `grpc-timeout`). */
  deadline?: number;
  /** Aborting cancels the call (CANCELLED). */
  signal?: AbortSignal;
}

/** What a failed call rejects with: the shape of grpc-js's ServiceError. */
export interface UnaryCallError extends Error {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
}

const {
  HTTP2_HEADER_AUTHORITY,
  HTTP2_HEADER_CONTENT_TYPE,
  HTTP2_HEADER_METHOD,
  HTTP2_HEADER_PATH,
  HTTP2_HEADER_SCHEME,
  HTTP2_HEADER_STATUS,
  HTTP2_HEADER_TE,
  HTTP2_HEADER_USER_AGENT,
  NGHTTP2_CANCEL,
  NGHTTP2_ENHANCE_YOUR_CALM,
  NGHTTP2_INADEQUATE_SECURITY,
  NGHTTP2_REFUSED_STREAM,
} = http2.constants;

/** Headers that are the transport's, not metadata for the caller. */
const RESERVED = new Set([
  HTTP2_HEADER_STATUS,
  HTTP2_HEADER_CONTENT_TYPE,
  "grpc-status",
  "grpc-message",
  "grpc-encoding",
  "grpc-accept-encoding",
  "date",
]);

const DEFAULT_MAX_RECEIVE = 64 * 1024 * 1024;

export class UnaryChannel {
  private readonly authority: string;
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;
  private readonly tls: ClientTlsOptions;
  private readonly maxReceive: number;
  /** The request headers every call shares. */
  private readonly headers: http2.OutgoingHttpHeaders;
  private readonly maxConnections: number;
  private readonly callsPerConnection: number;
  private connections: Connection[] = [];
  private closed = false;

  /** `address` is `host:port` (IPv6 in brackets). */
  constructor(address: string, options: UnaryChannelOptions = {}) {
    const url = new URL(`http://${address}`);
    this.authority = address;
    this.host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = Number(url.port || 80);
    this.secure = options.secure ?? false;
    this.tls = options.tls ?? {};
    this.maxReceive = options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE;
    this.maxConnections = Math.max(1, options.maxConnections ?? 4);
    this.callsPerConnection = Math.max(1, options.callsPerConnection ?? 16);
    this.headers = {
      [HTTP2_HEADER_METHOD]: "POST",
      [HTTP2_HEADER_SCHEME]: this.secure ? "https" : "http",
      [HTTP2_HEADER_AUTHORITY]: address,
      [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      [HTTP2_HEADER_TE]: "trailers",
      [HTTP2_HEADER_USER_AGENT]: options.userAgent ?? "resonate-mesh",
    };
  }

  /** Call `path` (`/package.Service/Method`) with an encoded request; resolves to the encoded response. */
  call(path: string, request: Uint8Array, options: UnaryCallOptions = {}): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => this.start(path, request, options, resolve, reject));
  }

  private start(
    path: string,
    request: Uint8Array,
    options: UnaryCallOptions,
    resolve: (response: Uint8Array) => void,
    reject: (error: UnaryCallError) => void,
  ): void {
    const remaining = timeLeft(this.closed, options);
    if (typeof remaining === "object") return reject(remaining);

    const headers: http2.OutgoingHttpHeaders = { ...this.headers, [HTTP2_HEADER_PATH]: path };
    if (remaining !== undefined) headers["grpc-timeout"] = grpcTimeout(remaining);
    if (options.metadata !== undefined) Object.assign(headers, options.metadata);

    const connection = this.connect();
    let stream: http2.ClientHttp2Stream;
    try {
      stream = connection.session.request(headers);
    } catch (err) {
      // The session went away between the check and the request (a GOAWAY just arrived).
      this.forget(connection);
      return reject(callError(grpc.status.UNAVAILABLE, `no connection to ${this.authority}: ${messageOf(err)}`));
    }
    connection.hold();
    new PendingCall(stream, connection, this.maxReceive, remaining, options.signal, resolve, reject);
    stream.end(frame(request));
  }

  /** Close the connections once the calls in flight on them have finished; later calls fail. */
  close(): void {
    this.closed = true;
    for (const connection of this.connections) connection.session.close();
    this.connections = [];
  }

  // ------------------------------------------------------------ connection

  /** The least busy open connection, or a new one when all are busy and there is room. */
  private connect(): Connection {
    let best: Connection | undefined;
    for (const connection of this.connections) {
      if (connection.session.closed || connection.session.destroyed) continue;
      if (best === undefined || connection.active < best.active) best = connection;
    }
    if (best !== undefined && (best.active < this.callsPerConnection || this.connections.length >= this.maxConnections)) return best;
    const session = http2.connect(`${this.secure ? "https" : "http"}://${this.authority}`, {
      // Small RPCs must not wait for Nagle's algorithm.
      createConnection: () => (this.secure ? this.tlsSocket() : net.connect({ host: this.host, port: this.port, noDelay: true })),
      // As grpc-js: many concurrent streams must not trip nghttp2's default memory cap.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      settings: { enablePush: false },
    });
    const connection = new Connection(session);
    // Failures reach every stream of the session (kept to say why calls got no answer); the session must not throw.
    session.on("error", (err: Error) => {
      connection.error = err;
    });
    // After a GOAWAY or a drop, new calls open a new connection.
    session.on("goaway", () => this.forget(connection));
    session.on("close", () => this.forget(connection));
    this.connections.push(connection);
    return connection;
  }

  private tlsSocket(): tls.TLSSocket {
    const socket = tls.connect({
      host: this.host,
      port: this.port,
      servername: net.isIP(this.host) === 0 ? this.host : undefined,
      ALPNProtocols: ["h2"],
      ca: this.tls.ca ?? extraRoots(),
      cert: this.tls.cert,
      key: this.tls.key,
    });
    socket.setNoDelay(true);
    return socket;
  }

  private forget(connection: Connection): void {
    this.connections = this.connections.filter((c) => c !== connection);
  }
}

/** One HTTP/2 connection; it keeps the process alive only while calls are in flight on it. */
class Connection {
  /** Calls in flight. */
  active = 0;
  /** Why the connection failed, once it has. */
  error: Error | undefined;

  constructor(readonly session: http2.ClientHttp2Session) {
    session.unref();
  }

  hold(): void {
    if (this.active++ === 0) this.session.ref();
  }

  release(): void {
    if (--this.active === 0 && !this.session.destroyed) this.session.unref();
  }
}

/**
 * One call in flight: collects what the stream delivers and settles the
 * promise when it closes. (Methods rather than closures: this runs once per
 * durable step.)
 */
class PendingCall {
  private responseHeaders: http2.IncomingHttpHeaders | undefined;
  private trailers: http2.IncomingHttpHeaders | undefined;
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private localError: UnaryCallError | undefined;
  private streamError: Error | undefined;
  private done = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    private readonly connection: Connection,
    private readonly maxReceive: number,
    remaining: number | undefined,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (response: Uint8Array) => void,
    private readonly reject: (error: UnaryCallError) => void,
  ) {
    stream.on("response", (headers) => {
      this.responseHeaders = headers;
    });
    stream.on("trailers", (trailers) => {
      this.trailers = trailers;
    });
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    // The outcome is decided on 'close' from what arrived; an error only says why nothing did.
    stream.on("error", (err: Error) => {
      this.streamError = err;
    });
    stream.on("close", () => this.onClose());
    if (remaining !== undefined) {
      this.timer = setTimeout(() => this.fail(callError(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded")), remaining);
    }
    if (signal !== undefined) {
      this.onAbort = () => this.fail(callError(grpc.status.CANCELLED, "Cancelled on client"));
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  private onData(chunk: Buffer): void {
    this.received += chunk.length;
    // 5 bytes of framing around the one message.
    if (this.received > this.maxReceive + 5) {
      this.fail(
        callError(grpc.status.RESOURCE_EXHAUSTED, `Received message larger than max (${this.received - 5} vs. ${this.maxReceive})`),
      );
      return;
    }
    this.chunks.push(chunk);
  }

  /** Stop the call with `error`: closing the stream tells the server (RST_STREAM CANCEL); 'close' settles it. */
  private fail(error: UnaryCallError): void {
    if (this.done) return;
    this.localError = error;
    this.stream.close(NGHTTP2_CANCEL);
  }

  private onClose(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort !== undefined) this.signal?.removeEventListener("abort", this.onAbort);
    this.connection.release();
    if (this.localError !== undefined) return this.reject(this.localError);
    const { session, error } = this.connection;
    const failure = session.destroyed ? (this.streamError ?? error ?? null) : undefined;
    const outcome = settle(this.responseHeaders, this.trailers, this.chunks, this.stream.rstCode, failure);
    if (outcome instanceof Uint8Array) this.resolve(outcome);
    else this.reject(outcome);
  }
}

let roots: Buffer[] | undefined | null = null;

/** As grpc-js: the file GRPC_DEFAULT_SSL_ROOTS_FILE_PATH names replaces the default roots; otherwise Node's defaults. */
export function extraRoots(): Buffer[] | undefined {
  if (roots === null) {
    const file = process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH;
    roots = file ? [fs.readFileSync(file)] : undefined;
  }
  return roots;
}

/** The 5-byte gRPC message prefix (uncompressed, length) and the message. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** `grpc-timeout`: at most 8 digits, in the finest unit that fits. */
export function grpcTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  if (whole < 1e8) return `${whole}m`;
  const seconds = Math.ceil(whole / 1000);
  if (seconds < 1e8) return `${seconds}S`;
  return `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}

/** The call's outcome from what arrived: the response message, or the error. */
export function settle(
  headers: http2.IncomingHttpHeaders | undefined,
  trailers: http2.IncomingHttpHeaders | undefined,
  chunks: Buffer[],
  rstCode: number | undefined,
  /** Set when the connection is gone: why (null when it closed without an error). */
  connectionFailure: Error | null | undefined,
): Uint8Array | UnaryCallError {
  // A Trailers-Only answer (every error our node sends) carries the status in the headers.
  const statusFrom = trailers?.["grpc-status"] !== undefined ? trailers : headers?.["grpc-status"] !== undefined ? headers : undefined;
  if (statusFrom === undefined) {
    if (headers === undefined || trailers === undefined) return noAnswer(headers, rstCode, connectionFailure);
    return callError(grpc.status.UNKNOWN, "the server sent no grpc-status", metadataOf(headers, trailers));
  }
  const code = Number(statusFrom["grpc-status"]);
  if (code !== grpc.status.OK) {
    return callError(
      Number.isInteger(code) && code >= 0 && code <= 16 ? code : grpc.status.UNKNOWN,
      decodeMessage(statusFrom["grpc-message"]),
      metadataOf(headers, trailers),
    );
  }
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  if (body.length < 5) return callError(grpc.status.INTERNAL, "the server sent no response message");
  if (body[0] !== 0) return callError(grpc.status.INTERNAL, "the server sent a compressed message the client did not ask for");
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) return callError(grpc.status.INTERNAL, "the response is not exactly one gRPC message");
  return body.subarray(5);
}

/** The stream ended without a gRPC status: why, as grpc-js reports it. */
function noAnswer(
  headers: http2.IncomingHttpHeaders | undefined,
  rstCode: number | undefined,
  connectionFailure: Error | null | undefined,
): UnaryCallError {
  const http = headers?.[HTTP2_HEADER_STATUS];
  if (http !== undefined && Number(http) !== 200) {
    return callError(httpStatusToGrpc(Number(http)), `Received HTTP status code ${http}`);
  }
  switch (rstCode) {
    case NGHTTP2_REFUSED_STREAM:
      return callError(grpc.status.UNAVAILABLE, "Stream refused by server");
    case NGHTTP2_CANCEL:
      // A connection that went away cancels its streams (a TLS server that refused the client certificate just closes).
      if (connectionFailure) return callError(grpc.status.UNAVAILABLE, `No connection: ${connectionFailure.message}`);
      if (connectionFailure === null) return callError(grpc.status.UNAVAILABLE, "Connection dropped");
      return callError(grpc.status.CANCELLED, "Call cancelled");
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return callError(grpc.status.RESOURCE_EXHAUSTED, "Bandwidth exhausted or memory limit exceeded");
    case NGHTTP2_INADEQUATE_SECURITY:
      return callError(grpc.status.PERMISSION_DENIED, "Protocol not secure enough");
    default:
      // No connection (refused, dropped) is no answer; a stream the server reset on a live connection is its failure.
      if (connectionFailure) return callError(grpc.status.UNAVAILABLE, `No connection: ${connectionFailure.message}`);
      if (connectionFailure === null || !rstCode) return callError(grpc.status.UNAVAILABLE, "Connection dropped");
      return callError(grpc.status.INTERNAL, `Received RST_STREAM with code ${rstCode}`);
  }
}

// https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md
function httpStatusToGrpc(status: number): grpc.status {
  switch (status) {
    case 400:
      return grpc.status.INTERNAL;
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 403:
      return grpc.status.PERMISSION_DENIED;
    case 404:
      return grpc.status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return grpc.status.UNAVAILABLE;
    default:
      return grpc.status.UNKNOWN;
  }
}

function metadataOf(...sources: (http2.IncomingHttpHeaders | undefined)[]): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const source of sources) {
    for (const [key, value] of Object.entries(source ?? {})) {
      if (key.startsWith(":") || RESERVED.has(key) || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) {
        if (key.endsWith("-bin")) metadata.add(key, Buffer.from(v, "base64"));
        else metadata.add(key, v);
      }
    }
  }
  return metadata;
}

/** grpc-message is percent-encoded. */
function decodeMessage(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The milliseconds a call has before its deadline (undefined: no deadline),
 * or the error that refuses it before it starts: the channel is closed, its
 * signal already aborted, or its deadline past.
 */
export function timeLeft(closed: boolean, options: UnaryCallOptions): number | undefined | UnaryCallError {
  if (closed) return callError(grpc.status.UNAVAILABLE, "the channel is closed");
  if (options.signal?.aborted) return callError(grpc.status.CANCELLED, "Cancelled on client");
  const remaining = options.deadline === undefined ? undefined : options.deadline - Date.now();
  if (remaining !== undefined && remaining <= 0) return callError(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded");
  return remaining;
}

export function callError(code: grpc.status, details: string, metadata = new grpc.Metadata()): UnaryCallError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
