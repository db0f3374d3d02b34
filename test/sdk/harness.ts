// The worker program the SDK's end-to-end tests start next to a node
// (test/support/node.ts).

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnProcess, type Proc } from "../support/processes.ts";

const programs = join(dirname(fileURLToPath(import.meta.url)), "programs");

/** A worker program of test/sdk/programs, ready once it printed "ready <pid>". */
export async function startWorker(url: string, env: Record<string, string>, program = "worker.ts"): Promise<Proc & { pid: string }> {
  const proc = spawnProcess(`worker(${env.GROUP ?? "default"})`, process.execPath, ["--import", "tsx", join(programs, program)], {
    env: { RESONATE_URL: url, ...env },
  });
  const m = await proc.waitForOutput(/ready (\S+)/);
  return Object.assign(proc, { pid: m[1]! });
}
