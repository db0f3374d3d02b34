// PLACEHOLDER until issue 6 lands: the SSE worker inbox on GET /poll/:group/:pid.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Engine } from "../../mesh/engine.ts";

export interface SseOptions {
  maxConnections?: number;
  keepAliveMs?: number;
  serverUrl?: string;
}

export function createSseHandler(_engine: Engine, _options: SseOptions = {}) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(501, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "the SSE poll endpoint is not implemented yet" }));
  };
}
