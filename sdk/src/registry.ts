// The functions a client can execute, by (name, version). Invocations carry
// the name and version in their param; version 0 (or none) means "the latest
// registered version".

import { duplicateRegistration, invalidArgument } from "./errors.ts";
import type { RetryPolicy } from "./options/retry.ts";
import type { DurableFunction } from "./types.ts";

export interface RegisterOptions {
  /** Defaults to the function's own name. */
  name?: string;
  /** A positive integer, default 1. */
  version?: number;
  /** Retries when this function runs as the root of an invocation that names none (default: never). */
  retry?: RetryPolicy;
}

export interface Registered {
  name: string;
  version: number;
  fn: DurableFunction;
  retry?: RetryPolicy;
}

export class Registry {
  private readonly byName = new Map<string, Map<number, Registered>>();
  private readonly byFn = new Map<DurableFunction, Registered>();

  add(fn: DurableFunction, options: RegisterOptions = {}): Registered {
    if (typeof fn !== "function") {
      throw invalidArgument(`register() needs a function as its first argument, got ${typeof fn}.`);
    }
    const name = options.name ?? fn.name;
    if (typeof name !== "string" || name.length === 0) {
      throw invalidArgument(
        `register() got an anonymous function; name it (async function myStep(ctx) {...}) or pass { name: "myStep" }.`,
      );
    }
    const version = options.version ?? 1;
    if (!Number.isInteger(version) || version < 1) {
      throw invalidArgument(`register(${name}): version must be a positive integer, got ${String(version)}.`);
    }
    const versions = this.byName.get(name) ?? new Map<number, Registered>();
    const existing = versions.get(version);
    if (existing !== undefined) {
      throw duplicateRegistration(name, version, label(existing.fn), label(fn));
    }
    const entry: Registered = { name, version, fn, ...(options.retry ? { retry: options.retry } : {}) };
    versions.set(version, entry);
    this.byName.set(name, versions);
    if (!this.byFn.has(fn)) this.byFn.set(fn, entry);
    return entry;
  }

  /** By name; `version` 0 or undefined picks the highest registered. */
  get(name: string, version?: number): Registered | undefined {
    const versions = this.byName.get(name);
    if (versions === undefined) return undefined;
    if (version === undefined || version === 0) {
      let best: Registered | undefined;
      for (const r of versions.values()) if (best === undefined || r.version > best.version) best = r;
      return best;
    }
    return versions.get(version);
  }

  byFunction(fn: DurableFunction): Registered | undefined {
    return this.byFn.get(fn);
  }
}

function label(fn: DurableFunction): string {
  return fn.name ? `function ${fn.name}` : "an anonymous function";
}
