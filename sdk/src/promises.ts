// `resonate.promises`: durable promises directly, for coordination from
// outside functions (a person approving, another system answering).

import type { PromiseRecord, PromiseState, Request } from "@resonate-mesh/node/protocol";
import type { Codec } from "./codec.ts";
import type { Send } from "./execution.ts";
import { invalidArgument, promiseNotFound, ServerError } from "./errors.ts";
import { unknownError } from "./handles.ts";
import { validateId } from "./ids.ts";
import type { Clock } from "@resonate-mesh/node/local";

/** A promise with its param and value decoded on first read. */
export class DurablePromise<T = unknown> {
  readonly id: string;
  readonly state: PromiseState;
  readonly tags: Readonly<Record<string, string>>;
  readonly timeoutAt: number;
  readonly createdAt: number;
  readonly settledAt: number | undefined;
  readonly #codec: Codec;

  /** @internal */
  constructor(
    /** The record as stored (param and value still encoded). */
    readonly record: PromiseRecord,
    codec: Codec,
  ) {
    this.id = record.id;
    this.state = record.state;
    this.tags = record.tags;
    this.timeoutAt = record.timeoutAt;
    this.createdAt = record.createdAt;
    this.settledAt = record.settledAt;
    this.#codec = codec;
  }

  get pending(): boolean {
    return this.state === "pending";
  }
  get param(): unknown {
    return this.#codec.decode(this.record.param, this.id);
  }
  /** The resolved value, or the rejection's error. */
  get value(): T | undefined {
    return this.#codec.decode(this.record.value, this.id) as T | undefined;
  }
}

export interface CreatePromiseOptions {
  /** Relative timeout in ms (default 24 h); or give `timeoutAt`. */
  timeout?: number;
  /** Absolute deadline, ms since epoch. */
  timeoutAt?: number;
  param?: unknown;
  tags?: Record<string, string>;
}

export interface SearchPromisesOptions {
  state?: "pending" | "resolved" | "rejected" | "rejected_canceled" | "rejected_timedout";
  tags?: Record<string, string>;
  /** An id prefix, or a glob with `*`. */
  id?: string;
  limit?: number;
  cursor?: string;
}

export class Promises {
  /** @internal */
  constructor(
    private readonly send: Send,
    private readonly codec: Codec,
    private readonly clock: Clock,
    private readonly qualify: (id: string) => string,
  ) {}

  async get<T = unknown>(id: string): Promise<DurablePromise<T>> {
    const full = this.qualify(validateId(id, "promises.get() id"));
    return this.expect({ kind: "promise.get", data: { id: full } }, full);
  }

  async create<T = unknown>(id: string, options: CreatePromiseOptions = {}): Promise<DurablePromise<T>> {
    const full = this.qualify(validateId(id, "promises.create() id"));
    const timeoutAt = options.timeoutAt ?? this.clock.now() + (options.timeout ?? 24 * 60 * 60 * 1000);
    if (!Number.isFinite(timeoutAt)) throw invalidArgument(`promises.create("${id}"): timeout must be a finite number of ms.`, full);
    return this.expect(
      {
        kind: "promise.create",
        data: { id: full, timeoutAt, param: this.codec.encode(options.param, "param", full), tags: options.tags ?? {} },
      },
      full,
    );
  }

  resolve<T = unknown>(id: string, value?: unknown): Promise<DurablePromise<T>> {
    return this.settle(id, "resolved", value);
  }

  reject<T = unknown>(id: string, error?: unknown): Promise<DurablePromise<T>> {
    return this.settle(id, "rejected", error);
  }

  cancel<T = unknown>(id: string, reason?: unknown): Promise<DurablePromise<T>> {
    return this.settle(id, "rejected_canceled", reason);
  }

  async search(options: SearchPromisesOptions = {}): Promise<{ promises: DurablePromise[]; cursor?: string }> {
    const data = { ...options, ...(options.id !== undefined ? { id: this.qualify(options.id) } : {}) };
    const res = await this.send({ kind: "promise.search", data });
    if (res.status !== 200) throw new ServerError(res.kind, "error" in res ? res.error : unknownError(res.status));
    const promises = res.data.promises.map((p) => new DurablePromise(p, this.codec));
    return res.data.cursor === undefined ? { promises } : { promises, cursor: res.data.cursor };
  }

  private async settle<T>(id: string, state: "resolved" | "rejected" | "rejected_canceled", value: unknown) {
    const full = this.qualify(validateId(id, `promises.${state === "resolved" ? "resolve" : state === "rejected" ? "reject" : "cancel"}() id`));
    return this.expect<T>(
      { kind: "promise.settle", data: { id: full, state, value: this.codec.encode(value, "value", full) } },
      full,
    );
  }

  private async expect<T>(request: Extract<Request, { kind: "promise.get" | "promise.create" | "promise.settle" }>, id: string) {
    const res = await this.send(request);
    if (res.status === 200) return new DurablePromise<T>(res.data.promise, this.codec);
    if (res.status === 404) throw promiseNotFound(id);
    throw new ServerError(res.kind, "error" in res ? res.error : unknownError(res.status), id);
  }
}
