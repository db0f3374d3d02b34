// Shared test scaffolding: local clients that are stopped after each test, a
// transport that counts requests, and waiting on node state.

import { afterEach } from "vitest";
import type { Kind, Message, RequestOf, Response, TaskState } from "@resonate-mesh/node/protocol";
import { Resonate, type LocalOptions } from "../src/index.ts";
import type { Transport } from "../src/transport/types.ts";

const clients: Resonate[] = [];

afterEach(async () => {
  // Stop the clients that share another's node first, then the owners.
  for (const c of clients.splice(0).reverse()) await c.stop();
});

/** A local-mode client, stopped after the test. Quiet unless RESONATE_LOG_LEVEL says otherwise. */
export function local(options: LocalOptions = {}): Resonate {
  const client = Resonate.local({ stopGraceMs: 0, ...options });
  clients.push(client);
  return client;
}

/** A second client on the same in-process node. */
export function peer(of: Resonate, options: LocalOptions = {}): Resonate {
  return local({ ...options, node: of.node! });
}

/** Wraps a transport and records the kind of every request (the fenced action and id; a batch's size; the writes a fulfill carries). */
export class CountingTransport implements Transport {
  readonly mode;
  readonly sent: string[] = [];
  constructor(readonly inner: Transport) {
    this.mode = inner.mode;
  }
  send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    const r = request as RequestOf<"task.fence">;
    const b = request as RequestOf<"task.fence_batch">;
    const f = request as RequestOf<"task.fulfill">;
    this.sent.push(
      request.kind === "task.fence"
        ? `task.fence:${r.data.action.kind}:${r.data.action.data.id}`
        : request.kind === "task.fence_batch"
          ? `task.fence_batch:${b.data.actions.length}`
          : request.kind === "task.fulfill" && f.data.actions !== undefined
            ? `task.fulfill+writes:${f.data.actions.length}`
            : request.kind,
    );
    return this.inner.send(request);
  }
  subscribe(group: string, pid: string, onMessage: (m: Message) => void, onReconnect?: () => void): () => void {
    return this.inner.subscribe(group, pid, onMessage, onReconnect);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  count(prefix: string): number {
    return this.sent.filter((k) => k.startsWith(prefix)).length;
  }
}

export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves once the task of `id` is in `state` on the client's node. */
export async function taskState(client: Resonate, id: string, state: TaskState, timeoutMs = 5_000): Promise<void> {
  await eventually(async () => {
    const res = await client.transport.send({ kind: "task.get", data: { id } });
    return res.status === 200 && res.data.task.state === state ? true : undefined;
  }, timeoutMs);
}

export async function promiseOf(client: Resonate, id: string) {
  const res = await client.transport.send({ kind: "promise.get", data: { id } });
  if (res.status !== 200) throw new Error(`promise ${id}: ${res.status}`);
  return res.data.promise;
}

/** Whether a promise resolves within `ms` of real time. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return done;
}
