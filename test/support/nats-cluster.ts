// A real NATS cluster for fault tests: N nats-servers with JetStream, routed
// to each other on loopback, each on free ports with its store in a fresh
// temporary directory. Resolves once the servers have elected a JetStream
// metadata leader, so streams with replicas 3 can be created at once.

import { freePort } from "./node.ts";
import { startNats, type NatsServer } from "./nats.ts";
import { waitFor } from "./wait.ts";

export interface NatsCluster {
  servers: NatsServer[];
  /** Every server's client URL, comma-separated (what `--nats` takes). */
  urls: string;
  /** Stop every server still running and remove their store directories. */
  stop(): Promise<void>;
}

let clusters = 0;

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const name = `test-cluster-${process.pid}-${++clusters}`;
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) routePorts.push(await freePort());
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`);
  const servers = await Promise.all(
    routePorts.map((port, i) =>
      startNats({ cluster: { name, serverName: `${name}-s${i + 1}`, port, routes: routes.filter((_, j) => j !== i) } }),
    ),
  );
  const cluster: NatsCluster = {
    servers,
    urls: servers.map((s) => s.url).join(","),
    async stop() {
      await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    },
  };
  try {
    await waitFor(
      () => `a JetStream metadata leader in ${name}\n${servers.map((s) => s.proc.printed()).join("\n")}`,
      () => servers.some((s) => /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/.test(s.proc.output)),
      60_000,
      100,
    );
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
