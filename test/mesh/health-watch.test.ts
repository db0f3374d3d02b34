// gRPC health Watch follows a node's readiness: a load balancer watching it
// hears NOT_SERVING while the node's NATS is down and SERVING once it is back,
// without polling Check.

import { afterAll, describe, expect, it } from "vitest";
import { createClient } from "@resonate-mesh/node/internal-for-tests";
import { Health, HealthCheckResponse_ServingStatus as Serving, type HealthCheckResponse } from "@resonate-mesh/node/proto";
import { serveJetStream } from "../support/mesh-processes.ts";
import { startNats, type NatsServer } from "../support/nats.ts";
import { stopAll } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";

const servers: NatsServer[] = [];
afterAll(async () => {
  await stopAll();
  for (const s of servers) await s.stop().catch(() => undefined);
});

describe("gRPC health Watch", () => {
  it("streams NOT_SERVING while NATS is down and SERVING once it is back", async () => {
    const first = await startNats();
    servers.push(first);
    const node = await serveJetStream({ nats: first.url, name: "health-node" });
    const health = createClient(Health, node.address);
    const seen: Serving[] = [];
    const stream = health.watch({ service: "" });
    stream.on("data", (r: HealthCheckResponse) => seen.push(r.status));
    stream.on("error", () => undefined);
    try {
      await waitFor("the first status", () => seen.length >= 1, 10_000);
      expect(seen[0]).toBe(Serving.SERVING);

      await first.crash();
      await waitFor(() => `NOT_SERVING after NATS died (seen ${seen.join(",")})`, () => seen.includes(Serving.NOT_SERVING), 30_000);
      // Back on the same port with the same data.
      servers.push(await startNats({ port: first.port, storeDir: first.storeDir }));
      await waitFor(() => `SERVING after NATS came back (seen ${seen.join(",")})`, () => seen.lastIndexOf(Serving.SERVING) > seen.indexOf(Serving.NOT_SERVING), 60_000);
      expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING, Serving.SERVING]);
    } finally {
      stream.cancel();
      health.close();
    }
  }, 120_000);
});
