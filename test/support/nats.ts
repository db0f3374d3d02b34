// A real nats-server for tests: JetStream on, loopback only, a free port, its
// store in a fresh temporary directory that is removed when it stops.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnProcess, type Proc } from "./processes.ts";

export const NATS_SERVER = process.env.NATS_SERVER ?? "nats-server";

export interface NatsServer {
  /** nats://127.0.0.1:<port> */
  url: string;
  port: number;
  storeDir: string;
  proc: Proc;
  /** Stop it (SIGTERM) and remove its store directory. */
  stop(): Promise<void>;
  /** SIGKILL it, keeping its store directory (a crash). */
  crash(): Promise<void>;
}

export interface NatsOptions {
  /** A fixed port (to restart a server where clients expect it); default: a free one. */
  port?: number;
  /** Start without JetStream (to test a node's refusal). */
  jetstream?: boolean;
  /** Reuse this store directory (a restart after crash()). */
  storeDir?: string;
  /** Join a cluster (test/support/nats-cluster.ts): its name, this server's name, route port and routes. */
  cluster?: { name: string; serverName: string; port: number; routes: string[] };
  /** Serve the HTTP monitoring endpoints (/jsz, ...) on this port. */
  monitorPort?: number;
  /** More nats-server flags (TLS, ...). */
  args?: string[];
  /** More environment for the server process (GOMAXPROCS, ...). */
  env?: Record<string, string>;
}

/** Start `nats-server -js` on 127.0.0.1; resolves once it accepts clients. */
export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), "resonate-nats-")));
  const args = ["-a", "127.0.0.1", "-p", String(options.port ?? -1), "--store_dir", storeDir];
  if (options.jetstream !== false) args.push("-js");
  if (options.monitorPort !== undefined) args.push("-m", String(options.monitorPort));
  if (options.cluster !== undefined) {
    const c = options.cluster;
    args.push("--server_name", c.serverName, "--cluster_name", c.name, "--cluster", `nats://127.0.0.1:${c.port}`, "--routes", c.routes.join(","));
  }
  args.push(...(options.args ?? []));
  const proc = spawnProcess(options.cluster?.serverName ?? "nats-server", NATS_SERVER, args, { env: options.env });
  const match = await proc.waitForOutput(/Listening for client connections on [^\s]*:(\d+)/, 30_000);
  await proc.waitForOutput(/Server is ready/, 30_000);
  const port = Number(match[1]);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    proc,
    async stop() {
      await proc.stop("SIGTERM");
      await rm(storeDir, { recursive: true, force: true });
    },
    async crash() {
      await proc.crash();
    },
  };
}
