// The jetstream store's connection to NATS over TLS: a real nats-server that
// requires TLS and verifies client certificates, and `resonate serve` given
// --nats-ca, --nats-cert and --nats-key (or not).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNats, type NatsServer } from "../support/nats.ts";
import { spawnJetStreamServe } from "../support/mesh-processes.ts";
import { cli, freePort } from "../support/node.ts";
import { stopAll, type Proc } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { certDir, issue, makeCa, type Ca, type Cert } from "./tls-support.ts";

const dir = certDir();
let ca: Ca;
let natsCert: Cert;
let nodeClient: Cert;
let nats: NatsServer;

beforeAll(async () => {
  ca = makeCa(dir, "nats-ca");
  natsCert = issue(dir, ca, "nats");
  nodeClient = issue(dir, ca, "resonate-node", "client");
  nats = await startNats({
    args: ["--tls", "--tlscert", natsCert.certFile, "--tlskey", natsCert.keyFile, "--tlscacert", ca.certFile, "--tlsverify"],
  });
}, 60_000);

afterAll(async () => {
  await nats?.stop();
  await stopAll();
});

async function serve(natsArgs: string[]): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const node = await spawnJetStreamServe({ name: "node", nats: `tls://127.0.0.1:${nats.port}`, namespace: `tls${port}`, args: natsArgs });
  return { proc: node.proc, url: node.url };
}

async function readyStatus(url: string): Promise<number | undefined> {
  try {
    return (await fetch(`${url}/ready`)).status;
  } catch {
    return undefined;
  }
}

describe("the jetstream store over TLS", () => {
  it("connects to a NATS that requires TLS and client certificates, given --nats-ca, --nats-cert and --nats-key", async () => {
    const { proc, url } = await serve(["--nats-ca", ca.certFile, "--nats-cert", nodeClient.certFile, "--nats-key", nodeClient.keyFile]);
    try {
      await waitFor(() => `the node to be ready\n${proc.printed()}`, async () => (await readyStatus(url)) === 200, 30_000);
      const created = await cli(["promises", "create", "nats-tls-1", "--timeout", "1h", "--server", url]);
      expect(created.code).toBe(0);
      const got = await cli(["promises", "get", "nats-tls-1", "--json", "--server", url]);
      expect(JSON.parse(got.stdout)).toMatchObject({ id: "nats-tls-1", state: "pending" });
    } finally {
      await proc.stop("SIGTERM");
    }
  }, 60_000);

  it("stays not ready and says why without a client certificate", async () => {
    const { proc, url } = await serve(["--nats-ca", ca.certFile]);
    try {
      await proc.waitForOutput(/cannot connect to NATS at tls:\/\/127\.0\.0\.1/, 30_000);
      expect(await readyStatus(url)).toBe(503);
    } finally {
      await proc.stop("SIGTERM");
    }
  }, 60_000);

  it("refuses a half-given client certificate with one sentence", async () => {
    const result = await cli(["serve", "--port", "0", "--store", "jetstream", "--nats", `tls://127.0.0.1:${nats.port}`, "--nats-cert", nodeClient.certFile]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe("error: --nats-cert and --nats-key go together: the client certificate for NATS and its private key");
  }, 60_000);
});
