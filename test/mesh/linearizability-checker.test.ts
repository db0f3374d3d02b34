// The linearizability checker itself, on hand-built histories of one promise:
// it must accept what some order explains and reject what none does.

import { describe, expect, it } from "vitest";
import { checkLinearizable, promiseModel, type Operation, type PromiseInput, type PromiseOutput } from "../support/linearizability.ts";

const id = "p";
const T = 1_700_000_000_000;
const create = (param: string): PromiseInput => ({ kind: "promise.create", id, timeoutAt: T + 3_600_000, param, now: T });
const settle = (value: string): PromiseInput => ({ kind: "promise.settle", id, state: "resolved", value, now: T });
const get: PromiseInput = { kind: "promise.get", id, now: T };
const pending = (param: string): PromiseOutput => ({ status: 200, state: "pending", param, value: "" });
const resolved = (param: string, value: string): PromiseOutput => ({ status: 200, state: "resolved", param, value });
const notFound: PromiseOutput = { status: 404 };

type Op = Operation<PromiseInput, PromiseOutput>;
const op = (call: number, ret: number | undefined, input: PromiseInput, output?: PromiseOutput): Op => ({ call, ret, input, output });

describe("the linearizability checker", () => {
  it("accepts overlapping creates when the winner's param is what everyone saw", () => {
    const history = [op(0, 10, create("a"), pending("b")), op(1, 9, create("b"), pending("b")), op(11, 12, get, pending("b"))];
    expect(checkLinearizable(promiseModel, history).ok).toBe(true);
  });

  it("rejects a read that misses a create which completed before the read began", () => {
    const history = [op(0, 5, create("a"), pending("a")), op(6, 8, get, notFound)];
    expect(checkLinearizable(promiseModel, history)).toMatchObject({ ok: false });
  });

  it("rejects two creates that each saw their own param (both cannot have won)", () => {
    const history = [op(0, 10, create("a"), pending("a")), op(1, 9, create("b"), pending("b"))];
    expect(checkLinearizable(promiseModel, history).ok).toBe(false);
  });

  it("rejects a read that goes back to pending after a read saw the promise resolved", () => {
    const history = [
      op(0, 1, create("a"), pending("a")),
      op(2, 20, settle("v"), resolved("a", "v")),
      op(3, 4, get, resolved("a", "v")),
      op(5, 6, get, pending("a")),
    ];
    expect(checkLinearizable(promiseModel, history).ok).toBe(false);
  });

  it("accepts a read that sees a concurrent settle before the settle answered", () => {
    const history = [op(0, 1, create("a"), pending("a")), op(2, 20, settle("v"), resolved("a", "v")), op(3, 4, get, resolved("a", "v"))];
    expect(checkLinearizable(promiseModel, history).ok).toBe(true);
  });

  it("lets an unanswered operation take effect late, or never", () => {
    const tookEffect = [op(0, 1, create("a"), pending("a")), op(2, undefined, settle("v")), op(30, 31, get, resolved("a", "v"))];
    const neverDid = [op(0, 1, create("a"), pending("a")), op(2, undefined, settle("v")), op(30, 31, get, pending("a"))];
    expect(checkLinearizable(promiseModel, tookEffect).ok).toBe(true);
    expect(checkLinearizable(promiseModel, neverDid).ok).toBe(true);
  });

  it("does not let an unanswered operation take effect before it was sent", () => {
    const history = [op(0, 1, create("a"), pending("a")), op(2, 3, get, resolved("a", "v")), op(10, undefined, settle("v"))];
    expect(checkLinearizable(promiseModel, history).ok).toBe(false);
  });
});
