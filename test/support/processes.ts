// Child processes for end-to-end tests (the node, workers, example programs,
// the CLI): each in its own process group, its output kept for assertions
// and for failure messages, and every one still running stopped by stopAll().

import { spawn, type ChildProcess } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait.ts";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A child process whose output is kept for assertions and for failure messages. */
export class Proc {
  stdout = "";
  stderr = "";
  /** stdout and stderr in the order they arrived. */
  output = "";
  /** Set when the program could not be started at all (not installed, ...). */
  spawnError: Error | undefined;
  /** The exit code, once the process has exited and its output is all read. */
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (d: Buffer) => {
      this.stdout += d.toString();
      this.output += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      this.stderr += d.toString();
      this.output += d.toString();
    });
    this.exited = new Promise((ok) => {
      // "close", not "exit": the process has exited and so has everything that
      // held its output open (what npx and tsx started under it).
      child.once("close", (code) => ok(code));
      child.once("error", (err) => {
        this.spawnError = err;
        this.stderr += `${err.message}\n`;
        this.output += `${err.message}\n`;
        ok(null);
      });
    });
  }

  get running(): boolean {
    return this.spawnError === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** stdout lines (what a README tells the user to look at). */
  lines(): string[] {
    return this.stdout.split("\n").filter((l) => l.length > 0);
  }

  /** How many stdout lines match `pattern`. */
  count(pattern: RegExp): number {
    return this.lines().filter((l) => pattern.test(l)).length;
  }

  /** Resolve with the first match of `pattern` in stdout once it is printed. */
  async waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return await this.waitForMatch(pattern, () => this.stdout, timeoutMs);
  }

  /** Resolve with the first match of `pattern` in stdout and stderr together once it is printed. */
  async waitForOutput(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return await this.waitForMatch(pattern, () => this.output, timeoutMs);
  }

  private async waitForMatch(pattern: RegExp, text: () => string, timeoutMs: number): Promise<RegExpMatchArray> {
    return await waitFor(
      () => `${this.name} to print ${pattern}\n${this.printed()}`,
      () => {
        const m = text().match(pattern);
        if (m) return m;
        if (!this.running) throw new Error(`${this.name} exited before printing ${pattern}:\n${this.printed()}`);
        return undefined;
      },
      timeoutMs,
    );
  }

  /** What it printed so far, for a failure message. */
  printed(): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`;
  }

  /** Send `signal` to it and everything it started; SIGKILL after 5 s; resolve once it is gone. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    this.signalGroup(signal);
    const timer = new Promise((r) => setTimeout(r, 5_000).unref());
    await Promise.race([this.exited, timer]);
    if (this.running) this.signalGroup("SIGKILL");
    await this.exited;
  }

  /** SIGKILL it and everything it started (npx -> tsx -> node): a crash. */
  async crash(): Promise<void> {
    this.signalGroup("SIGKILL");
    await this.exited;
  }

  signalGroup(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      this.child.kill(signal);
    }
  }
}

export interface SpawnOptions {
  /** Default: the repository's root. */
  cwd?: string;
  /** On top of this process's environment. */
  env?: NodeJS.ProcessEnv;
}

const running = new Set<Proc>();

/** Start `command args`, quiet unless RESONATE_LOG_LEVEL says otherwise. */
export function spawnProcess(name: string, command: string, args: string[], options: SpawnOptions = {}): Proc {
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, RESONATE_LOG_LEVEL: process.env.RESONATE_LOG_LEVEL ?? "warn", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that stopping it also stops what it started (npx -> tsx -> node).
    detached: true,
  });
  const proc = new Proc(name, child);
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  return proc;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `command args` to its end. */
export async function runToEnd(name: string, command: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  const proc = spawnProcess(name, command, args, options);
  const code = await proc.exited;
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}

/** SIGKILL every process this test file started that still runs (for afterAll/afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop("SIGKILL")));
}

// A detached child does not get the terminal's Ctrl-C: if this test process
// ends without stopAll() (an interrupted run), take its children with it.
process.once("exit", () => {
  for (const proc of running) proc.signalGroup("SIGKILL");
});
