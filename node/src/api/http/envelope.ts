// PLACEHOLDER until issue 6 lands: the Resonate JSON envelope protocol on POST /.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Engine } from "../../mesh/engine.ts";

export interface EnvelopeOptions {
  maxBodyBytes?: number;
  debug?: boolean;
}

export function createEnvelopeHandler(_engine: Engine, _options: EnvelopeOptions = {}) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(501, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "the JSON envelope protocol is not implemented yet" }));
  };
}
