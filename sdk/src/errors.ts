// Errors the SDK raises. Each has a stable `code`, names the promise it is
// about when there is one, and its message says what happened and how to fix it.

import type { ProtocolError } from "@resonate-mesh/node/protocol";

export type ResonateErrorCode =
  | "CONTEXT_OUTSIDE_FUNCTION"
  | "FUTURE_ALREADY_AWAITED"
  | "NOT_SERIALIZABLE"
  | "NOT_DESERIALIZABLE"
  | "FUNCTION_NOT_REGISTERED"
  | "DUPLICATE_REGISTRATION"
  | "NON_DETERMINISTIC"
  | "INVALID_ARGUMENT"
  | "PROMISE_NOT_FOUND"
  | "SCHEDULE_NOT_FOUND"
  | "PROMISE_TIMED_OUT"
  | "PROMISE_CANCELED"
  | "SERVER_ERROR"
  | "UNAVAILABLE"
  | "STOPPED";

export class ResonateError extends Error {
  constructor(
    readonly code: ResonateErrorCode,
    message: string,
    /** The promise this error is about, when there is one. */
    readonly promiseId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ResonateError";
  }
}

/** A ctx method called where no durable function of that context is running. */
export function contextOutsideFunction(method: string, contextId: string, why: string): ResonateError {
  return new ResonateError(
    "CONTEXT_OUTSIDE_FUNCTION",
    `ctx.${method}() was called on the context of promise "${contextId}" ${why}. ` +
      `A Context is valid only inside the durable function it was passed to, while that function runs: ` +
      `use the ctx your function received as its first argument, and do not keep it after the function returns.`,
    contextId,
  );
}

export function futureAlreadyAwaited(id: string): ResonateError {
  return new ResonateError(
    "FUTURE_ALREADY_AWAITED",
    `the durable future of promise "${id}" was awaited twice. A future yields its result once: ` +
      `keep the value of the first await (const v = await future.result()) and reuse it.`,
    id,
  );
}

export function notSerializable(path: string, what: string, promiseId?: string): ResonateError {
  const where = promiseId === undefined ? "" : ` for promise "${promiseId}"`;
  return new ResonateError(
    "NOT_SERIALIZABLE",
    `cannot encode ${path}${where}: ${what}. Durable arguments and results must be data the codec can store ` +
      `(JSON values, bigint, Date, undefined, Map, Set, Error, Uint8Array); convert it to plain data or pass a codec that handles it.`,
    promiseId,
  );
}

export function notDeserializable(what: string, promiseId: string | undefined, cause?: unknown): ResonateError {
  const where = promiseId === undefined ? "a value" : `the value of promise "${promiseId}"`;
  return new ResonateError(
    "NOT_DESERIALIZABLE",
    `cannot decode ${where}: ${what}. It was written by a different codec; configure the same codec on every client that reads it.`,
    promiseId,
    { cause },
  );
}

export function functionNotRegistered(name: string, version: number | undefined, promiseId?: string): ResonateError {
  const v = version === undefined || version === 0 ? "" : ` version ${version}`;
  const where = promiseId === undefined ? "" : ` (promise "${promiseId}")`;
  return new ResonateError(
    "FUNCTION_NOT_REGISTERED",
    `function "${name}"${v} is not registered on this client${where}. ` +
      `Call resonate.register(${name === "" ? "fn" : name}${v === "" ? "" : `, { version: ${version} }`}) before invoking it here.`,
    promiseId,
  );
}

export function duplicateRegistration(name: string, version: number, existing: string, added: string): ResonateError {
  return new ResonateError(
    "DUPLICATE_REGISTRATION",
    `function "${name}" version ${version} is already registered (by ${existing}); registering ${added} under the same ` +
      `name and version is ambiguous. Give one a different name ({ name: "..." }) or a new version ({ version: ${version + 1} }).`,
  );
}

export function nonDeterministic(id: string, recorded: string, replayed: string): ResonateError {
  return new ResonateError(
    "NON_DETERMINISTIC",
    `non-deterministic replay at promise "${id}": it was recorded as ${recorded}, but this run called ${replayed}. ` +
      `A durable function must make the same ctx calls in the same order with the same arguments every time it runs: ` +
      `move changing inputs (time, randomness, I/O) into ctx.run steps; give concurrent branches that make ctx calls ` +
      `their own context (ctx.run(branch, item).spawn()) instead of sharing one; or start changed code under a new promise id or function version.`,
    id,
  );
}

export function invalidArgument(message: string, promiseId?: string): ResonateError {
  return new ResonateError("INVALID_ARGUMENT", message, promiseId);
}

export function promiseNotFound(id: string): ResonateError {
  return new ResonateError("PROMISE_NOT_FOUND", `no promise with id "${id}" exists; check the id (and the client's prefix).`, id);
}

export class PromiseTimedOutError extends ResonateError {
  constructor(id: string, readonly timeoutAt: number) {
    super(
      "PROMISE_TIMED_OUT",
      `promise "${id}" timed out at ${new Date(timeoutAt).toISOString()} before it was settled; give it a longer .timeout(...) if it needs more time.`,
      id,
    );
    this.name = "PromiseTimedOutError";
  }
}

export class PromiseCanceledError extends ResonateError {
  constructor(id: string, readonly reason?: unknown) {
    super("PROMISE_CANCELED", `promise "${id}" was canceled.`, id);
    this.name = "PromiseCanceledError";
  }
}

/** A request the node refused: carries the protocol status and code. */
export class ServerError extends ResonateError {
  readonly status: number;
  readonly protocolCode: string;
  constructor(kind: string, error: ProtocolError, promiseId?: string) {
    super("SERVER_ERROR", `${kind} failed with ${error.status} ${error.code}: ${error.message}`, promiseId);
    this.name = "ServerError";
    this.status = error.status;
    this.protocolCode = error.code;
  }
}

export function stopped(what: string): ResonateError {
  return new ResonateError("STOPPED", `${what}: this Resonate client was stopped; create a new one.`);
}
