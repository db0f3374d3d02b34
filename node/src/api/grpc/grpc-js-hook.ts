// The one place that reaches into grpc-js's internals (pinned 1.14.x): its
// Server hands every new HTTP/2 stream of every session (whatever listener
// or credentials the session came through) to `_streamHandler`, bound when a
// connection injector or port is created. Wrapping it lets the lean unary
// path (unary-server.ts) take its streams first while grpc-js keeps owning
// the sessions: keepalive, the idle timeout (`onStreamOpened` counts the
// stream as activity, as grpc-js does for its own) and graceful shutdown.

import type http2 from "node:http2";
import type * as grpc from "@grpc/grpc-js";

type StreamHandler = (this: grpc.Server, extra: unknown, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

interface ServerInternals {
  _streamHandler: StreamHandler;
  onStreamOpened(stream: http2.ServerHttp2Stream): void;
}

export interface StreamTaker {
  serves(headers: http2.IncomingHttpHeaders): boolean;
  serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void;
}

/**
 * Let `taker` serve the streams it wants before grpc-js sees them. Call it
 * before `createConnectionInjector` or `bindAsync`, on a server with
 * channelz off (`grpc.enable_channelz: 0`; with it on grpc-js uses another
 * handler). Throws when this grpc-js no longer has the internals it needs,
 * so an upgrade fails every test at once instead of silently serving
 * through grpc-js.
 */
export function takeStreamsFirst(server: grpc.Server, taker: StreamTaker): void {
  const internals = server as unknown as Partial<ServerInternals>;
  const original = internals._streamHandler;
  const opened = internals.onStreamOpened;
  if (typeof original !== "function" || typeof opened !== "function") {
    throw new Error("this @grpc/grpc-js has no Server#_streamHandler/onStreamOpened: update api/grpc/grpc-js-hook.ts for it");
  }
  internals._streamHandler = function (this: grpc.Server, extra, stream, headers) {
    if (!taker.serves(headers)) return original.call(this, extra, stream, headers);
    opened.call(this, stream);
    taker.serve(stream, headers);
  };
}
