// The JetStream store's local view delivers changes to watchers after making
// them (off the path of the request that made them): in the order made,
// each once, only those made after a watcher began, and at once when a
// reader asks. Readers of a record version share one parsed value, kept for
// the records parsed last only.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Change } from "../../src/store/types.ts";
import { LocalView } from "../../src/store/view.ts";

function recorder(): { seen: string[]; onChange: (change: Change) => void } {
  const seen: string[] = [];
  return { seen, onChange: (c) => seen.push(`${c.key}@${c.revision}=${JSON.stringify(c.value)}`) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("local view change delivery", () => {
  it("a record changes in the view at once; its watchers hear of it when a reader asks (deliver)", () => {
    const view = new LocalView(1);
    const w = recorder();
    view.watch("p/", w.onChange);
    view.apply(0, 1, ["p/a"], ['{"v":1}']);
    expect(view.slot("p/a")).toEqual({ json: '{"v":1}', revision: 1 });
    view.deliver();
    expect(w.seen).toEqual(['p/a@1={"v":1}']);
  });

  it("undelivered changes reach watchers unasked within two turns of the event loop, in the order made, once", async () => {
    const view = new LocalView(2);
    const w = recorder();
    view.watch("p/", w.onChange);
    view.apply(0, 1, ["p/a"], ['{"v":1}']);
    view.apply(1, 1, ["p/b"], ['{"v":1}']);
    view.apply(0, 2, ["p/a"], [null]);
    await turn();
    await turn();
    expect(w.seen).toEqual(['p/a@1={"v":1}', 'p/b@1={"v":1}', "p/a@2=null"]);
    view.deliver();
    await turn();
    await turn();
    expect(w.seen).toHaveLength(3);
  });

  it("a watcher does not hear of changes made before it began, even those not yet delivered to others", () => {
    const view = new LocalView(1);
    const early = recorder();
    view.watch("p/", early.onChange);
    view.apply(0, 1, ["p/before"], ['{"v":1}']);
    const late = recorder();
    view.watch("p/", late.onChange);
    view.apply(0, 2, ["p/after"], ['{"v":2}']);
    view.deliver();
    expect(early.seen).toEqual(['p/before@1={"v":1}', 'p/after@2={"v":2}']);
    expect(late.seen).toEqual(['p/after@2={"v":2}']);
  });

  it("a watcher that stopped hears of nothing more, delivered later or not", () => {
    const view = new LocalView(1);
    const w = recorder();
    const unwatch = view.watch("p/", w.onChange);
    view.apply(0, 1, ["p/a"], ['{"v":1}']);
    unwatch();
    view.deliver();
    expect(w.seen).toEqual([]);
  });

  it("a closed view delivers nothing it had not delivered", async () => {
    const view = new LocalView(1);
    const w = recorder();
    view.watch("p/", w.onChange);
    view.apply(0, 1, ["p/a"], ['{"v":1}']);
    view.close();
    view.deliver();
    await turn();
    await turn();
    expect(w.seen).toEqual([]);
  });

  it("readers and watchers of one version of a record share one parsed value; the next version is parsed anew", () => {
    const view = new LocalView(1);
    let delivered: unknown;
    view.watch("p/", (c) => (delivered = c.value));
    view.apply(0, 1, ["p/a"], ['{"v":1}']);
    const first = view.valueOf(view.slot("p/a")!);
    view.deliver();
    expect(delivered).toBe(first);
    expect(view.valueOf(view.slot("p/a")!)).toBe(first);
    view.apply(0, 2, ["p/a"], ['{"v":2}']);
    const second = view.valueOf(view.slot("p/a")!);
    expect(second).toEqual({ v: 2 });
    expect(first).toEqual({ v: 1 });
  });

  it("parsed values are kept for the last 1,024 records parsed only; older ones are held as text", () => {
    const view = new LocalView(1);
    const keys = Array.from({ length: 1_025 }, (_, i) => `p/${String(i).padStart(5, "0")}`);
    keys.forEach((key, i) => view.apply(0, i + 1, [key], [`{"i":${i}}`]));
    for (const key of keys) view.valueOf(view.slot(key)!);
    expect(view.slot(keys[0]!)!.value).toBeUndefined();
    expect(view.slot(keys[1]!)!.value).toEqual({ i: 1 });
    expect(view.valueOf(view.slot(keys[0]!)!)).toEqual({ i: 0 });
  });

  it("a record parsed again at the ring place it held before still gets its value", () => {
    const view = new LocalView(1);
    view.apply(0, 1, ["p/a"], ['{"v":1}']);
    view.valueOf(view.slot("p/a")!);
    view.apply(0, 2, ["p/a"], ['{"v":2}']);
    const others = Array.from({ length: 1_023 }, (_, i) => `p/o${i}`);
    others.forEach((key, i) => view.apply(0, i + 3, [key], [`{"i":${i}}`]));
    for (const key of others) view.valueOf(view.slot(key)!);
    // The ring came round to the place p/a took first: parsing it again must not evict it from itself.
    expect(view.valueOf(view.slot("p/a")!)).toEqual({ v: 2 });
    expect(view.valueOf(view.slot("p/a")!)).toEqual({ v: 2 });
  });

  it("a record's value is always its text parsed, whatever the order of changes and reads", () => {
    // Sequences long enough for the ring of 1,024 to come round several times over a few keys.
    const step = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 9 }));
    fc.assert(
      fc.property(fc.array(step, { minLength: 3_000, maxLength: 5_000 }), (steps) => {
        const view = new LocalView(1);
        let sequence = 0;
        for (const [change, k, v] of steps) {
          const key = `p/${k}`;
          if (change || view.slot(key) === undefined) view.apply(0, ++sequence, [key], [`{"k":${k},"v":${v}}`]);
          const slot = view.slot(key)!;
          expect(view.valueOf(slot)).toEqual(JSON.parse(slot.json));
        }
      }),
      // No shrinking: a counterexample of thousands of steps takes minutes to shrink.
      { numRuns: 20, endOnFailure: true },
    );
  });

  it("the tests run with shared values frozen: a reader that modifies a record it read fails", () => {
    expect(process.env.RESONATE_FREEZE_SHARED_RECORDS).toBe("1");
    const view = new LocalView(1);
    view.apply(0, 1, ["p/a"], ['{"v":1,"tags":{"t":"x"}}']);
    const value = view.valueOf(view.slot("p/a")!) as { v: number; tags: Record<string, string> };
    expect(() => (value.v = 2)).toThrow(TypeError);
    expect(() => (value.tags.t = "y")).toThrow(TypeError);
  });
});
