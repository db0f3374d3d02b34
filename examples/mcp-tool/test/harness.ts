// Real processes for this example's end-to-end test, started the way its
// README starts them: the node with `resonate dev --port`, the example's
// programs with `npx tsx`. (Each example keeps its own copy of this file so
// that an example stays a folder you can copy on its own.)

import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const exampleDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = resolve(exampleDir, "../..");
const resonateBin = join(repoRoot, "node/bin/resonate.js");

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

/** Poll `probe` until it gives a value (not undefined/false); fail with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A child process whose output is kept for assertions and for failure messages. */
export class Proc {
  stdout = "";
  stderr = "";
  /** Set when the program could not be started at all (not installed, ...). */
  spawnError: Error | undefined;
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((ok) => {
      // "close": the process has exited and so has everything that held its
      // output open (what npx and tsx started under it).
      child.once("close", (code) => ok(code));
      child.once("error", (err) => {
        this.spawnError = err;
        this.stderr += `${err.message}\n`;
        ok(null);
      });
    });
  }

  get running(): boolean {
    return this.spawnError === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** stdout lines (what the README tells the user to look at). */
  lines(): string[] {
    return this.stdout.split("\n").filter((l) => l.length > 0);
  }

  /** Resolve with the first stdout match of `pattern` once it is printed. */
  async waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return await waitFor(
      () => `${this.name} to print ${pattern}\n--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`,
      () => {
        const m = this.stdout.match(pattern);
        if (m) return m;
        if (!this.running) throw new Error(`${this.name} exited before printing ${pattern}:\n${this.stdout}\n${this.stderr}`);
        return undefined;
      },
      timeoutMs,
    );
  }

  /** How many stdout lines match `pattern`. */
  count(pattern: RegExp): number {
    return this.lines().filter((l) => pattern.test(l)).length;
  }

  /** Send `signal`; escalate to SIGKILL after 5 s; resolve once the process is gone. */
  async kill(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.running) this.child.kill(signal);
    const timer = new Promise((r) => setTimeout(r, 5_000).unref());
    await Promise.race([this.exited, timer]);
    if (this.running) this.child.kill("SIGKILL");
    await this.exited;
  }
}

const running = new Set<Proc>();

function launch(name: string, command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, RESONATE_LOG_LEVEL: process.env.RESONATE_LOG_LEVEL ?? "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so killing it also kills what npx started under it.
    detached: true,
  });
  const proc = new Proc(name, child);
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  return proc;
}

/** `npx tsx src/<file> [args]` in the example's folder, as the README runs it. */
export function tsx(name: string, file: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Proc {
  return launch(name, "npx", ["tsx", file, ...args], exampleDir, env);
}

/** Any other program (a server the example needs), in the example's folder. */
export function program(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  return launch(name, command, args, exampleDir, env);
}

/** SIGKILL a process and everything it started (npx -> tsx -> node): a crash. */
export async function crash(proc: Proc): Promise<void> {
  killGroup(proc, "SIGKILL");
  await proc.exited;
}

/** Stop a process and everything it started. */
export async function stop(proc: Proc, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  killGroup(proc, signal);
  const timer = new Promise((r) => setTimeout(r, 5_000).unref());
  await Promise.race([proc.exited, timer]);
  if (proc.running) killGroup(proc, "SIGKILL");
  await proc.exited;
}

function killGroup(proc: Proc, signal: NodeJS.Signals): void {
  if (!proc.running || proc.child.pid === undefined) return;
  try {
    process.kill(-proc.child.pid, signal);
  } catch {
    proc.child.kill(signal);
  }
}

/** Kill every process this file started that is still running (afterAll/afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stop(p, "SIGKILL")));
}

export interface NodeProc {
  url: string;
  proc: Proc;
}

/** `resonate dev --port <free port>`, ready once GET /ready answers 200. */
export async function startNode(): Promise<NodeProc> {
  const port = await freePort();
  const proc = launch("node", process.execPath, [resonateBin, "dev", "--port", String(port)], repoRoot, {});
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    () => `the node to be ready on ${url}\n${proc.stdout}${proc.stderr}`,
    async () => {
      if (!proc.running) throw new Error(`the node exited early:\n${proc.stdout}${proc.stderr}`);
      try {
        return (await fetch(`${url}/ready`)).status === 200;
      } catch {
        return false;
      }
    },
    30_000,
  );
  return { url, proc };
}
