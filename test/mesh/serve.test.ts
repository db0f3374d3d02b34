// `resonate serve --store jetstream` as a user runs it: real node processes
// on a real nats-server.

import { afterAll, describe, expect, it } from "vitest";
import { createClient } from "@resonate-mesh/node/internal-for-tests";
import { Health, HealthCheckResponse_ServingStatus, PromiseService } from "@resonate-mesh/node/proto";
import { startNats, type NatsServer } from "../support/nats.ts";
import { freePort, resonateBin } from "../support/node.ts";
import { spawnProcess, stopAll, type Proc } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { scrape, type Scrape } from "../observability/prometheus.ts";

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

  it("--mesh-heartbeat-ms and --mesh-expire-ms set the mesh's heartbeat and expiry; a killed node's partitions move to the live one, which logs and reports them", async () => {
    const n = await nats();
    const [p1, p2] = [await freePort(), await freePort()];
    const mesh = ["--nats", n.url, "--partitions", "8", "--nats-namespace", "meshflags"];
    const survivor = serve(p1, [...mesh, "--mesh-heartbeat-ms", "250", "--mesh-expire-ms", "1500"]);
    const victim = serve(p2, mesh, { RESONATE_MESH_HEARTBEAT_MS: "250", RESONATE_MESH_EXPIRE_MS: "1500" });
    for (const node of [survivor, victim]) {
      await node.waitForOutput(/joined the mesh as \S+: a heartbeat every 250 ms; a node silent for 1500 ms has left/, 30_000);
    }
    const url = `http://127.0.0.1:${p1}`;
    const owned = (s: Scrape) =>
      Array.from({ length: 8 }, (_, p) => s.value("resonate_mesh_partition_owned", { partition: String(p) })).filter((v) => v === 1).length;
    // What the survivor owns, read from the scrape in which it sees both members.
    const both = await waitFor(
      "the survivor to see two members",
      async () => {
        const s = await scrape(url);
        return s.value("resonate_mesh_members") === 2 ? s : undefined;
      },
      30_000,
    );
    const before = owned(both);
    // Alone, a node owns all 8; each logs what it owns once it hears the other (unless that is still all 8).
    if (before < 8) await survivor.waitForOutput(new RegExp(`this node now owns ${before} of 8 partitions`), 10_000);
    if (before > 0) await victim.waitForOutput(new RegExp(`this node now owns ${8 - before} of 8 partitions`), 10_000);
    await victim.crash();
    const after = await waitFor(
      "the survivor to own every partition",
      async () => {
        const s = await scrape(url);
        return owned(s) === 8 ? s : undefined;
      },
      30_000,
    );
    expect(after.value("resonate_mesh_members")).toBe(1);
    if (before < 8) await survivor.waitForOutput(/this node now owns 8 of 8 partitions/, 10_000);
  }, 60_000);

  it("--mesh-expire-ms under twice --mesh-heartbeat-ms is refused before anything starts, naming both", async () => {
    const node = serve(await freePort(), ["--mesh-heartbeat-ms", "500", "--mesh-expire-ms", "900"]);
    expect(await node.exited).not.toBe(0);
    expect(node.stderr).toMatch(/--mesh-expire-ms \(900\) must be at least twice --mesh-heartbeat-ms \(500\)/);
  });

  it("--mesh-heartbeat-ms with the memory store is refused: a mesh needs JetStream", async () => {
    const node = spawnProcess("resonate serve", process.execPath, [resonateBin, "serve", "--port", "0", "--mesh-heartbeat-ms", "500"]);
    expect(await node.exited).not.toBe(0);
    expect(node.stderr).toMatch(/--mesh-heartbeat-ms and --mesh-expire-ms need --store jetstream/);
  });

  it("a bad --replicas is refused before anything starts", async () => {
    const node = serve(await freePort(), ["--replicas", "2"]);
    expect(await node.exited).not.toBe(0);
    expect(node.stderr).toMatch(/--replicas.*It must be 1 or 3/);
  });
});
