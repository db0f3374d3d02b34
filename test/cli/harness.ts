// Real processes for the CLI tests: a node started the way a user starts it
// (`resonate dev --port`), and the `resonate` CLI run as a child process.

import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const resonateBin = join(repoRoot, "node/bin/resonate.js");

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

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A long-running child whose output is kept, for assertions and failure messages. */
export class Proc {
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((ok) => child.once("exit", (code) => ok(code)));
  }
  get output(): string {
    return this.stdout + this.stderr;
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  async waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return await waitFor(
      `${this.name} to print ${pattern}\n--- output so far ---\n${this.output}`,
      () => {
        const m = this.output.match(pattern);
        if (m) return m;
        if (!this.running) throw new Error(`${this.name} exited before printing ${pattern}:\n${this.output}`);
        return undefined;
      },
      timeoutMs,
    );
  }
  /** Count how often a line matching `pattern` was printed. */
  count(pattern: RegExp): number {
    return this.output.match(new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g"))?.length ?? 0;
  }
  async kill(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.running) this.child.kill(signal);
    const timer = new Promise((r) => setTimeout(r, 5_000));
    await Promise.race([this.exited, timer]);
    if (this.running) this.child.kill("SIGKILL");
    await this.exited;
  }
}

/** Start a program (`node <bin> ...` or `npx tsx ...`) in `cwd` with extra env. */
export function start(name: string, command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, RESONATE_LOG_LEVEL: process.env.RESONATE_LOG_LEVEL ?? "warn", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Proc(name, child);
}

export interface NodeProc {
  url: string;
  port: number;
  proc: Proc;
  stop(): Promise<void>;
}

/** `resonate dev --port <free port>`, ready once `/ready` answers 200. */
export async function startNode(extraArgs: string[] = []): Promise<NodeProc> {
  const port = await freePort();
  const proc = start("node", process.execPath, [resonateBin, "dev", "--port", String(port), ...extraArgs]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `the node to be ready on ${url}`,
    async () => {
      if (!proc.running) throw new Error(`the node exited early:\n${proc.output}`);
      try {
        return (await fetch(`${url}/ready`)).status === 200;
      } catch {
        return false;
      }
    },
    30_000,
  );
  return { url, port, proc, stop: () => proc.kill("SIGTERM") };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `resonate <args>` to completion. */
export async function cli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  const proc = start("resonate", process.execPath, [resonateBin, ...args], options);
  const code = await proc.exited;
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}
