// One port for everything: a TCP listener that looks at the first bytes of
// each connection. A connection that opens with the HTTP/2 client preface
// (`PRI * HTTP/2.0`) is gRPC and goes to grpc-js; anything else is HTTP/1.1
// (the JSON envelope protocol, SSE, probes, metrics). Clients need no second
// port and no TLS-ALPN; gRPC clients connect with prior knowledge (plaintext
// h2), as grpcurl -plaintext and grpc-js do. With `tls` the port serves TLS
// only: a connection that opens with a TLS record is handed to api/tls.ts,
// which routes by ALPN once the handshake is done; any other is refused with
// a sentence.

import http from "node:http";
import net from "node:net";
import type { Logger } from "pino";
import { withAuthMetrics, type Authenticator } from "./auth.ts";
import { DEFAULT_HOST, DEFAULT_PORT } from "./defaults.ts";
import { createGrpcServer, type GrpcServer } from "./grpc/server.ts";
import type { EnvelopeOptions } from "./http/envelope.ts";
import { isLoopbackInterface } from "./http/guard.ts";
import { createRouter } from "./http/router.ts";
import type { SseOptions } from "./http/sse.ts";
import { resolveServerLimits, type ServerLimits } from "./limits.ts";
import { createMetrics, type EngineWithStats, type RefusalReason } from "./metrics.ts";
import { createTlsTerminator, isTlsRecordStart, PLAINTEXT_HTTP_REFUSAL, refusePlaintextGrpc, type TlsOptions, type TlsTerminator } from "./tls.ts";

export { DEFAULT_HOST, DEFAULT_PORT };

export interface ServerOptions {
  engine: EngineWithStats;
  /** Default 8001; 0 picks a free port (see `port` of the result). */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. Use 0.0.0.0 (or ::) to accept remote clients. */
  host?: string;
  logger?: Logger;
  /** GET /ready is 200 while this returns true (and the server is not closing). Default: always. */
  ready?: () => boolean;
  /** How long close() lets calls in flight finish before cutting them. Default 10 s. */
  shutdownGraceMs?: number;
  /** A connection that sends nothing for this long is closed before it is classified. Default 30 s. */
  firstByteTimeoutMs?: number;
  envelope?: EnvelopeOptions;
  sse?: SseOptions;
  /** Verifies bearer tokens on gRPC, the JSON envelope and SSE; absent, the node is open to every caller. */
  auth?: Authenticator;
  /** What the server holds and accepts from its clients (api/limits.ts; defaults there). */
  limits?: Partial<ServerLimits>;
  /** Serve TLS only (api/tls.ts): ALPN h2 is gRPC, anything else HTTP/1.1; cleartext clients are refused with a sentence. */
  tls?: TlsOptions;
}

