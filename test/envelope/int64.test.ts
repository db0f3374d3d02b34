// 64-bit times on the JSON envelope (issue 11). JSON has no int64, and a plain
// JSON.parse rounds 9223372036854775807 to 2^63 while a plain JSON.stringify
// writes 2^63 as 9223372036854776000, which int64 readers reject. The node
// reads integer literals exactly and writes "never" as 9223372036854775807.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseJson, stringifyJson } from "@resonate-mesh/node/internal-for-tests";
import { startTestNode, T0, VERSION, type TestNode } from "./helpers.ts";

const INT64_MAX = "9223372036854775807";

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  await t.close();
});

/** POST a raw envelope text and keep the raw answer text, which JSON.parse would round. */
async function postRaw(kind: string, data: string): Promise<{ status: number; text: string }> {
  const body = `{"kind":"${kind}","head":{"corrId":"c","version":"${VERSION}"},"data":${data}}`;
  const res = await fetch(`${t.url}/`, { method: "POST", body, headers: { "content-type": "application/json" } });
  return { status: res.status, text: await res.text() };
}

describe("timeoutAt on the envelope", () => {
  it("accepts int64 max and writes it back exactly", async () => {
    const created = await postRaw("promise.create", `{"id":"forever","timeoutAt":${INT64_MAX}}`);
    expect(created.status).toBe(200);
    expect(created.text).toContain(`"timeoutAt":${INT64_MAX}`);
    const read = await postRaw("promise.get", `{"id":"forever"}`);
    expect(read.text).toContain(`"timeoutAt":${INT64_MAX}`);
  });

  it("reads any time from 2^53 on as never", async () => {
    const created = await postRaw("promise.create", `{"id":"far","timeoutAt":9007199254740993}`);
    expect(created.status).toBe(200);
    expect(created.text).toContain(`"timeoutAt":${INT64_MAX}`);
  });

  it("never writes a number beyond int64 max", async () => {
    await postRaw("promise.create", `{"id":"forever2","timeoutAt":${INT64_MAX},"tags":{"resonate:target":"poll://any@g"}}`);
    const search = await postRaw("promise.search", `{"id":"forever*"}`);
    for (const literal of search.text.match(/\d{16,}/g) ?? []) expect(BigInt(literal) <= 2n ** 63n - 1n).toBe(true);
    expect(search.text).not.toContain("9223372036854776000");
  });

  it("refuses a time beyond int64 max, naming the field and the range", async () => {
    const refused = await postRaw("promise.create", `{"id":"beyond","timeoutAt":9223372036854775808}`);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).data).toBe(
      "data.timeoutAt must be an integer between 0 and 9223372036854775807 (ms since the epoch; from 2^53 on it means never), got 9223372036854775808",
    );
    expect((await postRaw("promise.get", `{"id":"beyond"}`)).status).toBe(404);
  });

  it("keeps a time below 2^53 exactly", async () => {
    const created = await postRaw("promise.create", `{"id":"late","timeoutAt":${T0 + 60_000}}`);
    expect(created.text).toContain(`"timeoutAt":${T0 + 60_000}`);
  });

  it("gives gRPC and the envelope the same never", async () => {
    await postRaw("promise.create", `{"id":"both","timeoutAt":${INT64_MAX}}`);
    const viaGrpc = await t.grpc({ kind: "promise.get", data: { id: "both" } });
    expect("data" in viaGrpc && viaGrpc.data.promise.timeoutAt).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe("never on the SSE worker stream", () => {
  it("an unblock writes int64 max exactly", async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.url}/poll/sse-never/p1`, { signal: controller.signal });
    const reader = res.body!.getReader();
    try {
      await postRaw("promise.create", `{"id":"sse-never","timeoutAt":${INT64_MAX}}`);
      const listened = await postRaw("promise.register_listener", `{"awaited":"sse-never","address":"poll://uni@sse-never/p1"}`);
      expect(listened.status).toBe(200);
      await postRaw("promise.settle", `{"id":"sse-never","state":"resolved","value":{"headers":{},"data":""}}`);
      let text = "";
      const deadline = Date.now() + 10_000;
      while (!text.includes("unblock") && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text).toContain(`"timeoutAt":${INT64_MAX}`);
    } finally {
      controller.abort();
    }
  });
});

describe("exact JSON", () => {
  it("parses integer literals beyond 2^53 - 1 as bigints and everything else like JSON.parse", () => {
    const text = `{"a":${INT64_MAX},"b":-9223372036854775808,"c":9007199254740991,"d":1.5e300,"e":"12345678901234567890","f":[1,{"__proto__":2}],"g":"\\u00e9\\n"}`;
    const parsed = parseJson(text) as Record<string, unknown>;
    expect(parsed.a).toBe(2n ** 63n - 1n);
    expect(parsed.b).toBe(-(2n ** 63n));
    expect(parsed.c).toBe(Number.MAX_SAFE_INTEGER);
    expect(parsed.d).toBe(1.5e300);
    expect(parsed.e).toBe("12345678901234567890");
    expect(parsed.g).toBe("é\n");
    const inner = (parsed.f as unknown[])[1] as object;
    expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
    expect(Object.keys(inner)).toEqual(["__proto__"]);
  });

  it("parses text without long integers exactly as JSON.parse", () => {
    const text = `{"x":[1,2.5,-3,true,false,null,"s"],"y":{"z":""}}`;
    expect(parseJson(text)).toEqual(JSON.parse(text));
  });

  it("writes bigints as their digits, even beside a string that looks like the marker", () => {
    expect(stringifyJson({ t: 2n ** 63n - 1n, n: 5 })).toBe(`{"t":${INT64_MAX},"n":5}`);
    const tricky = { s: "\u00019\u0001", t: 1n };
    expect(stringifyJson(tricky)).toBe(`{"s":${JSON.stringify(tricky.s)},"t":1}`);
    expect(JSON.parse(stringifyJson(tricky)).s).toBe(tricky.s);
  });
});
