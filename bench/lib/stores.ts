// The stores a bench run measures the node on, each its own block of rows:
// the memory engine, JetStream R1 on one nats-server, and JetStream R3 on
// three nats-servers clustered over loopback routes (started here, stopped
// after their rows, their data in temporary directories that are removed).

import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NATS_SERVER, startNats } from "../../test/support/nats.ts";
import { spawnProcess, type Proc } from "../../test/support/processes.ts";

export const STORE_NAMES = ["memory", "jetstream", "jetstream-r3"] as const;
export type StoreName = (typeof STORE_NAMES)[number];

/**
 * Each nats-server runs its Go code on one core (GOMAXPROCS=1; the
 * environment's own GOMAXPROCS wins). On a machine that also runs the node
 * and the worker, Go's default of one thread per core has idle threads spin
 * looking for work on the cores the node needs: on 2 cores, W1 on R1 took
 * 20-30% less nats-server CPU per workflow with it. On Kubernetes the Go
 * runtime (1.25+) sets the same from the container's CPU limit.
 */
const NATS_ENV = { GOMAXPROCS: process.env.GOMAXPROCS ?? "1" };

export interface StoreTarget {
  name: StoreName;
  /** NATS URLs (comma-separated) for the JetStream stores. */
  natsUrl?: string;
  replicas: 1 | 3;
  /** How the node runs, for the table's legend. */
  describe: string;
  /** The nats-server processes, to charge their CPU per op. */
  natsPids: number[];
  stop(): Promise<void>;
}

/** Parse `--store`: a comma-separated list of STORE_NAMES, or "all". */
export function parseStores(option: string): StoreName[] {
  if (option === "all") return [...STORE_NAMES];
  const names = option.split(",").map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(STORE_NAMES as readonly string[]).includes(n)) {
      throw new Error(`--store takes a comma-separated list of ${STORE_NAMES.join(", ")} (or all), got ${JSON.stringify(n)}`);
    }
  }
  return names as StoreName[];
}

export async function startStore(name: StoreName): Promise<StoreTarget> {
  switch (name) {
    case "memory":
      return { name, replicas: 1, describe: "`resonate dev` (memory store)", natsPids: [], stop: async () => undefined };
    case "jetstream": {
      const nats = await startNats({ env: NATS_ENV });
      return {
        name,
        natsUrl: nats.url,
        replicas: 1,
        describe: "`resonate serve --store jetstream` (R1, 8 partitions, one local nats-server)",
        natsPids: [nats.proc.child.pid!],
        stop: () => nats.stop(),
      };
    }
    case "jetstream-r3": {
      const cluster = await startNatsCluster(3);
      return {
        name,
        natsUrl: cluster.urls.join(","),
        replicas: 3,
        describe: "`resonate serve --store jetstream --replicas 3` (R3, 8 partitions, three nats-servers clustered on loopback)",
        natsPids: cluster.pids,
        stop: () => cluster.stop(),
      };
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** `size` nats-servers with JetStream, routed to each other on 127.0.0.1; resolves once JetStream answers. */
async function startNatsCluster(size: number): Promise<{ urls: string[]; pids: number[]; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "resonate-bench-cluster-"));
  const clientPorts: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) {
    clientPorts.push(await freePort());
    routePorts.push(await freePort());
  }
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(",");
  const procs: Proc[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop("SIGTERM")));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      procs.push(
        spawnProcess(`nats-server ${i}`, NATS_SERVER, [
          ...["-a", "127.0.0.1", "-p", String(clientPorts[i]), "-js", "--store_dir", join(dir, `n${i}`)],
          ...["--server_name", `bench${i}`, "--cluster_name", "bench", "--cluster", `nats://127.0.0.1:${routePorts[i]}`, "--routes", routes],
        ], { env: NATS_ENV }),
      );
    }
    for (const p of procs) await p.waitForOutput(/Server is ready/, 30_000);
    const urls = clientPorts.map((p) => `nats://127.0.0.1:${p}`);
    // The servers listen before the JetStream meta group has a leader; wait for it.
    const nc = await connect({ servers: urls });
    try {
      for (const deadline = Date.now() + 60_000; ; ) {
        try {
          await (await jetstreamManager(nc, { timeout: 2_000 })).getAccountInfo();
          break;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`the JetStream cluster elected no leader within 60 s: ${String(err)}`);
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    } finally {
      await nc.close();
    }
    return { urls, pids: procs.map((p) => p.child.pid!), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
