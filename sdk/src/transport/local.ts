// Local mode: the node runs in this process, on the embedded memory store.
// Requests go straight to MeshNode.handle, so local mode runs exactly the
// protocol code a node process runs: one implementation of the rules.

import { ManualClock, type Clock } from "@resonate-mesh/node/local";
import { createMeshNode, type MeshNode } from "@resonate-mesh/node/local";
import type { ProtocolConfig } from "@resonate-mesh/node/protocol";
import type { Kind, Message, RequestOf, Response } from "@resonate-mesh/node/protocol";
import { MemoryStore } from "@resonate-mesh/node/store";
import type { Transport } from "./types.ts";

export interface LocalTransportOptions {
  /** Drive time by hand in tests: a ManualClock's timers run only on `node.tick()`. */
  clock?: Clock;
  protocol?: Partial<ProtocolConfig>;
}

export class LocalTransport implements Transport {
  readonly mode = "local" as const;
  readonly node: MeshNode;
  private readonly store: MemoryStore | undefined;
  private readonly ready: Promise<void>;
  private closed = false;

  /** Wrap a node someone else runs, or (no node given) start an embedded one. */
  constructor(options: LocalTransportOptions & { node?: MeshNode } = {}) {
    if (options.node !== undefined) {
      this.node = options.node;
      this.ready = Promise.resolve();
      return;
    }
    this.store = new MemoryStore();
    this.node = createMeshNode({ store: this.store, clock: options.clock, protocol: options.protocol });
    // A manual clock moves only when a test says so; its timers run on node.tick().
    this.ready = options.clock instanceof ManualClock ? Promise.resolve() : this.node.start();
  }

  async send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    await this.ready;
    return this.node.handle(request);
  }

  subscribe(group: string, pid: string, onMessage: (message: Message) => void): () => void {
    const subscription = this.node.poll(group, pid, {
      send: (message) => {
        if (this.closed) return false;
        // Deliver after the request that caused it has returned, as a network would.
        setImmediate(() => onMessage(message));
        return true;
      },
    });
    return () => subscription.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.store === undefined) return;
    await this.node.stop();
    await this.store.close();
  }
}
