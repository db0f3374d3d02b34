// The HTTP/1.1 side of the port: probes, metrics, and the Resonate JSON
// envelope protocol with its SSE worker inbox (implemented in envelope.ts and
// sse.ts, mounted here).

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Engine } from "../../mesh/engine.ts";
import type { Metrics } from "../metrics.ts";
import { createEnvelopeHandler, errorEnvelope, type EnvelopeOptions } from "./envelope.ts";
import { checkAccess, type AccessOptions } from "./guard.ts";
import { createSseHandler, type SseOptions } from "./sse.ts";

export interface RouterOptions {
  engine: Engine;
  metrics: Metrics;
  /** GET /ready answers 200 while this says true. */
  ready: () => boolean;
  logger?: Logger;
  envelope?: EnvelopeOptions;
  sse?: SseOptions;
  /** Which web origins and Host names are served (cross-site and DNS-rebinding requests are refused). */
  access?: AccessOptions;
}

export interface Router {
  (req: IncomingMessage, res: ServerResponse): void;
  /** End long-lived responses (SSE streams) so the server can close. */
  closeStreams(): void;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

export function createRouter(options: RouterOptions): Router {
  const { engine, metrics, ready, logger } = options;
  const envelope = createEnvelopeHandler(engine, { logger, ...options.envelope });
  const sse = createSseHandler(engine, { logger, ...options.sse }) as ReturnType<typeof createSseHandler> & {
    closeAll?: () => void;
  };

  const probe = (req: IncomingMessage, res: ServerResponse, handle: () => void) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      json(res, 405, { error: `use GET; ${req.method} is not served on ${req.url}` }, { allow: "GET, HEAD" });
      return;
    }
    handle();
  };

  const router = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0]!;
    const refused = checkAccess(req.headers, options.access ?? {});
    if (refused !== undefined) {
      metrics.refused("access");
      if (path === "/") return json(res, refused.status, errorEnvelope("", "", refused.status, refused.message), { connection: "close" });
      return json(res, refused.status, { error: refused.message }, { connection: "close" });
    }
    if (path === "/") return envelope(req, res);
    if (path.startsWith("/poll/")) return sse(req, res);
    switch (path) {
      case "/health":
        return probe(req, res, () => json(res, 200, { status: "ok" }));
      case "/ready":
        return probe(req, res, () =>
          ready() ? json(res, 200, { status: "ready" }) : json(res, 503, { status: "not ready" }),
        );
      case "/metrics":
        return probe(req, res, () => {
          metrics.render().then(
            (text) => {
              res.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" });
              res.end(text);
            },
            (err: unknown) => {
              logger?.error({ err }, "metrics could not be rendered");
              json(res, 500, { error: "metrics could not be rendered" });
            },
          );
        });
      default:
        json(res, 404, {
          error: `nothing is served at ${req.method} ${path}; this node serves POST / (Resonate JSON envelope), GET /poll/:group/:pid, GET /health, GET /ready, GET /metrics, and gRPC on the same port`,
        });
    }
  };
  return Object.assign(router, { closeStreams: () => sse.closeAll?.() });
}
