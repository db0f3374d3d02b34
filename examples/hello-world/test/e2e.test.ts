// The README's walk-through with real processes: a node, the worker, and the
// CLI invoking `greet` exactly as the README (and the seed) writes it.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopAll, type Proc } from "../../../test/support/processes.ts";
import { waitFor } from "../../../test/support/wait.ts";
import { startNode } from "../../../test/support/node.ts";
import { example } from "../../../test/support/examples.ts";

const { resonate, tsx } = example(import.meta.url);

const env = { WORKER_TTL_MS: "2000" };

describe("hello world: greet calls format_greeting on a worker", () => {
  let server: string;
  let worker: Proc;

  const startWorker = async (name: string) => {
    const w = tsx(name, "src/worker.ts", { ...env, RESONATE_URL: server });
    await w.waitForLine(/Worker started\. Waiting for invocations\.\.\./);
    return w;
  };

  /** `resonate promises get <id>` until it is no longer pending. */
  const settled = (id: string) =>
    waitFor(`${id} to settle`, async () => {
      const got = await resonate(server, "promises", "get", id);
      return /^state +pending$/m.test(got.stdout) ? undefined : got.stdout;
    });

  beforeAll(async () => {
    server = (await startNode()).url;
    worker = await startWorker("worker");
  });

  afterAll(stopAll);

  test("resonate invoke greet-1 --func greet --arg '\"World\"' prints the id and the worker runs the leaf", async () => {
    const invoked = await resonate(server, "invoke", "greet-1", "--func", "greet", "--arg", '"World"');
    expect(invoked.code).toBe(0);
    expect(invoked.stdout).toBe("greet-1\n");
    await worker.waitForLine(/^format_greeting\("World"\)$/m);
  });

  test("resonate promises get greet-1 shows the resolved greeting", async () => {
    const shown = await settled("greet-1");
    expect(shown).toMatch(/^state +resolved$/m);
    expect(shown).toMatch(/^func +greet$/m);
    expect(shown).toMatch(/^value +"Hello, World! Welcome to durable execution\."$/m);
  });

  test("invoke --wait prints the result", async () => {
    const waited = await resonate(server, "invoke", "greet-2", "--func", "greet", "--arg", '"Durable"', "--wait");
    expect(waited.code).toBe(0);
    expect(waited.stdout).toBe('"Hello, Durable! Welcome to durable execution."\n');
  });

  test("resonate tree greet-1 shows the workflow and its checkpoint", async () => {
    const tree = await resonate(server, "tree", "greet-1");
    expect(tree.code).toBe(0);
    const lines = tree.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^greet-1 +greet +resolved +\S+$/);
    expect(lines[1]).toMatch(/^└── greet-1\.0 +format_greeting +resolved +\S+$/);
  });

  test("an invocation made while no worker runs waits for one and then completes", async () => {
    await worker.crash();
    expect((await resonate(server, "invoke", "greet-3", "--func", "greet", "--arg", '"Later"')).code).toBe(0);
    expect((await resonate(server, "promises", "get", "greet-3")).stdout).toMatch(/^state +pending$/m);

    worker = await startWorker("worker (restarted)");
    expect(await settled("greet-3")).toMatch(/^value +"Hello, Later! Welcome to durable execution\."$/m);
  });

  test("invoking a finished id again starts nothing and keeps its value", async () => {
    const again = await resonate(server, "invoke", "greet-1", "--func", "greet", "--arg", '"Someone else"');
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/"greet-1" already exists \(resolved\) with other arguments; nothing new was started/);
    expect((await resonate(server, "promises", "get", "greet-1")).stdout).toMatch(/^value +"Hello, World!/m);
    expect(worker.count(/format_greeting\("Someone else"\)/)).toBe(0);
  });
});
