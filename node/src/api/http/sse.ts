// The worker inbox of the Resonate HTTP protocol: GET /poll/:group/:pid is a
// Server-Sent Events stream of `execute` and `unblock` messages, one JSON
// message per `data:` line. The stream is one more WorkerSink on the same
// dispatcher as the gRPC Poll stream, so a task for poll://any@g reaches a
// worker of g whichever transport it listens on.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Engine, Subscription, WorkerSink } from "../../mesh/engine.ts";
import { validatePoll } from "../grpc/tasks.ts";
import type { Message } from "../../protocol/types.ts";
import { stringifyJson } from "./json.ts";
import { toWireMessage } from "./wire.ts";
import { bearerToken, isPrincipal, mayPoll, mayReceive, OPEN, type Principal } from "../auth.ts";
import type { Authenticator } from "../auth.ts";
import { OutboundBound } from "../outbound.ts";

export interface SseOptions {
  /** Streams held at once; one more is answered 503. Default 1000. */
  maxConnections?: number;
  /** Interval of the comment lines that keep idle proxies from cutting the stream. Default 15 s. */
  keepAliveMs?: number;
  /** Sent as head.serverUrl in execute messages when set. */
  serverUrl?: string;
  /** Bytes queued for a stream that does not read before it is cut (its messages go back to dispatch). Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Called when a stream is cut for reading too slowly. */
  onSlowReader?: () => void;
  logger?: Logger;
  /** Verifies the Authorization header of every stream; absent, the node is open. */
  auth?: Authenticator;
}

export const DEFAULT_MAX_CONNECTIONS = 1000;
export const DEFAULT_KEEP_ALIVE_MS = 15_000;

export interface SseHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Streams open now. */
  readonly connections: number;
  /** End every open stream (on shutdown, so the HTTP server can close). */
  closeAll(): void;
}

export function createSseHandler(engine: Engine, options: SseOptions = {}): SseHandler {
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const maxQueuedBytes = options.maxQueuedBytes ?? 16 * 1024 * 1024;
  const keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  const { serverUrl, logger } = options;
  const open = new Set<() => void>();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== "GET") {
      sendJson(res, 405, `use GET to open a worker stream; ${req.method} is not served here`, { allow: "GET" });
      return;
    }
    const route = parsePollPath(req.url ?? "");
    if (typeof route === "string") {
      sendJson(res, 400, route);
      return;
    }
    if (options.auth === undefined) return attach(req, res, route, OPEN);
    options.auth.admit(bearerToken(req.headers.authorization)).then(
      (principal) => {
        const refusal = isPrincipal(principal) ? mayPoll(principal) : principal;
        if (refusal !== undefined) return sendJson(res, refusal.status, refusal.message);
        if (!res.destroyed && !req.socket.destroyed) attach(req, res, route, principal as Principal);
      },
      (error: unknown) => {
        logger?.error({ err: error }, "could not verify a worker stream's token");
        sendJson(res, 500, "the node could not verify the token");
      },
    );
  };

  const attach = (req: IncomingMessage, res: ServerResponse, route: { group: string; pid: string }, principal: Principal): void => {
    if (open.size >= maxConnections) {
      sendJson(res, 503, `this node already holds ${maxConnections} worker streams; retry later or connect to another node`);
      return;
    }

    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // Tell buffering reverse proxies (nginx) to pass events through as they come.
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
    // Nagle would hold small events back for the next write.
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);

    let closed = false;
    const bound = new OutboundBound(maxQueuedBytes);
    /** Messages to give back to dispatch when the stream was cut before poll() returned. */
    let giveBack: Message[] | undefined;
    const alive = () => !closed && !res.destroyed && !res.writableEnded && !req.socket.destroyed;
    const write = (chunk: string): boolean => {
      if (!alive()) return false;
      // A false return only means the socket buffer is full; messages are small
      // and the kernel drains it, so the message counts as taken.
      res.write(chunk);
      return true;
    };

    const onDrain = () => bound.drained();
    const sink: WorkerSink = {
      send(message: Message): boolean {
        if (!alive()) return false;
        if (!bound.admit(message)) {
          cutSlowReader();
          return false;
        }
        const accepted = res.write(`data: ${stringifyJson(toWireMessage(message, serverUrl))}\n\n`);
        bound.wrote(message, accepted);
        if (!accepted && res.listenerCount("drain") === 0) res.once("drain", onDrain);
        return true;
      },
      // A scoped token's worker gets only its own tenant's work, whatever group it shares.
      ...(principal.admin ? {} : { accepts: (message: Message) => mayReceive(principal, message) }),
    };

    /** The reader stopped reading: free what is queued for it and let other workers have its messages. */
    const cutSlowReader = () => {
      const undelivered = bound.undelivered();
      logger?.warn(
        { group: route.group, pid: route.pid, maxQueuedBytes, messages: undelivered.length },
        `worker stream cut: it did not read its messages (over ${maxQueuedBytes} bytes queued); they go to other workers`,
      );
      options.onSlowReader?.();
      if (subscription === undefined) giveBack = undelivered;
      close(undelivered);
      res.destroy();
    };

    const keepAlive = setInterval(() => {
      if (!write(": keep-alive\n\n")) close();
    }, keepAliveMs);
    keepAlive.unref();

    let subscription: Subscription | undefined;
    const close = (undelivered?: readonly Message[]) => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      open.delete(closeStream);
      try {
        subscription?.close(undelivered);
      } catch (error) {
        logger?.warn({ err: error, group: route.group, pid: route.pid }, "closing a worker subscription failed");
      }
      if (!res.writableEnded) res.end();
    };
    const closeStream = () => close();
    open.add(closeStream);
    res.on("close", closeStream);
    req.on("close", closeStream);
    res.on("error", closeStream);

    // A comment first so clients and proxies see bytes at once.
    write(": connected\n\n");
    try {
      subscription = engine.poll(route.group, route.pid, sink);
    } catch (error) {
      logger?.error({ err: error, group: route.group, pid: route.pid }, "could not attach a worker stream");
      close();
      return;
    }
    // The client may have gone (or been cut) while poll() ran.
    if (closed) subscription.close(giveBack);
  };

  return Object.assign(handler, {
    get connections() {
      return open.size;
    },
    closeAll() {
      for (const close of [...open]) close();
    },
  }) as SseHandler;
}

/** `/poll/:group/:pid`, URL-decoded; a sentence when the path is wrong. */
export function parsePollPath(url: string): { group: string; pid: string } | string {
  const path = url.split("?", 1)[0]!;
  const m = /^\/poll\/([^/]*)\/([^/]*)\/?$/.exec(path);
  if (!m) return `the worker stream path must be /poll/<group>/<pid>, got "${path}"`;
  let group: string;
  let pid: string;
  try {
    group = decodeURIComponent(m[1]!);
    pid = decodeURIComponent(m[2]!);
  } catch {
    return `the worker stream path "${path}" is not valid percent-encoding`;
  }
  // The same rules as the gRPC Poll stream: group and pid become the worker's addresses.
  const problem = validatePoll(group, pid);
  if (problem !== undefined) return `the worker stream path /poll/<group>/<pid> is wrong: ${problem.message}`;
  return { group, pid };
}

function sendJson(res: ServerResponse, status: number, message: string, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify({ error: message });
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}
