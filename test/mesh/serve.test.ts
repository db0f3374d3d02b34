// `resonate serve --store jetstream` as a user runs it: real node processes
// on a real nats-server.

import { afterAll, describe, expect, it } from "vitest";
import { createClient } from "@resonate-mesh/node/internal-for-tests";
import { Health, HealthCheckResponse_ServingStatus, PromiseService } from "@resonate-mesh/node/proto";
import { startNats, type NatsServer } from "../support/nats.ts";
import { freePort, resonateBin } from "../support/node.ts";
import { spawnProcess, stopAll, type Proc } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";

const servers: NatsServer[] = [];
afterAll(async () => {
  await stopAll();
  for (const s of servers) await s.stop().catch(() => undefined);
});

async function nats(options: { port?: number } = {}): Promise<NatsServer> {
  const s = await startNats(options);
  servers.push(s);
  return s;
}

function serve(port: number, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  return spawnProcess("resonate serve", process.execPath, [resonateBin, "serve", "--host", "127.0.0.1", "--port", String(port), "--store", "jetstream", ...args], {
    env: { RESONATE_LOG_LEVEL: "info", ...env },
  });
}

async function readyStatus(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/ready`)).status;
  } catch {
    return 0;
  }
}

describe("resonate serve --store jetstream", () => {
  it("two nodes on one nats-server are one service: a promise created on one is read on the other", async () => {
    const n = await nats();
    const [p1, p2] = [await freePort(), await freePort()];
    serve(p1, ["--nats", n.url, "--partitions", "4"]);
    serve(p2, [], { RESONATE_NATS: n.url, RESONATE_PARTITIONS: "4" });
    await waitFor("both nodes ready", async () => (await readyStatus(p1)) === 200 && (await readyStatus(p2)) === 200, 30_000);
    const one = createClient(PromiseService, `127.0.0.1:${p1}`);
    const two = createClient(PromiseService, `127.0.0.1:${p2}`);
    try {
      await one.create({ id: "served-1", timeoutAt: BigInt(Date.now() + 60_000) });
      expect((await two.get({ id: "served-1" })).promise?.id).toBe("served-1");
    } finally {
      one.close();
      two.close();
    }
  }, 60_000);

  it("while NATS is unreachable the node says so once, is not ready (HTTP and gRPC health), and serves once NATS is up", async () => {
    const natsPort = await freePort();
    const port = await freePort();
    const node = serve(port, ["--nats", `nats://127.0.0.1:${natsPort}`]);
    await node.waitForOutput(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:\d+.*retrying with backoff/, 30_000);
    expect(await readyStatus(port)).toBe(503);
    const health = createClient(Health, `127.0.0.1:${port}`);
    try {
      expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
      await nats({ port: natsPort });
      await waitFor("the node to become ready", async () => (await readyStatus(port)) === 200, 30_000);
      expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect(node.output.match(/cannot connect to NATS/g)?.length).toBe(1);
    } finally {
      health.close();
    }
  }, 60_000);

  it("a node started with another partition count than the cluster's exits with a sentence naming both", async () => {
    const n = await nats();
    const firstPort = await freePort();
    serve(firstPort, ["--nats", n.url, "--partitions", "4"]);
    await waitFor("the cluster to exist", async () => (await readyStatus(firstPort)) === 200, 30_000);
    const port = await freePort();
    const second = serve(port, ["--nats", n.url, "--partitions", "8"]);
    const code = await second.exited;
    expect(code).not.toBe(0);
    expect(second.output).toMatch(/created with 4 partitions and this node was started with 8; start it with --partitions 4/);
  }, 60_000);

  it("a bad --replicas is refused before anything starts", async () => {
    const node = serve(await freePort(), ["--replicas", "2"]);
    expect(await node.exited).not.toBe(0);
    expect(node.stderr).toMatch(/--replicas.*It must be 1 or 3/);
  });
});
