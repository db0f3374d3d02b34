// TLS on the one port, as users meet it: `resonate dev --tls-cert --tls-key`
// (and `--tls-client-ca`) with certificates made by openssl, and the SDK, the
// CLI, grpcurl and curl as clients; cleartext and untrusted clients are refused
// with a reason; replaced certificate files are served without a restart.

import { execFile } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resonate, type Context } from "@resonate-mesh/sdk";
import { readFileSync } from "node:fs";
import { cli, type NodeProc } from "../support/node.ts";
import { stopAll } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { certDir, fingerprintOf, httpsGet, issue, makeCa, servedFingerprint, startTlsNode, type Ca, type Cert } from "./tls-support.ts";

const run = promisify(execFile);

/** A tool run to its end: exit code and output, never a throw. */
async function tool(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(command, args, { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const dir = certDir();
let ca: Ca;
let otherCa: Ca;
let clientCa: Cert;
let serverCert: Cert;
let clientCert: Cert;
let rogueClient: Cert;
let node: NodeProc;

beforeAll(async () => {
  ca = makeCa(dir, "node-ca");
  otherCa = makeCa(dir, "other-ca");
  clientCa = makeCa(dir, "client-ca");
  serverCert = issue(dir, ca, "node");
  clientCert = issue(dir, clientCa, "worker-1", "client");
  rogueClient = issue(dir, otherCa, "rogue", "client");
  node = await startTlsNode(serverCert, ca);
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await stopAll();
});

async function greet(ctx: Context, name: string): Promise<string> {
  return await ctx.run(formatGreeting, name);
}
async function formatGreeting(_ctx: Context, name: string): Promise<string> {
  return `Hello, ${name}!`;
}

describe("a node serving TLS", () => {
  it("runs an SDK workflow for a client given its CA", async () => {
    const resonate = new Resonate({ url: node.url, tls: { ca: readFileSync(ca.certFile) }, group: "tls-sdk", handleSignals: false });
    try {
      resonate.register(greet, { name: "greet" });
      resonate.register(formatGreeting, { name: "format_greeting" });
      expect(await resonate.run("tls-greet-1", greet, "TLS")).toBe("Hello, TLS!");
    } finally {
      await resonate.stop();
    }
  }, 60_000);

  it("answers the CLI given --ca-file, or RESONATE_CA_FILE", async () => {
    const created = await cli(["promises", "create", "tls-cli-1", "--timeout", "1h", "--server", node.url, "--ca-file", ca.certFile]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const got = await cli(["promises", "get", "tls-cli-1", "--json", "--server", node.url], { env: { RESONATE_CA_FILE: ca.certFile } });
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: "tls-cli-1", state: "pending" });
  }, 60_000);

  it("answers grpcurl -cacert", async () => {
    const listed = await tool("grpcurl", ["-cacert", ca.certFile, node.address, "list"]);
    expect(listed.stderr).toBe("");
    expect(listed.stdout).toContain("resonate.mesh.v1.PromiseService");
  }, 60_000);

  it("answers curl --cacert on /health over HTTP/1.1, also when curl offers HTTP/2", async () => {
    for (const extra of [[], ["--http2"]]) {
      const health = await tool("curl", ["-sS", "--cacert", ca.certFile, ...extra, "-w", "\n%{http_version}", `${node.url}/health`]);
      expect(health.stderr).toBe("");
      expect(health.stdout).toBe('{"status":"ok"}\n1.1');
    }
  }, 60_000);

  it("refuses a cleartext HTTP/1.1 request with 400 and a sentence", async () => {
    const answer = await fetch(`http://${node.address}/health`);
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toMatch(/accepts TLS connections only: connect with https:\/\//);
  });

  it("refuses a cleartext gRPC client with UNAUTHENTICATED and a sentence, writing nothing", async () => {
    const plain = await tool("grpcurl", ["-plaintext", "-d", '{"id":"tls-plain-1","timeout_at":"4102444800000"}', node.address, "list"]);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/Unauthenticated.*accepts TLS connections only/);

    const viaCli = await cli(["promises", "create", "tls-plain-1", "--timeout", "1h", "--server", `http://${node.address}`]);
    expect(viaCli.code).toBe(1);
    expect(viaCli.stderr).toMatch(/requires TLS: use an https:\/\/ --server/);
    const got = await cli(["promises", "get", "tls-plain-1", "--server", node.url, "--ca-file", ca.certFile]);
    expect(got.stderr).toMatch(/not found/);
  }, 60_000);

  it("is refused by clients that trust another CA, which write nothing", async () => {
    const viaCli = await cli(["promises", "create", "tls-untrusted-1", "--timeout", "1h", "--server", node.url, "--ca-file", otherCa.certFile]);
    expect(viaCli.code).toBe(1);
    expect(viaCli.stderr).toMatch(/TLS: .*certificate.*pass --ca-file/);
    const viaCurl = await tool("curl", ["-sS", "--cacert", otherCa.certFile, `${node.url}/health`]);
    expect(viaCurl.code).toBe(60); // curl: peer certificate cannot be authenticated with given CA certificates
    const got = await cli(["promises", "get", "tls-untrusted-1", "--server", node.url, "--ca-file", ca.certFile]);
    expect(got.stderr).toMatch(/not found/);
  }, 60_000);

  it("says which flag is missing when a --ca-file does not exist", async () => {
    const missing = join(dir, "missing.pem");
    const result = await cli(["promises", "get", "x", "--server", node.url, "--ca-file", missing]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`error: --ca-file ${missing} cannot be read: no such file`);
  });
});

describe("a node requiring client certificates (--tls-client-ca)", () => {
  let mtls: NodeProc;
  beforeAll(async () => {
    mtls = await startTlsNode(serverCert, ca, { args: ["--tls-client-ca", clientCa.certFile], client: clientCert });
  }, 60_000);
  afterAll(async () => {
    await mtls?.stop();
  });

  it("refuses a client without a certificate, saying it needs one", async () => {
    const result = await cli(["promises", "create", "mtls-none-1", "--timeout", "1h", "--server", mtls.url, "--ca-file", ca.certFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/requires a client certificate: pass --cert-file and --key-file/);
    await expect(httpsGet(mtls.port, "/health", ca)).rejects.toThrow();
  }, 60_000);

  it("refuses a client certificate another CA signed", async () => {
    const tlsArgs = ["--ca-file", ca.certFile, "--cert-file", rogueClient.certFile, "--key-file", rogueClient.keyFile];
    const result = await cli(["promises", "create", "mtls-rogue-1", "--timeout", "1h", "--server", mtls.url, ...tlsArgs]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the connection was dropped.*is --cert-file signed by its --tls-client-ca\?/);
    await expect(httpsGet(mtls.port, "/health", ca, rogueClient)).rejects.toThrow();
  }, 60_000);

  it("accepts the CLI, grpcurl and the SDK presenting a certificate its CA signed", async () => {
    const tlsArgs = ["--ca-file", ca.certFile, "--cert-file", clientCert.certFile, "--key-file", clientCert.keyFile];
    const created = await cli(["promises", "create", "mtls-ok-1", "--timeout", "1h", "--server", mtls.url, ...tlsArgs]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const listed = await tool("grpcurl", ["-cacert", ca.certFile, "-cert", clientCert.certFile, "-key", clientCert.keyFile, mtls.address, "list"]);
    expect(listed.stdout).toContain("resonate.mesh.v1.TaskService");
    expect((await httpsGet(mtls.port, "/health", ca, clientCert)).status).toBe(200);

    const resonate = new Resonate({
      url: mtls.url,
      tls: { ca: readFileSync(ca.certFile), cert: readFileSync(clientCert.certFile), key: readFileSync(clientCert.keyFile) },
      group: "mtls-sdk",
      handleSignals: false,
    });
    try {
      resonate.register(greet, { name: "greet" });
      resonate.register(formatGreeting, { name: "format_greeting" });
      expect(await resonate.run("mtls-greet-1", greet, "mTLS")).toBe("Hello, mTLS!");
    } finally {
      await resonate.stop();
    }
  }, 60_000);
});

describe("certificate reload", () => {
  it("serves the new certificate once the files are replaced, without a restart", async () => {
    const live: Cert = { certFile: join(dir, "live.pem"), keyFile: join(dir, "live.key") };
    const first = issue(dir, ca, "first");
    const second = issue(dir, ca, "second");
    copyFileSync(first.certFile, live.certFile);
    copyFileSync(first.keyFile, live.keyFile);
    const reloading = await startTlsNode(live, ca);
    try {
      expect(await servedFingerprint(reloading.port, ca)).toBe(fingerprintOf(first.certFile));
      copyFileSync(second.keyFile, live.keyFile);
      copyFileSync(second.certFile, live.certFile);
      await waitFor(
        () => `the node to serve the replaced certificate\n${reloading.proc.printed()}`,
        async () => (await servedFingerprint(reloading.port, ca)) === fingerprintOf(second.certFile),
        30_000,
      );
      const after = await cli(["promises", "create", "reloaded-1", "--timeout", "1h", "--server", reloading.url, "--ca-file", ca.certFile]);
      expect(after.code).toBe(0);
    } finally {
      await reloading.stop();
    }
  }, 60_000);
});

describe("resonate dev with bad TLS flags", () => {
  it("refuses --tls-cert without --tls-key with one sentence", async () => {
    const result = await cli(["dev", "--port", "0", "--tls-cert", serverCert.certFile]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe("error: --tls-cert and --tls-key go together: the certificate the node presents and its private key");
  }, 60_000);

  it("refuses a key that does not belong to the certificate, naming both files", async () => {
    const result = await cli(["dev", "--port", "0", "--tls-cert", serverCert.certFile, "--tls-key", clientCert.keyFile]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`error: --tls-key ${clientCert.keyFile} is not the private key of --tls-cert ${serverCert.certFile}`);
  }, 60_000);
});
