// A node as a user runs it: `resonate dev --port <free port>` as a child
// process; and the `resonate` CLI run to its end.

import { createServer } from "node:net";
import { join } from "node:path";
import { repoRoot, runToEnd, spawnProcess, type Proc, type RunResult, type SpawnOptions } from "./processes.ts";
import { waitFor } from "./wait.ts";

export const resonateBin = join(repoRoot, "node/bin/resonate.js");

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return await new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

export interface NodeProc {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** 127.0.0.1:<port>, as gRPC clients dial it. */
  address: string;
  proc: Proc;
  stop(): Promise<void>;
}

/** `resonate dev --port <free port> [args]`, ready once GET /ready answers 200. */
export async function startNode(
  options: {
    args?: string[];
    env?: NodeJS.ProcessEnv;
    /** A given port: a node restarted where its workers expect it. */
    port?: number;
    /** Another `resonate` bin (an installed package's). */
    bin?: string;
    cwd?: string;
    /** `resonate serve --host 127.0.0.1` instead of `dev` (for the flags only serve takes, e.g. --store). */
    serve?: boolean;
  } = {},
): Promise<NodeProc> {
  const port = options.port ?? (await freePort());
  const command = options.serve === true ? ["serve", "--host", "127.0.0.1"] : ["dev"];
  const proc = spawnProcess("node", process.execPath, [options.bin ?? resonateBin, ...command, "--port", String(port), ...(options.args ?? [])], {
    env: options.env,
    cwd: options.cwd,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    () => `the node to be ready on ${url}\n${proc.printed()}`,
    async () => {
      if (!proc.running) throw new Error(`the node exited early:\n${proc.printed()}`);
      try {
        return (await fetch(`${url}/ready`)).status === 200;
      } catch {
        return false;
      }
    },
    30_000,
  );
  return { url, port, address: `127.0.0.1:${port}`, proc, stop: () => proc.stop("SIGTERM") };
}

/** `resonate <args>` (node/bin/resonate.js) run to its end. */
export async function cli(args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return await runToEnd("resonate", process.execPath, [resonateBin, ...args], options);
}
