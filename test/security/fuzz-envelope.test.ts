// Fuzz: the Resonate JSON envelope (POST /). Random JSON, valid envelopes with
// a value replaced by a hostile one (wrong types, huge and fractional
// numbers, deep nesting, long and odd strings, prototype keys), and raw text
// mutations. Every answer is JSON with a status below 500, a refusal writes
// nothing, and valid requests still work afterwards.

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envelopeOf } from "../envelope/helpers.ts";
import { expectStillServing, fuzzParams, interleaveValid, snapshot, startTestNode, stringArb, validRequestArb, type TestNode } from "./fuzz-support.ts";

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});

afterAll(async () => {
  await node?.close();
});

/** POST a body; check the rules every answer keeps; the status. */
async function check(body: string): Promise<number> {
  const before = await snapshot(node);
  const started = Date.now();
  const res = await fetch(`${node.url}/`, { method: "POST", body, headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(15_000) }).catch((err: unknown) => {
    throw new Error(`no answer within 15 s (${String(err)}) to ${body.slice(0, 300)}`);
  });
  if (process.env.FUZZ_DEBUG && Date.now() - started > 200) console.log("slow", Date.now() - started, body.slice(0, 200));
  const text = await res.text();
  expect(res.status, `HTTP ${res.status} for ${body.slice(0, 200)}: ${text.slice(0, 300)}`).toBeLessThan(500);
  let answer: { head?: { status?: number }; data?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new Error(`the answer is not JSON (HTTP ${res.status}): ${text.slice(0, 300)}`);
  }
  const status = answer.head?.status ?? res.status;
  expect(status, `head.status for ${body.slice(0, 200)}: ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400 || status >= 400) {
    expect(typeof answer.data === "string" && answer.data.length > 0, `a refusal says why: ${text.slice(0, 300)}`).toBe(true);
    expect(await snapshot(node), `refused (${status}) yet wrote: ${body.slice(0, 200)}`).toBe(before);
  }
  await interleaveValid(node);
  return status;
}

// Raw JSON literals JSON.stringify cannot produce, spliced in for a placeholder.
const RAW_LITERALS = ["123456789012345678901234567890", "1e400", "-1e400", "-0", "4102444800000.5", "9007199254740993", "1E-400", "0.1e1"];

function deep(depth: number, open: string, close: string, leaf = "1"): string {
  return open.repeat(depth) + leaf + close.repeat(depth);
}

const hostileValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 64, 1e308, -1e308, "", [], {}),
  stringArb,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.nat(RAW_LITERALS.length - 1).map((i) => `\u0000RAW${i}\u0000`),
  fc.constantFrom(5, 50, 1_000, 20_000).map((d) => `\u0000DEEP${d}\u0000`),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant({ __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } }),
  fc.dictionary(fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty"), fc.jsonValue({ maxDepth: 1 })),
);

function render(value: unknown): string {
  return JSON.stringify(value)
    .replace(/"\\u0000RAW(\d+)\\u0000"/g, (_m, i: string) => RAW_LITERALS[Number(i)]!)
    .replace(/"\\u0000DEEP(\d+)\\u0000"/g, (_m, d: string) => (Number(d) % 2 === 0 ? deep(Number(d), "[", "]") : deep(Number(d), '{"a":', "}")));
}

/** Every path to a value inside `root`. */
function paths(root: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (root !== null && typeof root === "object") {
    for (const [k, v] of Object.entries(root)) paths(v, [...prefix, Array.isArray(root) ? Number(k) : k], out);
  }
  return out;
}

function replaceAt(root: unknown, path: (string | number)[], value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) delete at[last];
  else at[last] = value;
  return copy;
}

/** A valid envelope with one value replaced (or removed), rendered with the raw literals. */
const mutatedEnvelopeArb: fc.Arbitrary<string> = fc
  .tuple(validRequestArb, fc.nat(), hostileValueArb, fc.boolean(), fc.boolean())
  .map(([request, pick, value, remove, addField]) => {
    const envelope = envelopeOf(request);
    const all = paths(envelope);
    const path = all[pick % all.length]!;
    // Sometimes a field that is not in the schema at all.
    const target = addField ? [...path.slice(0, -1), "unexpected"] : path;
    return render(replaceAt(envelope, target, value, remove && !addField));
  });

describe("fuzzing the JSON envelope", () => {
  it("answers random JSON bodies with a refusal below 500, writing nothing", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        await check(JSON.stringify(value));
      }),
      fuzzParams(400),
    );
    await expectStillServing(node);
  }, 120_000);

  it("answers envelopes with a value of the wrong type, a huge number, deep nesting or an odd string below 500, writing nothing on refusal", async () => {
    await fc.assert(
      fc.asyncProperty(mutatedEnvelopeArb, async (body) => {
        await check(body);
      }),
      fuzzParams(1_000),
    );
    await expectStillServing(node);
  }, 120_000);

  it("answers valid envelopes cut short, with bytes flipped or inserted, below 500, writing nothing on refusal", async () => {
    const textArb = fc
      .tuple(validRequestArb, fc.nat(), fc.oneof(fc.constant(""), fc.string({ unit: "binary", maxLength: 4 })), fc.boolean())
      .map(([request, at, insert, cut]) => {
        const text = JSON.stringify(envelopeOf(request));
        const i = at % (text.length + 1);
        return cut ? text.slice(0, i) : text.slice(0, i) + insert + text.slice(i + (insert.length > 0 ? 1 : 0));
      });
    await fc.assert(
      fc.asyncProperty(textArb, async (body) => {
        await check(body);
      }),
      fuzzParams(500),
    );
    await expectStillServing(node);
  }, 120_000);
});
