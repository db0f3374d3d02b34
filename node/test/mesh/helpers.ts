// Shared pieces of the mesh tests: a recording worker inbox, a node on a
// manual clock over a memory store that counts its commits, and request builders.

import { ManualClock } from "../../src/mesh/clock.ts";
import type { WorkerSink } from "../../src/mesh/engine.ts";
import { createMeshNode } from "../../src/mesh/compose.ts";
import type { ProtocolConfig } from "../../src/protocol/config.ts";
import type { Message, Request } from "../../src/protocol/types.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { CommitOp } from "../../src/store/types.ts";

/** 2026-01-01T00:00:00Z: a minute boundary, so cron arithmetic is easy to read. */
export const T0 = Date.UTC(2026, 0, 1);

export class Inbox implements WorkerSink {
  readonly messages: Message[] = [];
  open = true;
  send(message: Message): boolean {
    if (!this.open) return false;
    this.messages.push(message);
    return true;
  }
  /** `id@version` of every execute received, in order. */
  get executes(): string[] {
    return this.messages.flatMap((m) => (m.kind === "execute" ? [`${m.task.id}@${m.task.version}`] : []));
  }
  get unblocks(): string[] {
    return this.messages.flatMap((m) => (m.kind === "unblock" ? [m.promise.id] : []));
  }
}

export class CountingStore extends MemoryStore {
  commits = 0;
  override async commit(ops: CommitOp[]): Promise<void> {
    await super.commit(ops);
    this.commits++;
  }
}

export function makeNode(options: { protocol?: Partial<ProtocolConfig>; start?: number } = {}) {
  const clock = new ManualClock(options.start ?? T0);
  const store = new CountingStore();
  const node = createMeshNode({ store, clock, protocol: options.protocol });
  return { node, store, clock };
}

export const req = {
  create: (id: string, timeoutAt: number, tags: Record<string, string> = {}): Request => ({
    kind: "promise.create",
    data: { id, timeoutAt, param: { headers: {}, data: "" }, tags },
  }),
  targeted: (id: string, timeoutAt: number, target: string, tags: Record<string, string> = {}): Request =>
    req.create(id, timeoutAt, { "resonate:target": target, ...tags }),
  settle: (id: string, state: "resolved" | "rejected" | "rejected_canceled" = "resolved", data = ""): Request => ({
    kind: "promise.settle",
    data: { id, state, value: { headers: {}, data } },
  }),
  get: (id: string): Request => ({ kind: "promise.get", data: { id } }),
  taskGet: (id: string): Request => ({ kind: "task.get", data: { id } }),
  acquire: (id: string, version: number, pid: string, ttl = 60_000): Request => ({
    kind: "task.acquire",
    data: { id, version, pid, ttl },
  }),
};

/** The stored record under `key` (bypassing lazy projection). */
export async function stored<T = Record<string, unknown>>(store: MemoryStore, key: string): Promise<T | undefined> {
  return (await store.get(key))?.value as T | undefined;
}
