// The node under test runs as its own process (`resonate dev`), as a user
// runs it, so client and server do not share a CPU's event loop.

import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

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

export interface NodeProcess {
  address: string;
  /** The node's operating-system process id (for /proc). */
  pid: number;
  stop(): Promise<void>;
}

/** `resonate dev` (memory store), or `resonate serve --store jetstream` on `natsUrl`. */
export async function startNodeProcess(
  options: {
    natsUrl?: string;
    partitions?: number;
    replicas?: 1 | 3;
    /** Another build's node/bin/resonate.js (bench/compare.ts); default BENCH_NODE_BIN, else this checkout's. */
    bin?: string;
  } = {},
): Promise<NodeProcess> {
  const port = await freePort();
  const store =
    options.natsUrl === undefined
      ? ["dev"]
      : [
          ...["serve", "--host", "127.0.0.1", "--store", "jetstream", "--nats", options.natsUrl],
          ...["--partitions", String(options.partitions ?? 8), "--replicas", String(options.replicas ?? 1)],
        ];
  // BENCH_NODE_BIN: another build's node/bin/resonate.js, to compare two builds of the node back to back.
  const bin = options.bin ?? process.env.BENCH_NODE_BIN ?? path.join(root, "node/bin/resonate.js");
  const child: ChildProcess = spawn(
    process.execPath,
    // The Node.js flags of the bin's #! line (as the `resonate` command runs), then BENCH_NODE_ARGS:
    // extra flags for the node process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    [
      ...nodeFlagsOf(bin),
      ...(process.env.BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
      bin,
      ...store,
      "--port",
      String(port),
      "--log-level",
      "info",
    ],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the node did not start within 20 s:\n${out}`)), 20_000);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes("serving gRPC and HTTP")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`the node exited (${code}) before serving:\n${out}`)));
  });
  child.stdout!.resume();
  // On JetStream the node listens at once and serves once its store is caught up.
  for (const deadline = Date.now() + 30_000; ; ) {
    const status = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status, () => 0);
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error(`the node was not ready within 30 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address: `127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** The flags after `node` on a script's `#!/usr/bin/env -S node ...` line. */
function nodeFlagsOf(script: string): string[] {
  const first = readFileSync(script, "utf8").split("\n", 1)[0]!;
  const words = first.startsWith("#!") ? first.slice(2).trim().split(/\s+/) : [];
  const node = words.indexOf("node");
  return node === -1 ? [] : words.slice(node + 1);
}
