// Mesh nodes as a user runs them: `resonate serve --store jetstream` child
// processes on loopback, each on a free port, sharing one NATS cluster.

import { freePort, resonateBin, type NodeProc } from "./node.ts";
import { spawnProcess } from "./processes.ts";
import { waitFor } from "./wait.ts";

export interface ServeOptions {
  /** NATS client URLs, comma-separated. */
  nats: string;
  name: string;
  replicas?: 1 | 3;
  partitions?: number;
  namespace?: string;
  /** More `serve` flags (TLS to NATS, ...). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Is the node on `port` ready (GET /ready answers 200)? */
export async function isReady(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200;
  } catch {
    return false;
  }
}

/** `resonate serve --store jetstream ...` started on a free port, not waited for (it may not be ready yet). */
export async function spawnJetStreamServe(options: ServeOptions): Promise<NodeProc> {
  const port = await freePort();
  const args = ["serve", "--host", "127.0.0.1", "--port", String(port), "--store", "jetstream", "--nats", options.nats];
  if (options.replicas !== undefined) args.push("--replicas", String(options.replicas));
  if (options.partitions !== undefined) args.push("--partitions", String(options.partitions));
  if (options.namespace !== undefined) args.push("--nats-namespace", options.namespace);
  args.push(...(options.args ?? []));
  const proc = spawnProcess(options.name, process.execPath, [resonateBin, ...args], { env: options.env });
  return { url: `http://127.0.0.1:${port}`, port, address: `127.0.0.1:${port}`, proc, stop: () => proc.stop("SIGTERM") };
}

/** `resonate serve --store jetstream ...`, resolved once it is ready. */
export async function serveJetStream(options: ServeOptions): Promise<NodeProc> {
  const node = await spawnJetStreamServe(options);
  const { proc, port } = node;
  await waitFor(
    () => `${options.name} to be ready on port ${port}\n${proc.printed()}`,
    async () => {
      if (!proc.running) throw new Error(`${options.name} exited early:\n${proc.printed()}`);
      return await isReady(port);
    },
    60_000,
    100,
  );
  return node;
}
