// Handles the client gives back: an execution (its result, when it is done)
// and a schedule (which can be deleted).

import type { PromiseRecord } from "@resonate-mesh/node/protocol";
import type { Codec } from "./codec.ts";
import type { Send } from "./execution.ts";
import { ServerError } from "./errors.ts";
import { outcomeOf, unwrap } from "./outcome.ts";
import type { Subscriptions } from "./subscriptions.ts";

export class ExecutionHandle<T = unknown> {
  #settled: PromiseRecord | undefined;
  readonly #wait: () => Promise<PromiseRecord>;
  readonly #send: Send;
  readonly #codec: Codec;

  /** @internal */
  constructor(
    readonly id: string,
    known: PromiseRecord | undefined,
    wait: () => Promise<PromiseRecord>,
    send: Send,
    codec: Codec,
  ) {
    if (known !== undefined && known.state !== "pending") this.#settled = known;
    this.#wait = wait;
    this.#send = send;
    this.#codec = codec;
  }

  /** The function's return value, or its error thrown here, once it has finished (wherever it ran). */
  async result(): Promise<T> {
    this.#settled ??= await this.#wait();
    return unwrap<T>(outcomeOf(this.#settled, this.#codec));
  }

  /** Whether it has finished, without waiting. */
  async done(): Promise<boolean> {
    if (this.#settled !== undefined) return true;
    const res = await this.#send({ kind: "promise.get", data: { id: this.id } });
    if (res.status !== 200) throw new ServerError(res.kind, "error" in res ? res.error : unknownError(res.status), this.id);
    if (res.data.promise.state === "pending") return false;
    this.#settled = res.data.promise;
    return true;
  }
}

export class ScheduleHandle {
  readonly #send: Send;

  /** @internal */
  constructor(
    readonly id: string,
    send: Send,
  ) {
    this.#send = send;
  }

  /** Stop the schedule; promises it already created are untouched. */
  async delete(): Promise<void> {
    const res = await this.#send({ kind: "schedule.delete", data: { id: this.id } });
    if (res.status !== 200 && res.status !== 404) {
      throw new ServerError(res.kind, "error" in res ? res.error : unknownError(res.status), this.id);
    }
  }
}

/** The handle's wait for a client that subscribes on demand. */
export function waitFor(subscriptions: Subscriptions, id: string): () => Promise<PromiseRecord> {
  return () => subscriptions.wait(id);
}

export function unknownError(status: number) {
  return { status: 500 as const, code: "INTERNAL" as const, message: `unexpected status ${status}` };
}
