// A node that answers 503 UNAVAILABLE ("retry later") for a while, as a
// JetStream node does while its store is out of reach (a stream electing a new
// leader after a NATS server went away; here: NATS not started yet, so the node
// serves, is not ready, and answers every request 503). The SDK retries such an
// answer within its unavailable window, as it retries a lost connection.

import { afterAll, expect, it } from "vitest";
import { Resonate } from "@resonate-mesh/sdk";
import { startNats, type NatsServer } from "../support/nats.ts";
import { spawnJetStreamServe } from "../support/mesh-processes.ts";
import { freePort } from "../support/node.ts";
import type { Proc } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";

let node: Proc | undefined;
let nats: NatsServer | undefined;
let client: Resonate | undefined;

afterAll(async () => {
  await client?.stop();
  await node?.stop("SIGTERM");
  await nats?.stop();
});

it("a call the node answers 503 UNAVAILABLE is retried until the node can answer it", async () => {
  const natsPort = await freePort();
  const served = await spawnJetStreamServe({ name: "node", nats: `nats://127.0.0.1:${natsPort}`, replicas: 1 });
  node = served.proc;
  const url = served.url;
  const notReady = async () => {
    if (!node!.running) throw new Error(`the node exited early:\n${node!.printed()}`);
    try {
      return (await fetch(`${url}/ready`)).status === 503;
    } catch {
      return false;
    }
  };
  await waitFor(() => `the node to serve, not ready, on ${url}\n${node!.printed()}`, notReady, 30_000);

  client = new Resonate({ url, unavailableRetryMs: 120_000, stopGraceMs: 0 });
  let answered = false;
  const created = client.promises.create("unavailable-1");
  created.then(
    () => (answered = true),
    () => (answered = true),
  );
  // The node answers 503 meanwhile: the call is still being retried, neither resolved nor failed.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(answered).toBe(false);

  nats = await startNats({ port: natsPort });
  const promise = await created;
  expect(promise.id).toBe("unavailable-1");
  expect(promise.state).toBe("pending");
});
