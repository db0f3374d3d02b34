// An example's programs started the way its README starts them, in the
// example's folder: its programs with `npx tsx`, the CLI with `npx resonate`.

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runToEnd, spawnProcess, type Proc, type RunResult } from "./processes.ts";

export interface Example {
  dir: string;
  /** `npx tsx <file> [args]`, as the README runs it. */
  tsx(name: string, file: string, env?: NodeJS.ProcessEnv, args?: string[]): Proc;
  /** Any other program (a server the example needs). */
  program(name: string, command: string, args: string[], env?: NodeJS.ProcessEnv): Proc;
  /** `npx resonate <args>` against `server`, as the README runs it, to its end. */
  resonate(server: string, ...args: string[]): Promise<RunResult>;
}

/** The example whose test is `testFileUrl` (its `import.meta.url`, in `examples/<name>/test/`). */
export function example(testFileUrl: string): Example {
  const dir = resolve(dirname(fileURLToPath(testFileUrl)), "..");
  return {
    dir,
    tsx: (name, file, env = {}, args = []) => spawnProcess(name, "npx", ["tsx", file, ...args], { cwd: dir, env }),
    program: (name, command, args, env = {}) => spawnProcess(name, command, args, { cwd: dir, env }),
    resonate: (server, ...args) =>
      runToEnd(`resonate ${args[0] ?? ""}`, "npx", ["resonate", ...args], { cwd: dir, env: { RESONATE_SERVER: server } }),
  };
}
