// A real node in this process: MeshNode on the memory store with a
// ManualClock, served by startServer on an ephemeral port. Its timer loop is
// not started: time moves only when a test moves the clock.

import { startServer, type RunningServer, type ServerOptions } from "@resonate-mesh/node/server";
import { ManualClock } from "@resonate-mesh/node/local";
import { MeshNode, type MeshNodeOptions } from "@resonate-mesh/node/local";
import { MemoryStore } from "@resonate-mesh/node/store";

export interface MeshServer {
  clock: ManualClock;
  store: MemoryStore;
  node: MeshNode;
  server: RunningServer;
  /** http://<address> */
  url: string;
  /** Close the server, then stop the node, then close the store. */
  close(): Promise<void>;
}

export async function startMeshServer(options: {
  now: number;
  protocol?: MeshNodeOptions["protocol"];
  server?: Omit<ServerOptions, "engine" | "port">;
}): Promise<MeshServer> {
  const clock = new ManualClock(options.now);
  const store = new MemoryStore();
  const node = new MeshNode({ store, clock, protocol: options.protocol });
  const server = await startServer({ ...options.server, engine: node, port: 0 });
  return {
    clock,
    store,
    node,
    server,
    url: `http://${server.address}`,
    async close() {
      await server.close();
      await node.stop();
      await store.close();
    },
  };
}
