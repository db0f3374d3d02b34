// A real NATS cluster for fault tests: N nats-servers with JetStream, routed
// to each other on loopback, each on free ports with its store in a fresh
// temporary directory. Resolves once the JetStream metadata leader sees every
// other server as a current peer, so streams with replicas N can be placed.

import { freePort } from "./node.ts";
import { startNats, type NatsServer } from "./nats.ts";
import { waitFor } from "./wait.ts";

export interface NatsCluster {
  servers: NatsServer[];
  /** Every server's client URL, comma-separated (what `--nats` takes). */
  urls: string;
  /** The index of the server that leads the most JetStream consumers (where a fault hurts most). */
  busiestConsumerLeader(): Promise<number>;
  /** Stop every server still running and remove their store directories. */
  stop(): Promise<void>;
}

let clusters = 0;

/** Does the server on `monitorPort` lead a JetStream metadata group in which every other server is current? */
async function metaClusterFormed(monitorPort: number, size: number): Promise<boolean> {
  try {
    const jsz = (await (await fetch(`http://127.0.0.1:${monitorPort}/jsz`)).json()) as {
      meta_cluster?: { leader?: string; cluster_size?: number; replicas?: { current?: boolean; offline?: boolean }[] };
    };
    // Only the leader lists the replicas (the other servers) and whether each is current.
    const meta = jsz.meta_cluster;
    if (meta?.leader === undefined) return false;
    const current = (meta.replicas ?? []).filter((r) => r.current === true && r.offline !== true).length;
    return meta.cluster_size === size && current === size - 1;
  } catch {
    return false;
  }
}

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const name = `test-cluster-${process.pid}-${++clusters}`;
  const routePorts: number[] = [];
  const monitorPorts: number[] = [];
  for (let i = 0; i < size; i++) {
    routePorts.push(await freePort());
    monitorPorts.push(await freePort());
  }
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`);
  const servers = await Promise.all(
    routePorts.map((port, i) =>
      startNats({
        cluster: { name, serverName: `${name}-s${i + 1}`, port, routes: routes.filter((_, j) => j !== i) },
        monitorPort: monitorPorts[i],
      }),
    ),
  );
  const cluster: NatsCluster = {
    servers,
    urls: servers.map((s) => s.url).join(","),
    async busiestConsumerLeader() {
      const led = new Map<string, number>();
      for (const [i, port] of monitorPorts.entries()) {
        if (!servers[i]!.proc.running) continue;
        const jsz = (await (await fetch(`http://127.0.0.1:${port}/jsz?consumers=true`)).json()) as {
          account_details?: { stream_detail?: { consumer_detail?: { cluster?: { leader?: string } }[] }[] }[];
        };
        for (const account of jsz.account_details ?? []) {
          for (const stream of account.stream_detail ?? []) {
            for (const c of stream.consumer_detail ?? []) if (c.cluster?.leader) led.set(c.cluster.leader, (led.get(c.cluster.leader) ?? 0) + 1);
          }
        }
        if (led.size > 0) break;
      }
      const [leader] = [...led].sort((x, y) => y[1] - x[1])[0] ?? [`${name}-s1`];
      return Number(leader.slice(`${name}-s`.length)) - 1;
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    },
  };
  try {
    await waitFor(
      () => `a JetStream metadata leader in ${name}\n${servers.map((s) => s.proc.printed()).join("\n")}`,
      async () => {
        for (const port of monitorPorts) if (await metaClusterFormed(port, size)) return true;
        return false;
      },
      60_000,
      200,
    );
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