export interface RunningServer {
  /** The port listened on (the real one when 0 was asked). */
  readonly port: number;
  readonly host: string;
  /** `host:port`, as gRPC clients dial it. */
  readonly address: string;
  /** Whether clients must connect with TLS (https://). */
  readonly secure: boolean;
  /** Stop accepting, end streams, drain calls (up to the grace period), then close. */
  close(): Promise<void>;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Is this the start of the HTTP/2 preface (true), not it (false), or too short to tell (undefined)? */
export function classifyFirstBytes(bytes: Buffer): boolean | undefined {
  const n = Math.min(bytes.length, PREFACE.length);
  if (!bytes.subarray(0, n).equals(PREFACE.subarray(0, n))) return false;
  return n === PREFACE.length ? true : undefined;
}

/** A complete HTTP/1.1 answer with a JSON `{error}` body, for a socket that has no response object. */
function httpAnswer(status: number, message: string): string {
  const body = JSON.stringify({ error: message });
  return (
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ""}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** What to answer when node's HTTP parser gives up on a connection (timeouts, oversized heads, garbage). */
function clientErrorResponse(err: NodeJS.ErrnoException, limits: ServerLimits): { text: string; reason?: RefusalReason } {
  switch (err.code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return {
        // Node reports both deadlines with this code.
        text: httpAnswer(
          408,
          `the request was not received in time (headers within ${Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs)} ms, ` +
            `all of it within ${limits.requestTimeoutMs} ms); send requests at once`,
        ),
        reason: "request_timeout",
      };
    case "ERR_HTTP_HEADERS_TIMEOUT":
      return {
        text: httpAnswer(408, `the request headers were not received within ${Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs)} ms`),
        reason: "header_timeout",
      };
    case "HPE_HEADER_OVERFLOW":
      return {
        text: httpAnswer(431, `the request head is larger than the limit of ${limits.maxHeaderBytes} bytes`),
        reason: "headers_too_large",
      };
    default:
      return { text: httpAnswer(400, `the request is not valid HTTP/1.1 (${err.code ?? err.message})`) };
  }
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { engine, logger } = options;
  const host = options.host ?? DEFAULT_HOST;
  const graceMs = options.shutdownGraceMs ?? 10_000;
  const firstByteTimeoutMs = options.firstByteTimeoutMs ?? 30_000;
  let closing = false;
  const limits = resolveServerLimits(options.limits);

  const metrics = withAuthMetrics(createMetrics(engine), options.auth);
  const grpcServer: GrpcServer = createGrpcServer({
    engine,
    logger,
    observe: metrics.observeGrpc,
    auth: options.auth,
    ready: options.ready,
    idleTimeoutMs: limits.http2IdleTimeoutMs,
    maxStreams: limits.maxGrpcStreams,
    maxQueuedBytesPerStream: limits.maxQueuedBytesPerStream,
    onRefused: metrics.refused,
  });
  const router = createRouter({
    engine,
    metrics,
    logger,
    ready: () => !closing && (options.ready?.() ?? true),
    envelope: { maxBodyBytes: limits.maxBodyBytes, ...options.envelope, auth: options.auth },
    sse: {
      maxConnections: limits.maxSseStreams,
      maxQueuedBytes: limits.maxQueuedBytesPerStream,
      onSlowReader: () => metrics.refused("slow_reader"),
      ...options.sse,
      auth: options.auth,
    },
    // A node on loopback serves this machine only: a foreign Host is a DNS-rebinding page.
    access: { allowedOrigins: limits.allowedOrigins, loopbackHostsOnly: isLoopbackInterface(host) },
  });
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  const httpServer = http.createServer(
    {
      keepAliveTimeout: 65_000,
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // Node checks these timeouts only this often (30 s by default), which made a 20 s limit a 50 s one.
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(headersTimeout / 4))),
    },
    router,
  );
  // This server never listens itself (it gets sockets from the listener below), but node only
  // tracks connections (request timeouts, closeIdleConnections) once 'listening' fires.
  httpServer.emit("listening");
  httpServer.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    const refusal = clientErrorResponse(err, limits);
    if (refusal.reason !== undefined) metrics.refused(refusal.reason);
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // end() alone only half-closes: a client that never closes its side would hold the socket
    // (and its file descriptor) forever. Close it fully once the answer is out.
    socket.end(refusal.text, () => socket.destroy());
    setTimeout(() => socket.destroy(), 1_000).unref();
  });
  metrics.gauge("resonate_server_connections", "TCP connections open now (HTTP/1.1 and HTTP/2).", () => sockets.size);
  metrics.gauge("resonate_server_grpc_streams", "gRPC Poll and Watch streams open now.", () => grpcServer.openStreams);

  const sockets = new Set<net.Socket>();

  // ---- TLS: the handshake first, then the protocol ALPN chose; cleartext is refused with a sentence.
  const tls: TlsTerminator | undefined =
    options.tls === undefined
      ? undefined
      : createTlsTerminator(
          options.tls,
          (secure, protocol) => {
            if (protocol === "grpc") grpcServer.injectConnection(secure);
            else httpServer.emit("connection", secure);
          },
          logger,
        );
  const routeWithTls = (socket: net.Socket, first: Buffer, isHttp2: boolean) => {
    if (isTlsRecordStart(first[0] as number)) {
      tls?.accept(socket);
    } else if (isHttp2) {
      refusePlaintextGrpc(socket);
    } else {
      socket.on("error", () => socket.destroy());
      socket.end(httpAnswer(400, PLAINTEXT_HTTP_REFUSAL), () => socket.destroy());
      setTimeout(() => socket.destroy(), 1_000).unref();
    }
  };
  // ----
  // noDelay: RPCs are small writes that must not wait for Nagle's algorithm (tens of ms per call).
  let lastCapWarning = 0;
  const listener = net.createServer({ noDelay: true }, (socket) => {
    if (sockets.size >= limits.maxConnections) {
      metrics.refused("connections");
      if (Date.now() - lastCapWarning > 10_000) {
        lastCapWarning = Date.now();
        logger?.warn({ maxConnections: limits.maxConnections }, "connection refused: the node holds its maximum of connections");
      }
      // The protocol is not known yet; HTTP/1.1 clients read this sentence, gRPC ones see the connection close.
      socket.on("error", () => socket.destroy());
      socket.end(
        httpAnswer(503, `this node holds its maximum of ${limits.maxConnections} connections (--max-connections); retry later or connect to another node`),
        () => socket.destroy(),
      );
      setTimeout(() => socket.destroy(), 1_000).unref();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), firstByteTimeoutMs);
    timer.unref();
    const onError = () => socket.destroy();
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      // A TLS handshake is told by its first byte; only a cleartext one needs the HTTP/2 preface compared.
      const isHttp2 = tls !== undefined && isTlsRecordStart(seen[0] as number) ? false : classifyFirstBytes(seen);
      if (isHttp2 === undefined) return;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.pause();
      // Put the bytes back: the protocol server reads the connection from its first byte.
      socket.unshift(seen);
      if (tls !== undefined) {
        routeWithTls(socket, seen, isHttp2);
      } else if (isHttp2) {
        grpcServer.injectConnection(socket);
      } else {
        httpServer.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.on("error", onError);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(options.port ?? DEFAULT_PORT, host, () => {
        listener.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    // Nothing was served: release what was set up so the caller can exit or retry.
    httpServer.close();
    tls?.close();
    await grpcServer.shutdown(0);
    throw err;
  }
  listener.on("error", (err) => logger?.error({ err }, "listener error"));
  const bound = listener.address() as net.AddressInfo;
  const port = bound.port;
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      closing = true;
      // Stop accepting; the listener's close resolves once every connection it accepted (HTTP/1.1 and gRPC) is gone.
      const listenerClosed = new Promise<void>((resolve) => listener.close(() => resolve()));
      router.closeStreams();
      httpServer.close(); // also closes idle keep-alive connections
      const cut = setTimeout(() => {
        logger?.warn({ graceMs, connections: sockets.size }, "connections still open after the grace period; closing them");
        httpServer.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      cut.unref();
      await Promise.all([grpcServer.shutdown(graceMs), listenerClosed]);
      clearTimeout(cut);
      tls?.close();
    })();
    return closed;
  };

  return { port, host, address, secure: tls !== undefined, close };
}
