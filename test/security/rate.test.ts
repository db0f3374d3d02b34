// --rate-limit on a real node: a token over its rate is refused with 429 /
// RESOURCE_EXHAUSTED naming the limit, on gRPC and on the JSON envelope;
// other tokens keep their own budget, admin is unlimited here, and the
// refusals are counted in /metrics.

import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcCodeOf } from "@resonate-mesh/node/client";
import { stopAll } from "../support/processes.ts";
import { keyDir, keyPair, mint, startSecureNode, type KeyPair, type SecureNode } from "./support.ts";

let node: SecureNode;
let pair: KeyPair;

beforeAll(async () => {
  pair = keyPair(keyDir(), "ES256");
  node = await startSecureNode(pair.publicFile, ["--rate-limit", "1", "--rate-limit", "admin=0"]);
});

afterAll(async () => {
  await node?.stop();
  await stopAll();
});

/** 20 requests at once: with a rate of 1/s (a burst of 1), most of them are over it. */
async function burst(token: string, via: "grpc" | "envelope"): Promise<{ ok: number; limited: string[] }> {
  const request = { kind: "promise.get", data: { id: "a/none" } } as const;
  const answers = await Promise.all(
    Array.from({ length: 20 }, async () => {
      if (via === "grpc") {
        const a = await node.grpc(request, token);
        return { status: a.status, message: "error" in a ? a.error.message : "" };
      }
      const a = await node.envelope(request, token);
      return { status: a.status, message: typeof a.body.data === "string" ? a.body.data : "" };
    }),
  );
  return { ok: answers.filter((a) => a.status === 404).length, limited: answers.filter((a) => a.status === 429).map((a) => a.message) };
}

describe("rate per token", () => {
  it("refuses a scoped token over its rate over gRPC with RESOURCE_EXHAUSTED naming the limit", async () => {
    const { ok, limited } = await burst(await mint(pair, { claims: { prefix: "a/" } }), "grpc");
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited[0]).toMatch(/over its limit of 1 requests per second/);
    expect(grpcCodeOf({ status: 429, code: "RATE_LIMITED" })).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("refuses a scoped token over its rate on the JSON envelope with 429", async () => {
    const { ok, limited } = await burst(await mint(pair, { claims: { prefix: "a/" }, expiresIn: 3000 }), "envelope");
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeGreaterThanOrEqual(1);
  });

  it("gives every token its own budget", async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => node.grpc({ kind: "promise.get", data: { id: "a/none" } }, await mint(pair, { claims: { prefix: "a/", sub: `user-${i}` } }))),
    );
    expect(answers.map((a) => a.status)).toEqual([404, 404, 404, 404, 404]);
  });

  it("leaves admin tokens unlimited when their role's rate is 0", async () => {
    const { ok, limited } = await burst(await mint(pair, { claims: { role: "admin" } }), "grpc");
    expect(limited).toEqual([]);
    expect(ok).toBe(20);
  });

  it("counts the refusals in /metrics", async () => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const m = /resonate_auth_rate_limited_total\{role="none"\} (\d+)/.exec(text);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(2);
  });
});
