// A real node for the envelope tests: MeshNode over a MemoryStore on a
// ManualClock, served by the one-port server (HTTP/1.1 envelope + SSE, and
// gRPC on the same port for the comparison), and the clients to talk to it.

import type { ServiceError } from "@grpc/grpc-js";
import {
  fromProtocolRequest,
  rpcOf,
  toProtocolResponse,
  type OkResponse,
} from "@resonate-mesh/node/client";
import { createClient } from "@resonate-mesh/node/internal-for-tests";
import { fromServiceError } from "@resonate-mesh/node/client";
import type { SseOptions } from "@resonate-mesh/node/internal-for-tests";
import type { Kind, Request, Response } from "@resonate-mesh/node/protocol";
import { startMeshServer, type MeshServer } from "../support/mesh-node.ts";
import { waitFor } from "../support/wait.ts";

/** 2026-01-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1);
export const VERSION = "2026-04-01";

export interface Answer {
  status: number;
  contentType: string | null;
  body: { kind: string; head: { corrId: string; status: number; version: string }; data: any };
}

export interface TestNode extends MeshServer {
  /** POST one envelope built from a protocol request (the data shapes are the envelope's own). */
  send(request: Request | { kind: string; data: unknown }, corrId?: string): Promise<Answer>;
  /** POST a raw body. */
  post(body: string | Uint8Array, headers?: Record<string, string>): Promise<Answer>;
  /** The same request over gRPC, as a protocol response (errors included). */
  grpc<K extends Kind>(request: Extract<Request, { kind: K }>): Promise<Response<K>>;
  /** Every record in the store, to show that a refused request wrote nothing. */
  dump(): Promise<unknown[]>;
}

let corrSeq = 0;

/** Nest a protocol request as the envelope the official SDK sends (nested actions carry a head too). */
export function envelopeOf(request: { kind: string; data: unknown }, corrId = `c-${++corrSeq}`): unknown {
  const data = request.data as Record<string, unknown>;
  const wrap = (inner: { kind: string; data: unknown }) => ({ kind: inner.kind, head: { corrId, version: VERSION }, data: inner.data });
  let outData: unknown = data;
  if (data && typeof data === "object") {
    if (data.action && typeof data.action === "object") outData = { ...data, action: wrap(data.action as { kind: string; data: unknown }) };
    if (Array.isArray(data.actions)) outData = { ...data, actions: (data.actions as { kind: string; data: unknown }[]).map(wrap) };
  }
  return { kind: request.kind, head: { corrId, version: VERSION }, data: outData };
}

export async function startTestNode(options: { debug?: boolean; maxBodyBytes?: number; sse?: SseOptions } = {}): Promise<TestNode> {
  const mesh = await startMeshServer({
    now: T0,
    server: { shutdownGraceMs: 200, envelope: { debug: options.debug, maxBodyBytes: options.maxBodyBytes }, sse: options.sse },
  });
  const { store, server, url } = mesh;
  const clients = new Map<string, ReturnType<typeof createClient>>();

  const post = async (body: string | Uint8Array, headers: Record<string, string> = { "content-type": "application/json" }): Promise<Answer> => {
    const res = await fetch(`${url}/`, { method: "POST", body, headers });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get("content-type"), body: JSON.parse(text) };
  };

  return {
    ...mesh,
    post,
    send: (request, corrId) => post(JSON.stringify(envelopeOf(request, corrId))),
    async grpc(request) {
      const { service, method } = rpcOf(request.kind);
      let client = clients.get(service.typeName);
      if (!client) clients.set(service.typeName, (client = createClient(service as never, server.address)));
      const call = (client as unknown as Record<string, (m: unknown) => Promise<unknown>>)[method.localName]!;
      try {
        const message = await call(fromProtocolRequest(request as never));
        return toProtocolResponse(request.kind, message as never) as OkResponse<typeof request.kind>;
      } catch (error) {
        const e = fromServiceError(error as ServiceError);
        return { kind: request.kind, status: e.status, error: e } as Response<typeof request.kind>;
      }
    },
    async dump() {
      return (await store.list({ prefix: "" })).map((e) => ({ key: e.key, value: e.value, revision: e.revision }));
    },
    async close() {
      for (const c of clients.values()) (c as unknown as { close(): void }).close();
      await mesh.close();
    },
  };
}

/** An SSE client on GET /poll/:group/:pid that collects the JSON messages it receives. */
export class SseClient {
  readonly messages: any[] = [];
  readonly comments: string[] = [];
  status = 0;
  contentType: string | null = null;
  body = "";
  private readonly controller = new AbortController();
  private buffer = "";
  private done: Promise<void> = Promise.resolve();

  static async open(url: string, group: string, pid: string): Promise<SseClient> {
    const client = new SseClient();
    const res = await fetch(`${url}/poll/${encodeURIComponent(group)}/${encodeURIComponent(pid)}`, { signal: client.controller.signal });
    client.status = res.status;
    client.contentType = res.headers.get("content-type");
    if (res.status !== 200 || !res.body) {
      client.body = await res.text();
      return client;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    client.done = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          client.feed(decoder.decode(value, { stream: true }));
        }
      } catch {
        // aborted
      }
    })();
    return client;
  }

  private feed(text: string): void {
    this.buffer += text;
    let end: number;
    while ((end = this.buffer.indexOf("\n\n")) !== -1) {
      const event = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (line.startsWith("data: ")) this.messages.push(JSON.parse(line.slice(6)));
        else if (line.startsWith(":")) this.comments.push(line.slice(1).trim());
      }
    }
  }

  async waitFor(predicate: (messages: any[]) => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      if (Date.now() > deadline) throw new Error(`SSE messages never matched; got ${JSON.stringify(this.messages)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

/** In-process waits: poll every 10 ms, for 5 s unless told. */
export async function eventually(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  await waitFor(what, probe, timeoutMs, 10);
}

export const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64");
