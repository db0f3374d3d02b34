// A settled promise as the value it stands for: resolved gives its value,
// rejected throws its recorded error, canceled and timed out throw errors
// that name the promise.

import type { PromiseRecord, Value } from "@resonate-mesh/node/protocol";
import type { Codec } from "./codec.ts";
import { PromiseCanceledError, PromiseTimedOutError } from "./errors.ts";

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export function outcomeOf(record: PromiseRecord, codec: Codec): Outcome {
  try {
    switch (record.state) {
      case "resolved":
        return { ok: true, value: codec.decode(record.value, record.id) };
      case "rejected":
        return { ok: false, error: codec.decode(record.value, record.id) };
      case "rejected_canceled":
        return { ok: false, error: new PromiseCanceledError(record.id, codec.decode(record.value, record.id)) };
      case "rejected_timedout":
        return { ok: false, error: new PromiseTimedOutError(record.id, record.timeoutAt) };
      case "pending":
        throw new Error(`promise "${record.id}" is still pending`);
    }
  } catch (error) {
    return { ok: false, error };
  }
}

/** How an outcome is stored: a result that cannot be encoded becomes a rejection saying so. */
export function settlementOf(outcome: Outcome, id: string, codec: Codec): { state: "resolved" | "rejected"; value: Value } {
  if (outcome.ok) {
    try {
      return { state: "resolved", value: codec.encode(outcome.value, "the result", id) };
    } catch (error) {
      return { state: "rejected", value: encodeError(error, id, codec) };
    }
  }
  return { state: "rejected", value: encodeError(outcome.error, id, codec) };
}

function encodeError(error: unknown, id: string, codec: Codec): Value {
  try {
    return codec.encode(error, "the error", id);
  } catch {
    // The thrown value itself cannot be stored: keep what a person needs to read it.
    const e = error instanceof Error ? error : new Error(String(error));
    const plain = new Error(e.message);
    plain.name = e.name;
    plain.stack = e.stack;
    return codec.encode(plain, "the error", id);
  }
}

export function unwrap<T>(outcome: Outcome): T {
  if (outcome.ok) return outcome.value as T;
  throw outcome.error;
}

/** A promise settled by whoever holds `resolve`/`reject`. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
