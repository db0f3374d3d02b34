// The worker programs the official-SDK tests start next to a node
// (test/support/node.ts): the official SDK's, and ours for the cross-SDK tests.

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnProcess, type Proc } from "../support/processes.ts";

const programs = join(dirname(fileURLToPath(import.meta.url)), "programs");

export interface WorkerOptions {
  group: string;
  effects?: string;
  hangAt?: string;
  ttl?: number;
  adders?: string;
  /** The group of our-SDK workers that `callsOurs` calls. */
  ours?: string;
}

/** The official-SDK worker program (programs/worker.mjs), ready once it has registered its functions. */
export async function startWorker(url: string, options: WorkerOptions): Promise<Proc & { pid: string }> {
  const env: NodeJS.ProcessEnv = { RESONATE_URL: url, GROUP: options.group, TTL: String(options.ttl ?? 2000) };
  if (options.effects) env.EFFECTS = options.effects;
  if (options.hangAt) env.HANG_AT = options.hangAt;
  if (options.adders) env.ADDERS = options.adders;
  if (options.ours) env.OURS = options.ours;
  return await startReady(`worker(${options.group})`, [join(programs, "worker.mjs")], env);
}

/** A worker of our own SDK (programs/ours-worker.ts, through tsx), for the cross-SDK tests. */
export async function startOursWorker(url: string, options: { group: string; effects?: string; official?: string }): Promise<Proc & { pid: string }> {
  const env: NodeJS.ProcessEnv = { RESONATE_URL: url, GROUP: options.group };
  if (options.effects) env.EFFECTS = options.effects;
  if (options.official) env.OFFICIAL = options.official;
  return await startReady(`ours-worker(${options.group})`, ["--import", "tsx", join(programs, "ours-worker.ts")], env);
}

/** Both programs print "ready <group> <pid>" once their functions are registered. */
async function startReady(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<Proc & { pid: string }> {
  const proc = spawnProcess(name, process.execPath, args, { env });
  const m = await proc.waitForOutput(/ready \S+ (\S+)/);
  return Object.assign(proc, { pid: m[1]! });
}

export const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64");
