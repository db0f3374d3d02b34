// The token bucket behind --rate-limit, on an injected clock.

import { describe, expect, it } from "vitest";
import { parseRateLimit, RateLimiter } from "../../src/api/rate.ts";

function limiter(limits: Record<string, number>) {
  let now = 0;
  const rate = new RateLimiter(limits, () => now);
  return { rate, advance: (ms: number) => void (now += ms) };
}

describe("rate per token", () => {
  it("lets a token burst to its rate, then refuses with 429 naming the limit", () => {
    const { rate } = limiter({ "*": 3 });
    for (let i = 0; i < 3; i++) expect(rate.take("t1", "")).toBeUndefined();
    const refusal = rate.take("t1", "");
    expect(refusal).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    expect(refusal?.message).toMatch(/over its limit of 3 requests per second \(tokens without a role\); retry in 334 ms/);
  });

  it("refills at the rate", () => {
    const { rate, advance } = limiter({ "*": 2 });
    rate.take("t", "");
    rate.take("t", "");
    expect(rate.take("t", "")).toBeDefined();
    advance(500);
    expect(rate.take("t", "")).toBeUndefined();
    expect(rate.take("t", "")).toBeDefined();
  });

  it("keeps one bucket per token", () => {
    const { rate } = limiter({ "*": 1 });
    expect(rate.take("t1", "")).toBeUndefined();
    expect(rate.take("t2", "")).toBeUndefined();
    expect(rate.take("t1", "")).toBeDefined();
  });

  it("takes the rate of the token's role, the default otherwise, and 0 as no limit", () => {
    const { rate } = limiter({ "*": 1, admin: 0, batch: 5 });
    expect(rate.rateOf("")).toBe(1);
    expect(rate.rateOf("batch")).toBe(5);
    expect(rate.rateOf("admin")).toBeUndefined();
    for (let i = 0; i < 100; i++) expect(rate.take("root", "admin")).toBeUndefined();
  });

  it("counts refusals by role for /metrics", () => {
    const { rate } = limiter({ "*": 1 });
    rate.take("t", "");
    rate.take("t", "");
    rate.take("t", "");
    expect(rate.metricsText()).toContain(`resonate_auth_rate_limited_total{role="none"} 2`);
  });

  it("parses --rate-limit specs and names the rule on a bad one", () => {
    expect(parseRateLimit("admin=1000", parseRateLimit("100"))).toEqual({ "*": 100, admin: 1000 });
    expect(() => parseRateLimit("fast")).toThrow(/--rate-limit "fast" must be requests per second/);
  });
});
