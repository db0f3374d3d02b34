// The official Resonate TypeScript SDK (@resonatehq/sdk 0.11.5), unmodified,
// against a node that requires tokens: the client and a worker process have
// `token` set, scoped to the prefix "a/". A workflow with a local step, a
// durable sleep and an rpc runs to its end.

import "../official-sdk/with-resolvers.ts";
import { Resonate, type Context } from "@resonatehq/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { repoRoot, spawnProcess, stopAll } from "../support/processes.ts";
import { keyDir, keyPair, mint, startSecureNode, type SecureNode } from "./support.ts";

let node: SecureNode;
let client: Resonate;
let token: string;

beforeAll(async () => {
  const pair = keyPair(keyDir(), "RS256");
  node = await startSecureNode(pair.publicFile);
  token = await mint(pair, { claims: { prefix: "a/" } });
  const worker = spawnProcess("official-worker", process.execPath, [join(repoRoot, "test/security/programs/official-worker.mjs")], {
    cwd: join(repoRoot, "test"),
    env: { RESONATE_URL: node.url, GROUP: "workers", TOKEN: token },
  });
  await worker.waitForOutput(/ready workers/);
  client = new Resonate({ url: node.url, group: "clients", ttl: 2_000, token });
});

afterAll(async () => {
  await client?.stop();
  await node?.stop();
  await stopAll();
});

describe("the official SDK with a token", () => {
  it("runs a workflow with a step, a sleep and an rpc on a worker process", async () => {
    // wf(n, sleepMs) = (n + 1) + 10
    expect(await client.rpc("a/wf-1", "wf", 4, 200, client.options({ target: "workers" }))).toBe(15);
  });

  it("runs a function registered on the client itself (task.create), with ctx.run", async () => {
    function* local(ctx: Context, x: number): Generator<any, number, any> {
      return yield* ctx.run((_c: Context, v: number) => v * 3, x);
    }
    client.register("local", local);
    expect(await client.run("a/local-1", "local", 5)).toBe(15);
  });

  it("stored what it ran under the token's prefix, as the node reads back", async () => {
    const answer = await node.envelope({ kind: "promise.get", data: { id: "a/wf-1" } }, token);
    expect(answer.status).toBe(200);
    expect(answer.body.data.promise.state).toBe("resolved");
  });
});
