// Every transport checks the bearer token the same way: a node started with
// --auth-public-key (a JWKS of an RSA, a P-256 and an Ed25519 key),
// --auth-issuer and --auth-audience accepts tokens signed by any of them and
// refuses, with 401 / UNAUTHENTICATED and a sentence saying why, a missing,
// expired, not yet valid, foreign, mis-addressed or unsigned token.

import * as grpc from "@grpc/grpc-js";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopAll } from "../support/processes.ts";
import { FAR, keyDir, keyPair, mint, startSecureNode, unsignedToken, writeJwks, type KeyPair, type SecureNode } from "./support.ts";

let node: SecureNode;
let keys: Record<"RS256" | "ES256" | "EdDSA" | "stranger", KeyPair>;
let admin: string;

beforeAll(async () => {
  const dir = keyDir();
  keys = {
    RS256: keyPair(dir, "RS256"),
    ES256: keyPair(dir, "ES256"),
    EdDSA: keyPair(dir, "EdDSA"),
    // Same algorithm and kid as a trusted key, but not one the node knows.
    stranger: keyPair(dir, "ES256", "stranger"),
  };
  keys.stranger.kid = "ES256";
  const jwks = await writeJwks(join(dir, "jwks.json"), [keys.RS256, keys.ES256, keys.EdDSA]);
  node = await startSecureNode(jwks);
  admin = await mint(keys.EdDSA, { claims: { role: "admin" } });
  const created = await node.grpc({ kind: "promise.create", data: { id: "a/p", timeoutAt: FAR } }, admin);
  expect(created.status).toBe(200);
});

afterAll(async () => {
  await node?.stop();
  await stopAll();
});

const scoped = { claims: { prefix: "a/" } };

/** Each refused token and the words its refusal must contain. */
const refused: { name: string; token: () => Promise<string | undefined>; says: RegExp }[] = [
  { name: "no token", token: async () => undefined, says: /requires a bearer token/ },
  { name: "an expired token", token: () => mint(keys.ES256, { ...scoped, expiresIn: -60 }), says: /expired/ },
  { name: "a token not valid yet (nbf)", token: () => mint(keys.ES256, { ...scoped, notBefore: 3600 }), says: /not valid yet/ },
  { name: "a token signed with a key the node does not know", token: () => mint(keys.stranger, scoped), says: /signature does not match/ },
  { name: "a token from another issuer", token: () => mint(keys.ES256, { ...scoped, issuer: "https://elsewhere.test" }), says: /issuer/ },
  { name: "a token without an issuer", token: () => mint(keys.ES256, { ...scoped, issuer: null }), says: /issuer/ },
  { name: "a token for another audience", token: () => mint(keys.ES256, { ...scoped, audience: "someone-else" }), says: /audience/ },
  { name: "an unsigned token (alg none)", token: async () => unsignedToken({ role: "admin" }), says: /algorithm is not accepted|not a well-formed/ },
  { name: "a string that is not a JWT", token: async () => "not-a-jwt", says: /not a well-formed JWT/ },
];

const accepted: { name: string; token: () => Promise<string> }[] = [
  { name: "an RS256 token", token: () => mint(keys.RS256, scoped) },
  { name: "an ES256 token", token: () => mint(keys.ES256, scoped) },
  { name: "an EdDSA token", token: () => mint(keys.EdDSA, scoped) },
];

describe("gRPC unary calls", () => {
  it.each(accepted)("accept $name", async ({ token }) => {
    const answer = await node.grpc({ kind: "promise.get", data: { id: "a/p" } }, await token());
    expect(answer.status).toBe(200);
  });
  it.each(refused)("refuse $name with UNAUTHENTICATED", async ({ token, says }) => {
    const answer = await node.grpc({ kind: "promise.get", data: { id: "a/p" } }, await token());
    expect(answer.status).toBe(401);
    expect("error" in answer && answer.error.message).toMatch(says);
  });
});

describe("the Poll stream", () => {
  it.each(accepted)("accepts $name", async ({ token }) => {
    expect(await node.poll("workers", "p1", await token())).toEqual({ ok: true });
  });
  it.each(refused)("refuses $name with UNAUTHENTICATED", async ({ token, says }) => {
    const outcome = await node.poll("workers", "p1", await token());
    expect(outcome).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect(outcome.ok === false && outcome.details).toMatch(says);
  });
});

describe("the Watch stream", () => {
  it.each(accepted)("accepts $name", async ({ token }) => {
    expect(await node.watch("a/p", await token())).toEqual({ ok: true });
  });
  it.each(refused)("refuses $name with UNAUTHENTICATED", async ({ token, says }) => {
    const outcome = await node.watch("a/p", await token());
    expect(outcome).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect(outcome.ok === false && outcome.details).toMatch(says);
  });
});

describe.each(["head", "header"] as const)("the JSON envelope, token in the %s", (via) => {
  it.each(accepted)("accepts $name", async ({ token }) => {
    const answer = await node.envelope({ kind: "promise.get", data: { id: "a/p" } }, await token(), via);
    expect(answer.status).toBe(200);
    expect(answer.body.data.promise.id).toBe("a/p");
  });
  it.each(refused)("refuses $name with 401", async ({ token, says }) => {
    const answer = await node.envelope({ kind: "promise.get", data: { id: "a/p" } }, await token(), via);
    expect(answer.status).toBe(401);
    expect(answer.body.head.status).toBe(401);
    expect(answer.body.data).toMatch(says);
  });
});

describe("the SSE worker stream", () => {
  it.each(accepted)("accepts $name", async ({ token }) => {
    expect((await node.sse("workers", "s1", await token())).status).toBe(200);
  });
  it.each(refused)("refuses $name with 401", async ({ token, says }) => {
    const answer = await node.sse("workers", "s1", await token());
    expect(answer.status).toBe(401);
    expect(answer.body).toMatch(says);
  });
});

describe("claims", () => {
  it("refuse a token with neither role admin nor a prefix, with PERMISSION_DENIED", async () => {
    const answer = await node.grpc({ kind: "promise.get", data: { id: "a/p" } }, await mint(keys.ES256, { claims: { sub: "nobody" } }));
    expect(answer.status).toBe(403);
    expect("error" in answer && answer.error.message).toMatch(/neither role "admin" nor a "prefix" claim/);
  });

  it("let an admin token name any id", async () => {
    const answer = await node.grpc({ kind: "promise.create", data: { id: "anything/at-all", timeoutAt: FAR } }, admin);
    expect(answer.status).toBe(200);
  });

  it("leave health and readiness open", async () => {
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
    expect((await fetch(`${node.url}/ready`)).status).toBe(200);
  });
});
