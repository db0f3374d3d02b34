import { describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config.ts";
import { Registry } from "../src/registry.ts";
import { decodeRetryPolicy, Retry, withRetries } from "../src/options/retry.ts";

describe("retry policies", () => {
  it("exponential doubles from its delay up to maxDelay, then gives up after maxRetries", () => {
    const p = Retry.exponential({ delay: 100, factor: 2, maxDelay: 500, maxRetries: 4 });
    expect([1, 2, 3, 4, 5].map((n) => p.delay(n))).toEqual([100, 200, 400, 500, null]);
  });

  it("linear grows by its delay per retry", () => {
    expect([1, 2, 3].map((n) => Retry.linear({ delay: 10 }).delay(n))).toEqual([10, 20, 30]);
  });

  it("constant waits the same each time; never does not retry", () => {
    expect([1, 7].map((n) => Retry.constant({ delay: 5 }).delay(n))).toEqual([5, 5]);
    expect(Retry.never().delay(1)).toBeNull();
  });

  it("encodes like the official SDK and decodes back", () => {
    const p = Retry.exponential({ delay: 50, factor: 3, maxDelay: 900, maxRetries: 2 });
    expect(p.encode()).toEqual({ type: "exponential", data: { delay: 50, factor: 3, maxDelay: 900, maxRetries: 2 } });
    expect(decodeRetryPolicy(p.encode())!.delay(2)).toBe(150);
    expect(decodeRetryPolicy({ type: "unknown" })).toBeUndefined();
  });

  it("refuses negative options", () => {
    expect(() => Retry.constant({ delay: -1 })).toThrow(/delay must be a number >= 0/);
  });

  it("stops retrying when the next try would start past the deadline", async () => {
    let now = 0;
    let tries = 0;
    const run = withRetries(
      Retry.constant({ delay: 40 }),
      100,
      () => now,
      async (ms) => void (now += ms),
      async () => {
        tries++;
        throw new Error("fails");
      },
      () => true,
    );
    await expect(run).rejects.toThrow("fails");
    // tries at 0, 40, 80; the next would start at 120 >= 100
    expect(tries).toBe(3);
  });
});

describe("registry", () => {
  async function charge() {}
  async function refund() {}

  it("names a function after itself and finds it by name and by reference", () => {
    const r = new Registry();
    r.add(charge);
    expect(r.get("charge")?.fn).toBe(charge);
    expect(r.byFunction(charge)?.name).toBe("charge");
  });

  it("refuses a second registration of the same name and version, naming both functions", () => {
    const r = new Registry();
    r.add(charge, { name: "pay" });
    expect(() => r.add(refund, { name: "pay" })).toThrow(/"pay" version 1 is already registered \(by function charge\); registering function refund/);
  });

  it("keeps versions apart; version 0 or none means the latest", () => {
    const r = new Registry();
    r.add(charge, { name: "pay", version: 1 });
    r.add(refund, { name: "pay", version: 2 });
    expect(r.get("pay", 1)?.fn).toBe(charge);
    expect(r.get("pay")?.fn).toBe(refund);
    expect(r.get("pay", 0)?.version).toBe(2);
    expect(r.get("pay", 3)).toBeUndefined();
  });

  it("refuses anonymous functions and bad versions with a fix", () => {
    const r = new Registry();
    expect(() => r.add(async () => 1)).toThrow(/anonymous function/);
    expect(() => r.add(charge, { version: 0 })).toThrow(/positive integer/);
  });
});

describe("configuration", () => {
  it("has the documented defaults and no URL means local mode", () => {
    const c = resolveConfig({}, {});
    expect(c.url).toBeUndefined();
    expect(c.group).toBe("default");
    expect(c.ttl).toBe(60_000);
    expect(c.prefix).toBe("");
    expect(c.pid).toMatch(/^[0-9a-f]{32}$/);
  });

  it("reads RESONATE_URL, RESONATE_TOKEN and RESONATE_PREFIX", () => {
    const c = resolveConfig({}, { RESONATE_URL: "http://n1:9000", RESONATE_TOKEN: "t", RESONATE_PREFIX: "tenant-" });
    expect(c).toMatchObject({ url: "http://n1:9000", token: "t", prefix: "tenant-" });
  });

  it("builds the URL from RESONATE_HOST and RESONATE_PORT, port 8001 by default", () => {
    expect(resolveConfig({}, { RESONATE_HOST: "n2" }).url).toBe("http://n2:8001");
    expect(resolveConfig({}, { RESONATE_HOST: "n2", RESONATE_PORT: "7000" }).url).toBe("http://n2:7000");
    expect(resolveConfig({}, { RESONATE_URL: "http://u:1", RESONATE_HOST: "n2" }).url).toBe("http://u:1");
  });

  it("lets explicit options win over the environment", () => {
    const c = resolveConfig(
      { url: "http://mine:1", token: "mine", prefix: "p-" },
      { RESONATE_URL: "http://env:2", RESONATE_TOKEN: "env", RESONATE_PREFIX: "env-" },
    );
    expect(c).toMatchObject({ url: "http://mine:1", token: "mine", prefix: "p-" });
  });

  it("refuses a URL that does not parse", () => {
    expect(() => resolveConfig({ url: "localhost 8001" }, {})).toThrow(/is not a URL/);
  });
});
