// Real processes for the SDK's end-to-end tests: a node (`resonate dev` on a
// free port) and worker programs run through tsx, each stopped by its test.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../..");

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

export async function waitUntil<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A child process whose output is kept for failure messages. */
export class Proc {
  output = "";
  readonly exited: Promise<number | null>;
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
  async waitForOutput(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return await waitUntil(`${this.name} to print ${pattern}\n--- output ---\n${this.output}`, () => {
      const m = this.output.match(pattern);
      if (m) return m;
      if (!this.running) throw new Error(`${this.name} exited early:\n${this.output}`);
      return undefined;
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
  proc: Proc;
}

/** `resonate dev` on a free port, ready once /ready answers 200. */
export async function startNode(): Promise<NodeProc> {
  const port = await freePort();
  const bin = join(repoRoot, "node/bin/resonate.js");
  const child = spawn(process.execPath, [bin, "dev", "--port", String(port)], {
    cwd: repoRoot,
    env: { ...process.env, RESONATE_LOG_LEVEL: process.env.RESONATE_LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = new Proc("node", child);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(`the node on ${url}`, async () => {
    if (!proc.running) throw new Error(`the node exited early:\n${proc.output}`);
    try {
      return (await fetch(`${url}/ready`)).status === 200;
    } catch {
      return false;
    }
  }, 30_000);
  return { url, proc };
}

/** A worker program of test/sdk/programs, ready once it printed "ready <pid>". */
export async function startWorker(url: string, env: Record<string, string>): Promise<Proc & { pid: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "programs", "worker.ts")], {
    cwd: repoRoot,
    env: { ...process.env, RESONATE_URL: url, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = new Proc(`worker(${env.GROUP ?? "default"})`, child);
  const m = await proc.waitForOutput(/ready (\S+)/);
  return Object.assign(proc, { pid: m[1]! });
}

export function tempFile(name: string): string {
  return join(mkdtempSync(join(tmpdir(), "resonate-sdk-")), name);
}

export function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0);
}

export function count(file: string, line: string): number {
  return lines(file).filter((l) => l === line).length;
}
