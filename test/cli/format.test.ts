// What the CLI reads from a command line and what it prints for people.
import { describe, expect, it } from "vitest";
import {
  buildTree,
  decodeValue,
  encodeValue,
  formatDuration,
  formatPromise,
  formatTime,
  formatTree,
  funcOf,
  parseDuration,
  parseJsonArg,
  parseTag,
  parseTagsJson,
  promiseTable,
  renderValue,
} from "@resonate-mesh/node/internal-for-tests";
import { UsageError } from "@resonate-mesh/node/internal-for-tests";
import type { PromiseRecord } from "@resonate-mesh/node/protocol";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

function promise(id: string, extra: Partial<PromiseRecord> = {}): PromiseRecord {
  return {
    id,
    state: "pending",
    param: { headers: {}, data: "" },
    value: { headers: {}, data: "" },
    tags: {},
    timeoutAt: 10_000_000,
    createdAt: 1_000,
    ...extra,
  };
}

describe("durations", () => {
  it.each([
    ["100ms", 100],
    ["30s", 30_000],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["1.5s", 1_500],
    ["1h30m15s", 5_415_000],
    ["0s", 0],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "5", "5x", "s", "-1s", "1 h", "1h-5m", "abc"])("%j is a usage error", (text) => {
    expect(() => parseDuration(text, "--timeout")).toThrow(UsageError);
  });

  it("a bare number is refused with a hint that it needs a unit", () => {
    expect(() => parseDuration("5", "--delay")).toThrow(/--delay "5" needs a unit/);
  });

  it.each([
    [0, "0ms"],
    [350, "350ms"],
    [1_250, "1.25s"],
    [12_340, "12.3s"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [7_500_000, "2h5m"],
    [90_061_000, "1d1h1m1s"],
  ])("%d ms prints as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("whole-second durations of a minute or more read back to the same value", () => {
    for (const ms of [60_000, 61_000, 3_599_000, 86_400_000, 93_784_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });

  it("a time prints in UTC with its distance from now", () => {
    expect(formatTime(Date.UTC(2026, 0, 1, 12, 0, 0), Date.UTC(2026, 0, 1, 11, 0, 0))).toBe("2026-01-01T12:00:00Z (in 1h)");
    expect(formatTime(Date.UTC(2026, 0, 1, 12, 0, 0), Date.UTC(2026, 0, 1, 12, 0, 30))).toBe("2026-01-01T12:00:00Z (30s ago)");
  });
});

describe("values", () => {
  it("a value is encoded like the SDKs: base64 of its JSON, no headers", () => {
    expect(encodeValue("World")).toEqual({ headers: {}, data: b64('"World"') });
    expect(encodeValue({ a: [1, 2] })).toEqual({ headers: {}, data: b64('{"a":[1,2]}') });
  });

  it("undefined is encoded as empty data", () => {
    expect(encodeValue(undefined)).toEqual({ headers: {}, data: "" });
  });

  it("base64 JSON decodes to the value", () => {
    expect(decodeValue({ headers: {}, data: b64('{"x":1}') })).toEqual({ kind: "json", value: { x: 1 } });
  });

  it("data that is not base64 JSON stays raw", () => {
    expect(decodeValue({ headers: {}, data: b64("not json") })).toEqual({ kind: "raw", data: b64("not json") });
    expect(renderValue({ headers: {}, data: b64("not json") })).toBe(`base64:${b64("not json")}`);
  });

  it("empty data renders as a dash", () => {
    expect(renderValue({ headers: {}, data: "" })).toBe("-");
  });

  it("an encoded error renders as name and message", () => {
    const err = { __type: "error", name: "TypeError", message: "boom", stack: "..." };
    expect(renderValue({ headers: {}, data: b64(JSON.stringify(err)) })).toBe("TypeError: boom");
  });

  it("a JSON argument that does not parse is a usage error naming the flag and suggesting quotes", () => {
    expect(() => parseJsonArg("World", "--arg")).toThrow('--arg "World" is not valid JSON (quote strings: \'"World"\')');
    expect(parseJsonArg('"World"', "--arg")).toBe("World");
  });

  it("the func name comes from the invocation param, and a timer is a sleep", () => {
    expect(funcOf(promise("a", { param: encodeValue({ func: "greet", args: [], version: 1 }) }))).toBe("greet");
    expect(funcOf(promise("a", { tags: { "resonate:timer": "true" } }))).toBe("sleep");
    expect(funcOf(promise("a", { param: encodeValue(42) }))).toBeUndefined();
    expect(funcOf(promise("a", { param: encodeValue({ func: "resonate:promise", args: [] }) }))).toBe("promise");
  });
});

describe("tags", () => {
  it("--tag key=value accumulates; the value may contain '='", () => {
    expect(parseTag("b=x=y", parseTag("a=1"))).toEqual({ a: "1", b: "x=y" });
  });

  it("--tag without '=' is a usage error", () => {
    expect(() => parseTag("novalue")).toThrow(UsageError);
  });

  it("--tags must be a JSON object of strings", () => {
    expect(parseTagsJson('{"env":"dev"}')).toEqual({ env: "dev" });
    expect(() => parseTagsJson('{"n":1}')).toThrow(/value of "n" must be a string/);
    expect(() => parseTagsJson("[1]")).toThrow(UsageError);
  });
});

describe("records for people", () => {
  it("a promise shows its func, decoded value, tags one per line and how long it took", () => {
    const text = formatPromise(
      promise("greet-1", {
        state: "resolved",
        param: encodeValue({ func: "greet", args: ["World"], version: 1 }),
        value: encodeValue("Hello, World!"),
        tags: { "resonate:origin": "greet-1", "resonate:branch": "greet-1" },
        createdAt: Date.UTC(2026, 0, 1),
        settledAt: Date.UTC(2026, 0, 1) + 1_200,
      }),
      Date.UTC(2026, 0, 1) + 5_000,
    );
    expect(text).toContain("state    resolved");
    expect(text).toContain("func     greet");
    expect(text).toContain('value    "Hello, World!"');
    expect(text).toContain("tags     resonate:branch=greet-1\n         resonate:origin=greet-1");
    expect(text).toContain("took     1.2s");
  });

  it("a promise table has one aligned row per promise", () => {
    const text = promiseTable([promise("a"), promise("bbbb", { state: "resolved" })], 61_000);
    expect(text.split("\n")).toEqual([
      "ID    STATE     FUNC  CREATED",
      "a     pending   -     1m ago",
      "bbbb  resolved  -     1m ago",
    ]);
  });
});

describe("the call tree", () => {
  const root = promise("wf", {
    state: "resolved",
    param: encodeValue({ func: "workflow", args: [], version: 1 }),
    tags: { "resonate:origin": "wf", "resonate:parent": "wf" },
    createdAt: 0,
    settledAt: 2_000,
  });
  const step = (id: string, parent: string, createdAt: number, extra: Partial<PromiseRecord> = {}) =>
    promise(id, { tags: { "resonate:origin": "wf", "resonate:parent": parent }, createdAt, ...extra });

  it("children hang under their resonate:parent, in call order, with states and durations", () => {
    const tree = buildTree("wf", [
      step("wf.2", "wf", 20, { param: encodeValue({ func: "b", args: [], version: 1 }) }),
      root,
      step("wf.1", "wf", 10, { state: "resolved", settledAt: 60, param: encodeValue({ func: "a", args: [], version: 1 }) }),
      step("wf.2.1", "wf.2", 30, { tags: { "resonate:origin": "wf", "resonate:parent": "wf.2", "resonate:timer": "true" } }),
    ])!;
    expect(formatTree(tree, 5_020).split("\n")).toEqual([
      "wf              workflow  resolved  2s",
      "├── wf.1        a         resolved  50ms",
      "└── wf.2        b         pending   5s so far",
      "    └── wf.2.1  sleep     pending   4.99s so far",
    ]);
  });

  it("sequence numbers sort numerically when created at the same time", () => {
    const tree = buildTree("wf", [root, step("wf.10", "wf", 5), step("wf.9", "wf", 5)])!;
    expect(tree.children.map((c) => c.promise.id)).toEqual(["wf.9", "wf.10"]);
  });

  it("a promise whose parent was not found hangs under the root", () => {
    const tree = buildTree("wf", [root, step("wf.1.1", "wf.1", 5)])!;
    expect(tree.children.map((c) => c.promise.id)).toEqual(["wf.1.1"]);
  });

  it("without the root promise there is no tree", () => {
    expect(buildTree("wf", [step("wf.1", "wf", 5)])).toBeUndefined();
  });
});
