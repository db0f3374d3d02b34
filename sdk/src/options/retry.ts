// Retry policies for durable functions. A policy answers "how long to wait
// before retry number n" or "give up"; the runner also gives up when the wait
// would end past the function's timeout. The encoded form `{type, data}` is the
// official SDK's, so a policy travels in an invocation's param either way.

import { invalidArgument } from "../errors.ts";

export interface RetryPolicy {
  readonly type: "exponential" | "linear" | "constant" | "never";
  /** Delay in ms before retry number `retry` (1 = the first retry), or null to give up. */
  delay(retry: number): number | null;
  encode(): EncodedRetryPolicy;
}

export interface EncodedRetryPolicy {
  type: string;
  data: Record<string, number>;
}

function nonNegative(name: string, value: number): number {
  if (!(typeof value === "number" && value >= 0 && !Number.isNaN(value))) {
    throw invalidArgument(`retry option ${name} must be a number >= 0, got ${String(value)}.`);
  }
  return value;
}

const UNLIMITED = Number.MAX_SAFE_INTEGER;

export interface ExponentialOptions {
  /** First delay in ms (default 1000). */
  delay?: number;
  /** Growth per retry (default 2). */
  factor?: number;
  /** Longest delay in ms (default 30000). */
  maxDelay?: number;
  /** Retries after the first attempt (default unlimited, bounded by the timeout). */
  maxRetries?: number;
}

class Exponential implements RetryPolicy {
  readonly type = "exponential";
  private readonly initial: number;
  private readonly factor: number;
  private readonly maxDelay: number;
  private readonly maxRetries: number;
  constructor(o: ExponentialOptions = {}) {
    this.initial = nonNegative("delay", o.delay ?? 1000);
    this.factor = nonNegative("factor", o.factor ?? 2);
    this.maxDelay = nonNegative("maxDelay", o.maxDelay ?? 30_000);
    this.maxRetries = nonNegative("maxRetries", o.maxRetries ?? UNLIMITED);
  }
  delay(retry: number): number | null {
    if (retry > this.maxRetries) return null;
    return Math.min(this.initial * this.factor ** (retry - 1), this.maxDelay);
  }
  encode(): EncodedRetryPolicy {
    return {
      type: this.type,
      data: { delay: this.initial, factor: this.factor, maxDelay: this.maxDelay, maxRetries: this.maxRetries },
    };
  }
}

export interface LinearOptions {
  /** Added to the delay per retry, in ms (default 1000): 1s, 2s, 3s... */
  delay?: number;
  maxRetries?: number;
}

class Linear implements RetryPolicy {
  readonly type = "linear";
  private readonly step: number;
  private readonly maxRetries: number;
  constructor(o: LinearOptions = {}) {
    this.step = nonNegative("delay", o.delay ?? 1000);
    this.maxRetries = nonNegative("maxRetries", o.maxRetries ?? UNLIMITED);
  }
  delay(retry: number): number | null {
    return retry > this.maxRetries ? null : this.step * retry;
  }
  encode(): EncodedRetryPolicy {
    return { type: this.type, data: { delay: this.step, maxRetries: this.maxRetries } };
  }
}

export interface ConstantOptions {
  /** Delay between attempts in ms (default 1000). */
  delay?: number;
  maxRetries?: number;
}

class Constant implements RetryPolicy {
  readonly type = "constant";
  private readonly wait: number;
  private readonly maxRetries: number;
  constructor(o: ConstantOptions = {}) {
    this.wait = nonNegative("delay", o.delay ?? 1000);
    this.maxRetries = nonNegative("maxRetries", o.maxRetries ?? UNLIMITED);
  }
  delay(retry: number): number | null {
    return retry > this.maxRetries ? null : this.wait;
  }
  encode(): EncodedRetryPolicy {
    return { type: this.type, data: { delay: this.wait, maxRetries: this.maxRetries } };
  }
}

class Never implements RetryPolicy {
  readonly type = "never";
  delay(): null {
    return null;
  }
  encode(): EncodedRetryPolicy {
    return { type: this.type, data: {} };
  }
}

export const Retry = {
  exponential: (options?: ExponentialOptions): RetryPolicy => new Exponential(options),
  linear: (options?: LinearOptions): RetryPolicy => new Linear(options),
  constant: (options?: ConstantOptions): RetryPolicy => new Constant(options),
  never: (): RetryPolicy => new Never(),
};

/** The policy of `ctx.run` children that name none. */
export const defaultRetryPolicy: RetryPolicy = Retry.exponential();

/** A policy read back from an invocation's param; undefined when absent or not understood. */
export function decodeRetryPolicy(encoded: unknown): RetryPolicy | undefined {
  if (encoded === null || typeof encoded !== "object") return undefined;
  const { type, data = {} } = encoded as { type?: unknown; data?: Record<string, number> };
  try {
    switch (type) {
      case "exponential":
        return Retry.exponential(data);
      case "linear":
        return Retry.linear(data);
      case "constant":
        return Retry.constant(data);
      case "never":
        return Retry.never();
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Run `attempt` until it succeeds, the policy gives up, or the next try would
 * start at or after `deadline`. `wait` is injected so the caller decides what
 * waiting means (a real timer, or one that stops when the execution is dropped).
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  deadline: number,
  now: () => number,
  wait: (ms: number) => Promise<void>,
  attempt: (n: number) => Promise<T>,
  retryable: (err: unknown) => boolean,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!retryable(err)) throw err;
      const delay = policy.delay(n);
      if (delay === null || now() + delay >= deadline) throw err;
      await wait(delay);
    }
  }
}
