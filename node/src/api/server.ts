// One port for everything: a TCP listener that looks at the first bytes of
// each connection. A connection that opens with the HTTP/2 client preface
// (`PRI * HTTP/2.0`) is gRPC and goes to grpc-js; anything else is HTTP/1.1
// (the JSON envelope protocol, SSE, probes, metrics). Clients need no second
// port and no TLS-ALPN; gRPC clients connect with prior knowledge (plaintext
// h2), as grpcurl -plaintext and grpc-js do.

import http from "node:http";
import net from "node:net";
import type { Logger } from "pino";
import { DEFAULT_HOST, DEFAULT_PORT } from "./defaults.ts";
import { createGrpcServer, type GrpcServer } from "./grpc/server.ts";
import type { EnvelopeOptions } from "./http/envelope.ts";
import { isLoopbackInterface } from "./http/guard.ts";
import { createRouter } from "./http/router.ts";
import type { SseOptions } from "./http/sse.ts";
import { resolveServerLimits, type ServerLimits } from "./limits.ts";
import { createMetrics, type EngineWithStats } from "./metrics.ts";

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
  /** What the server holds and accepts from its clients (api/limits.ts; defaults there). */
  limits?: Partial<ServerLimits>;
}

export interface RunningServer {
  /** The port listened on (the real one when 0 was asked). */
  readonly port: number;
  readonly host: string;
  /** `host:port`, as gRPC clients dial it. */
  readonly address: string;
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

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { engine, logger } = options;
  const host = options.host ?? DEFAULT_HOST;
  const graceMs = options.shutdownGraceMs ?? 10_000;
  const firstByteTimeoutMs = options.firstByteTimeoutMs ?? 30_000;
  let closing = false;
  const limits = resolveServerLimits(options.limits);

  const metrics = createMetrics(engine);
  const grpcServer: GrpcServer = createGrpcServer({ engine, logger, observe: metrics.observeGrpc });
  const router = createRouter({
    engine,
    metrics,
    logger,
    ready: () => !closing && (options.ready?.() ?? true),
    envelope: { maxBodyBytes: limits.maxBodyBytes, ...options.envelope },
    sse: { maxConnections: limits.maxSseStreams, ...options.sse },
    // A node on loopback serves this machine only: a foreign Host is a DNS-rebinding page.
    access: { allowedOrigins: limits.allowedOrigins, loopbackHostsOnly: isLoopbackInterface(host) },
  });
  const httpServer = http.createServer({ keepAliveTimeout: 65_000 }, router);
  // This server never listens itself (it gets sockets from the listener below), but node only
  // tracks connections (request timeouts, closeIdleConnections) once 'listening' fires.
  httpServer.emit("listening");
  httpServer.on("clientError", (err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    else socket.destroy(err);
  });

  const sockets = new Set<net.Socket>();
  // noDelay: RPCs are small writes that must not wait for Nagle's algorithm (tens of ms per call).
  const listener = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), firstByteTimeoutMs);
    timer.unref();
    const onError = () => socket.destroy();
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const isHttp2 = classifyFirstBytes(seen);
      if (isHttp2 === undefined) return;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.pause();
      // Put the bytes back: the protocol server reads the connection from its first byte.
      socket.unshift(seen);
      if (isHttp2) {
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
    })();
    return closed;
  };

  return { port, host, address, close };
}
