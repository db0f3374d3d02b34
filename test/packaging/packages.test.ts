// The packages as a user gets them: `npm pack` both, install the tarballs
// into a new project outside this repository (no workspace, no tsx), and
// there run plain JavaScript against a node started from the installed
// `resonate` bin, and type-check TypeScript against the shipped declarations.

import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startNode } from "../support/node.ts";
import { repoRoot, runToEnd, spawnProcess, stopAll } from "../support/processes.ts";

const here = join(repoRoot, "test/packaging/project");
// The packages' own dev-time resolution (the "resonate-mesh-source" condition) must not leak into the installed project.
const plainEnv = { NODE_OPTIONS: "" };

/** Run to the end; fail with its output unless it exits 0. */
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, ...plainEnv }, stdio: "pipe" });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? e.message}`);
  }
}

describe("the packed packages, installed into a new project", () => {
  let project: string;

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), "resonate-packaging-"));
    const packs = join(project, "packs");
    mkdirSync(packs);
    // `npm pack` runs each package's prepack (its build), so the tarballs hold current dist/.
    run("npm", ["pack", "--silent", "-w", "node", "-w", "sdk", "--pack-destination", packs], repoRoot);
    const tarballs = readdirSync(packs).map((f) => join(packs, f));
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "packaging-check", private: true, type: "module" }));
    for (const file of ["worker.mjs", "client.mjs", "typed.ts"]) copyFileSync(join(here, file), join(project, file));
    // The registry is reachable; --prefer-offline takes what the workspace install already cached.
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs, "typescript@5.9.3", "@types/node@20"], project);
  }, 600_000);

  afterAll(async () => {
    await stopAll();
    if (project !== undefined) rmSync(project, { recursive: true, force: true });
  });

  test("the installed project has no TypeScript loader to lean on", () => {
    expect(existsSync(join(project, "node_modules/@resonate-mesh/sdk/dist/index.js"))).toBe(true);
    expect(existsSync(join(project, "node_modules/tsx"))).toBe(false);
  });

  test("the installed resonate command runs through its #! line (its Node.js flags are accepted)", () => {
    // Executed as a user's shell does: the kernel reads `#!/usr/bin/env -S node <flags>`.
    expect(run(join(project, "node_modules/.bin/resonate"), ["serve", "--help"], project)).toMatch(/run a mesh node: gRPC and HTTP/);
  });

  test("a plain .mjs worker and client run hello world against the installed resonate bin", async () => {
    const node = await startNode({ bin: join(project, "node_modules/.bin/resonate"), cwd: project, env: plainEnv });
    const env = { ...plainEnv, RESONATE_URL: node.url };
    const worker = spawnProcess("worker.mjs", process.execPath, ["worker.mjs"], { cwd: project, env });
    await worker.waitForLine(/Worker started\. Waiting for invocations\.\.\./);

    const client = await runToEnd("client.mjs", process.execPath, ["client.mjs", "greet-1", "World"], { cwd: project, env });

    expect(client.stderr).toBe("");
    expect(client.stdout).toBe("Hello, World! Welcome to durable execution.\n");
    await worker.waitForLine(/^format_greeting\("World"\)$/m);
  }, 180_000);

  test.each([
    ["node16", ["--module", "node16", "--moduleResolution", "node16"]],
    ["bundler", ["--module", "preserve", "--moduleResolution", "bundler"]],
  ])("a .ts file using the SDK's types passes tsc --noEmit with moduleResolution %s", (_name, flags) => {
    const tsc = join(project, "node_modules/typescript/bin/tsc");
    run(process.execPath, [tsc, "--noEmit", "--strict", "--target", "es2022", "--types", "node", ...flags, "typed.ts"], project);
  }, 300_000); // tsc on a busy machine takes a minute
});
