// A real node in this process, assembled by startNode: MeshNode with a
// ManualClock, served on an ephemeral port. Its timer loop is not started:
// time moves only when a test moves the clock.
//
// The engine is the memory store unless a test file (or RESONATE_TEST_ENGINE)
// picks "jetstream": then the node keeps its records on a real nats-server,
// one per test file, started on first use and stopped after the file; each
// node gets a cluster (namespace) of its own on it.

import { afterAll } from "vitest";
import { startNode, type StoreConfig } from "@resonate-mesh/node";
import { ManualClock, type MeshNode, type MeshNodeOptions } from "@resonate-mesh/node/local";
import type { RunningServer, ServerOptions } from "@resonate-mesh/node/server";
import type { Store } from "@resonate-mesh/node/store";
import { startNats, type NatsServer } from "./nats.ts";

export type TestEngine = "memory" | "jetstream";

export interface MeshServer {
  clock: ManualClock;
  store: Store;
  node: MeshNode;
  server: RunningServer;
  /** http://<address> */
  url: string;
  /** Close the server, then stop the node, then close the store. */
  close(): Promise<void>;
}

let engine: TestEngine = process.env.RESONATE_TEST_ENGINE === "jetstream" ? "jetstream" : "memory";
/** Partitions of each JetStream test cluster: more than one, so commits across partitions are exercised. */
export const TEST_PARTITIONS = 4;

/** Run this file's nodes on `which` (call at the top of a test file). */
export function useEngine(which: TestEngine): void {
  engine = which;
}

let nats: Promise<NatsServer> | undefined;
let clusters = 0;

/** This file's nats-server, started on first use. */
export function sharedNats(): Promise<NatsServer> {
  nats ??= startNats();
  return nats;
}

afterAll(async () => {
  if (nats !== undefined) await (await nats).stop();
  nats = undefined;
});

async function storeConfig(): Promise<StoreConfig> {
  if (engine === "memory") return { kind: "memory" };
  const server = await sharedNats();
  return { kind: "jetstream", servers: server.url, namespace: `n${process.pid}x${++clusters}`, partitions: TEST_PARTITIONS };
}

export async function startMeshServer(options: {
  now: number;
  protocol?: MeshNodeOptions["protocol"];
  server?: Omit<ServerOptions, "engine" | "port">;
}): Promise<MeshServer> {
  const clock = new ManualClock(options.now);
  const { host, ...server } = options.server ?? {};
  const running = await startNode({
    store: await storeConfig(),
    clock,
    protocol: options.protocol,
    timers: false,
    port: 0,
    host,
    server,
  });
  try {
    await running.ready;
  } catch (err) {
    await running.close();
    throw err;
  }
  return {
    clock,
    store: running.store,
    node: running.node,
    server: running.server,
    url: running.url,
    close: () => running.close(),
  };
}
