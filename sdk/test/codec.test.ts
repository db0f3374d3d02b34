import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonCodec } from "../src/codec.ts";
import { ResonateError } from "../src/errors.ts";

const codec = new JsonCodec();
const roundTrip = (v: unknown) => codec.decode(codec.encode(v));
const json = (v: unknown) => JSON.parse(Buffer.from(codec.encode(v).data, "base64").toString("utf8"));

describe("codec: JSON with tagged values", () => {
  it("stores data as base64 of JSON, like the official SDK", () => {
    const value = codec.encode({ func: "add", args: [1, 2], version: 1 });
    expect(Buffer.from(value.data, "base64").toString("utf8")).toBe('{"func":"add","args":[1,2],"version":1}');
    expect(value.headers).toEqual({});
  });

  it("stores a top-level undefined as empty data and reads empty data as undefined", () => {
    expect(codec.encode(undefined).data).toBe("");
    expect(codec.decode({ headers: {}, data: "" })).toBeUndefined();
  });

  it("round-trips bigint, Date, undefined, Map, Set, NaN, -0, infinities and bytes", () => {
    const value = {
      big: 12345678901234567890n,
      when: new Date("2026-01-02T03:04:05.678Z"),
      nothing: undefined,
      list: [1, undefined, 3],
      map: new Map<unknown, unknown>([["a", 1], [2, new Set([1n])]]),
      set: new Set(["x", "y"]),
      nan: NaN,
      negZero: -0,
      inf: Infinity,
      ninf: -Infinity,
      bytes: new Uint8Array([0, 1, 255]),
      invalidDate: new Date(NaN),
    };
    const back = roundTrip(value) as typeof value;
    expect(back).toEqual(value);
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect("nothing" in back).toBe(true);
    expect(back.map.get(2)).toEqual(new Set([1n]));
  });

  it("round-trips errors with name, message, stack, cause and own fields", () => {
    const cause = new RangeError("too big");
    const err = Object.assign(new TypeError("bad input", { cause }), { code: "E_BAD", status: 400 });
    const back = roundTrip(err) as TypeError & { code: string; status: number };
    expect(back).toBeInstanceOf(TypeError);
    expect(back.name).toBe("TypeError");
    expect(back.message).toBe("bad input");
    expect(back.stack).toBe(err.stack);
    expect(back.code).toBe("E_BAD");
    expect(back.status).toBe(400);
    expect(back.cause).toBeInstanceOf(RangeError);
  });

  it("keeps a custom error class's name on a plain Error", () => {
    class PaymentDeclined extends Error {
      override name = "PaymentDeclined";
    }
    const back = roundTrip(new PaymentDeclined("card expired")) as Error;
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe("PaymentDeclined");
    expect(back.message).toBe("card expired");
  });

  it("writes errors in the official SDK's shape {__type, name, message, stack}", () => {
    const e = new Error("boom");
    expect(json(e)).toEqual({ __type: "error", name: "Error", message: "boom", stack: e.stack });
  });

  it("reads errors written by the official SDK", () => {
    const data = Buffer.from(JSON.stringify({ __type: "error", message: "nope", stack: "s", name: "Error" })).toString("base64");
    const back = codec.decode({ headers: {}, data }) as Error;
    expect(back).toBeInstanceOf(Error);
    expect(back.message).toBe("nope");
    expect(back.stack).toBe("s");
  });

  it("does not mistake a plain object with a __type key for a tag", () => {
    const value = { __type: "date", value: "not a date" };
    expect(roundTrip(value)).toEqual(value);
  });

  it("uses toJSON of class instances that define it", () => {
    class Money {
      constructor(readonly cents: number) {}
      toJSON() {
        return { cents: this.cents };
      }
    }
    expect(roundTrip({ price: new Money(250) })).toEqual({ price: { cents: 250 } });
  });

  it.each([
    ["a function", { a: [1, { f: () => 1 }] }, "args.a[1].f", "a function"],
    ["a symbol", { s: Symbol("x") }, 'args.s', "a symbol"],
    ["a class instance", { when: new (class Temporal {})() }, "args.when", "an instance of Temporal"],
    ["a Map value", new Map([["k", () => 0]]), "args<map value 0>", "a function"],
    ["a Promise", { p: Promise.resolve(1) }, "args.p", "a Promise"],
  ])("refuses %s, naming its path and the promise", (_name, value, path, what) => {
    let error: unknown;
    try {
      codec.encode(value, "args", "order-7");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ResonateError);
    expect((error as ResonateError).code).toBe("NOT_SERIALIZABLE");
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain(what);
    expect((error as Error).message).toContain('"order-7"');
  });

  it("refuses circular values", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => codec.encode(a, "result")).toThrow(/result\.self.*circular/);
  });

  it("accepts the same object twice when it is not a cycle", () => {
    const shared = { x: 1 };
    expect(roundTrip([shared, shared])).toEqual([{ x: 1 }, { x: 1 }]);
  });

  it("refuses data that is not base64 JSON with a clear message", () => {
    expect(() => codec.decode({ headers: {}, data: "%%%" }, "p1")).toThrow(/cannot decode the value of promise "p1"/);
  });

  it("round-trips every value built from the supported types (property)", () => {
    const leaf = fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.boolean(),
      fc.double(),
      fc.string(),
      fc.bigInt(),
      fc.date({ noInvalidDate: false }),
      fc.uint8Array({ maxLength: 8 }),
    );
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 }),
        fc.array(fc.tuple(tie("value"), tie("value")), { maxLength: 3 }).map((e) => new Map(e)),
        fc.array(tie("value"), { maxLength: 3 }).map((e) => new Set(e)),
        fc.string().map((m) => new Error(m)),
      ),
    }));
    fc.assert(
      fc.property(value, (v) => {
        expect(roundTrip(v)).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });
});
