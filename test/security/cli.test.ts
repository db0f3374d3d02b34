// The command line side of authentication: `resonate token create` mints
// tokens a node accepts, the client commands send `--token`, the node takes
// its key from --auth-public-key (and reloads it when the file changes), and
// says at start-up whether it is open.

import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, freePort, resonateBin } from "../support/node.ts";
import { spawnProcess, stopAll } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { keyDir, keyPair, startSecureNode, type KeyPair, type SecureNode } from "./support.ts";

const dir = keyDir();
let node: SecureNode;
let keys: Record<"RS256" | "ES256" | "EdDSA", KeyPair>;
const liveKey = join(dir, "live.pub.pem");
/** A token of `resonate token create --prefix cli/`, minted once. */
let cliToken: string;

async function token(pair: KeyPair, ...args: string[]): Promise<string> {
  const run = await cli(["token", "create", "--private-key", pair.privateFile, "--issuer", "https://issuer.test", "--audience", "resonate-mesh", ...args]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return run.stdout.trim();
}

beforeAll(async () => {
  keys = { RS256: keyPair(dir, "RS256"), ES256: keyPair(dir, "ES256"), EdDSA: keyPair(dir, "EdDSA") };
  copyFileSync(keys.EdDSA.publicFile, liveKey);
  [node, cliToken] = await Promise.all([startSecureNode(liveKey), token(keys.EdDSA, "--prefix", "cli/")]);
});

afterAll(async () => {
  await node?.stop();
  await stopAll();
});

describe("resonate token create", () => {
  it("mints a token with the prefix that the node accepts for ids under it", async () => {
    const t = cliToken;
    expect(await node.grpc({ kind: "promise.create", data: { id: "cli/p1", timeoutAt: 4_102_444_800_000 } }, t)).toMatchObject({ status: 200 });
    expect(await node.grpc({ kind: "promise.get", data: { id: "other/p1" } }, t)).toMatchObject({ status: 403 });
  });

  it("mints an admin token that may name any id", async () => {
    const t = await token(keys.EdDSA, "--role", "admin");
    expect(await node.grpc({ kind: "promise.create", data: { id: "any/p1", timeoutAt: 4_102_444_800_000 } }, t)).toMatchObject({ status: 200 });
  });

  it("signs with the algorithm of the key: RS256, ES256, EdDSA", async () => {
    for (const [alg, pair] of Object.entries(keys)) {
      const t = await token(pair, "--prefix", "x/");
      expect(JSON.parse(Buffer.from(t.split(".")[0]!, "base64url").toString()).alg).toBe(alg);
    }
  });

  it("sets the expiry from --ttl", async () => {
    const t = await token(keys.EdDSA, "--prefix", "x/", "--ttl", "90s");
    const claims = JSON.parse(Buffer.from(t.split(".")[1]!, "base64url").toString());
    expect(claims.exp - claims.iat).toBe(90);
    expect(claims.prefix).toBe("x/");
  });

  it("refuses to mint a token with neither a prefix nor the admin role, in one sentence, exit 2", async () => {
    const run = await cli(["token", "create", "--private-key", keys.EdDSA.privateFile]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: give --prefix P .* or --role admin/);
    expect(run.stdout).toBe("");
  });

  it("refuses a key file that is not a private key, naming the flag, exit 2", async () => {
    const run = await cli(["token", "create", "--private-key", keys.EdDSA.publicFile, "--prefix", "x/"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: --private-key .* is not a PEM private key/);
  });
});

describe("client commands with --token", () => {
  it("work on ids inside the token's prefix", async () => {
    const t = cliToken;
    const run = await cli(["promises", "create", "cli/made-by-cli", "--server", node.url, "--token", t, "--json"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).id).toBe("cli/made-by-cli");
  });

  it("say the token is not allowed on ids outside its prefix, exit 1", async () => {
    const t = cliToken;
    const run = await cli(["promises", "get", "other/p1", "--server", node.url, "--token", t]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/not allowed .*"other\/p1".*"cli\/"/);
  });

  it("say the node refused the credentials without a token, exit 1", async () => {
    const run = await cli(["promises", "get", "cli/p1", "--server", node.url], { env: { RESONATE_TOKEN: "" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refused the credentials/);
  });
});

describe("the node's key file", () => {
  it("is reloaded when it changes: tokens of the old key are refused, of the new key accepted", async () => {
    const [before, after] = await Promise.all([token(keys.EdDSA, "--prefix", "r/"), token(keys.ES256, "--prefix", "r/")]);
    const get = { kind: "promise.get", data: { id: "r/none" } } as const;
    expect(await node.grpc(get, before)).toMatchObject({ status: 404 });
    expect(await node.grpc(get, after)).toMatchObject({ status: 401 });
    writeFileSync(liveKey, `${Buffer.from(keys.ES256.publicKey.export({ type: "spki", format: "pem" })).toString()}`);
    await waitFor("the node to use the new key", async () => (await node.grpc(get, after)).status === 404, 15_000, 100);
    expect(await node.grpc(get, before)).toMatchObject({ status: 401 });
  });

  it("that cannot be read stops the node from starting, in one sentence, exit 2", async () => {
    const run = await cli(["dev", "--port", "0", "--auth-public-key", join(dir, "missing.pem")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: cannot read the auth public key file .*missing\.pem/);
  });

  it("that holds a private key is refused, exit 2", async () => {
    const run = await cli(["dev", "--port", "0", "--auth-public-key", keys.EdDSA.privateFile]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/holds a private key; give the node the public key/);
  });

  it("is required by --auth-issuer and --auth-audience", async () => {
    const run = await cli(["dev", "--port", "0", "--auth-issuer", "https://issuer.test"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/need --auth-public-key/);
  });
});

describe("start-up without authentication", () => {
  async function startLines(command: "dev" | "serve", host: string): Promise<string> {
    const port = await freePort();
    const proc = spawnProcess(command, process.execPath, [resonateBin, command, "--port", String(port), "--host", host, "--log-level", "info"]);
    await proc.waitForOutput(/serving gRPC and HTTP/);
    await proc.waitForOutput(/authentication is off/);
    await proc.stop();
    return proc.output;
  }

  it("resonate dev says once that the node is open", async () => {
    const output = await startLines("dev", "127.0.0.1");
    expect(output.match(/authentication is off/g)).toHaveLength(1);
  });

  it("resonate serve on a non-loopback address prints a warning", async () => {
    const output = await startLines("serve", "0.0.0.0");
    const line = output.split("\n").find((l) => l.includes("authentication is off"))!;
    expect(line).toMatch(/"level":40/);
    expect(line).toMatch(/0\.0\.0\.0 is not a loopback address.*pass --auth-public-key/);
  });
});
