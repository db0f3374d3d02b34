// Real processes for the official-SDK tests: a node (`resonate dev`) and
// worker programs, each on this machine, each stopped by the test that
// started it.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../..");
const programs = join(here, "programs");

export async function freePort(): Promise<number> {
  return await new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A child process whose output is kept for failure messages. */
export class Proc {
  output = "";
  private exited: Promise<number | null>;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((ok) => child.once("exit", (code) => ok(code)));
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  async waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return await waitFor(`${this.name} to print ${pattern}\n--- output so far ---\n${this.output}`, () => {
      if (!this.running && !pattern.test(this.output)) throw new Error(`${this.name} exited early:\n${this.output}`);
      return this.output.match(pattern) ?? undefined;
    }, timeoutMs);
  }
  async kill(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.running) this.child.kill(signal);
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (this.running) this.child.kill("SIGKILL");
    await this.exited;
  }
}

export interface NodeProc {
  url: string;
  port: number;
  proc: Proc;
}

/** `resonate dev` on a free port, ready when /ready answers 200. */
export async function startNode(extraArgs: string[] = []): Promise<NodeProc> {
  const port = await freePort();
  const bin = join(repoRoot, "node/bin/resonate.js");
  if (!existsSync(bin)) throw new Error(`the node binary ${bin} does not exist yet`);
  const child = spawn(process.execPath, [bin, "dev", "--port", String(port), ...extraArgs], {
    cwd: repoRoot,
    env: { ...process.env, RESONATE_LOG_LEVEL: process.env.RESONATE_LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = new Proc("node", child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`the node to be ready on ${url}\n${proc.output}`, async () => {
    if (!proc.running) throw new Error(`the node exited early:\n${proc.output}`);
    try {
      return (await fetch(`${url}/ready`)).status === 200;
    } catch {
      return false;
    }
  }, 30_000, 50);
  return { url, port, proc };
}

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
  const env: NodeJS.ProcessEnv = { ...process.env, RESONATE_URL: url, GROUP: options.group, TTL: String(options.ttl ?? 2000) };
  if (options.effects) env.EFFECTS = options.effects;
  if (options.hangAt) env.HANG_AT = options.hangAt;
  if (options.adders) env.ADDERS = options.adders;
  if (options.ours) env.OURS = options.ours;
  const child = spawn(process.execPath, [join(programs, "worker.mjs")], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  const proc = new Proc(`worker(${options.group})`, child);
  const m = await proc.waitForOutput(/ready \S+ (\S+)/);
  return Object.assign(proc, { pid: m[1]! });
}

/** A worker of our own SDK (programs/ours-worker.ts, through tsx), for the cross-SDK tests. */
export async function startOursWorker(url: string, options: { group: string; effects?: string; official?: string }): Promise<Proc & { pid: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, RESONATE_URL: url, GROUP: options.group };
  if (options.effects) env.EFFECTS = options.effects;
  if (options.official) env.OFFICIAL = options.official;
  const child = spawn(process.execPath, ["--import", "tsx", join(programs, "ours-worker.ts")], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  const proc = new Proc(`ours-worker(${options.group})`, child);
  const m = await proc.waitForOutput(/ready \S+ (\S+)/);
  return Object.assign(proc, { pid: m[1]! });
}

export function tempFile(name: string): string {
  return join(mkdtempSync(join(tmpdir(), "official-sdk-")), name);
}

export function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0);
}

export function count(file: string, line: string): number {
  return lines(file).filter((l) => l === line).length;
}

export const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64");
