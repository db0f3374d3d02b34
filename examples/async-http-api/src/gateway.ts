// The HTTP gateway. It keeps no state of its own: a job IS a durable promise
// on the node, named by the job id. POST /jobs creates it (targeted at the
// worker group) and answers 202 at once; GET /jobs/:id reads it, never waits.

import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Resonate, ResonateError } from "@resonate-mesh/sdk";

const PORT = Number(process.env.PORT ?? 3000);
const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001" });

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1_000_000) throw new BadRequest("the body is larger than 1 MB");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw new BadRequest("the body is not JSON");
  }
}

class BadRequest extends Error {}

/** POST /jobs {"text": "...", "id"?: "..."}: a client-chosen id makes retries safe (same id, same job). */
async function submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = (await readJson(req)) as { text?: unknown; id?: unknown };
  if (typeof body.text !== "string") throw new BadRequest(`"text" must be a string`);
  if (body.id !== undefined && (typeof body.id !== "string" || !/^[\w.-]{1,100}$/.test(body.id))) {
    throw new BadRequest(`"id" must be 1-100 letters, digits, "_", "-" or "."`);
  }
  const id = body.id ?? `job-${randomUUID()}`;
  // spawn() returns once the promise exists durably; the work happens on a worker.
  const handle = await resonate.rpc(id, "processJob", { text: body.text }).target("workers").spawn();
  console.log(`[gateway] accepted ${handle.id}`);
  send(res, 202, { id: handle.id, status: "pending", location: `/jobs/${handle.id}` }, { location: `/jobs/${handle.id}` });
}

/** GET /jobs/:id: the job's state right now. */
async function status(id: string, res: ServerResponse): Promise<void> {
  let promise;
  try {
    promise = await resonate.promises.get(id);
  } catch (err) {
    if (err instanceof ResonateError && err.code === "PROMISE_NOT_FOUND") {
      send(res, 404, { id, error: `no job with id "${id}"` });
      return;
    }
    throw err;
  }
  switch (promise.state) {
    case "pending":
      send(res, 200, { id, status: "pending" });
      return;
    case "resolved":
      send(res, 200, { id, status: "resolved", result: promise.value });
      return;
    default: {
      const error = promise.value;
      send(res, 200, { id, status: promise.state, error: error instanceof Error ? error.message : error });
    }
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://gateway");
  const job = url.pathname.match(/^\/jobs\/([^/]+)$/);
  let handling: Promise<void>;
  if (req.method === "POST" && url.pathname === "/jobs") handling = submit(req, res);
  else if (req.method === "GET" && job !== null) handling = status(decodeURIComponent(job[1]!), res);
  else handling = Promise.resolve(send(res, 404, { error: "try POST /jobs or GET /jobs/:id" }));
  handling.catch((err: unknown) => {
    if (err instanceof BadRequest) send(res, 400, { error: err.message });
    else if (err instanceof ResonateError && err.code === "INVALID_ARGUMENT") send(res, 400, { error: err.message });
    else {
      console.error(`[gateway] ${req.method} ${req.url} failed:`, err);
      send(res, 502, { error: "the node could not be reached; try again" });
    }
  });
});

server.listen(PORT, "127.0.0.1", () => console.log(`[gateway] listening on http://127.0.0.1:${PORT}`));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.close();
    void resonate.stop().then(() => process.exit(0));
  });
}
