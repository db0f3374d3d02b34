// Promise ids. A child's id is its parent's id, '.', and its sequence number
// in call order, so a replay derives the same ids without storing a counter.

import { randomUUID } from "node:crypto";
import { invalidArgument } from "./errors.ts";

export function childId(parent: string, seq: number): string {
  return `${parent}.${seq}`;
}

/** A process id: a uuid without dashes, like the official SDK's. */
export function randomPid(): string {
  return randomUUID().replace(/-/g, "");
}

/** Ids that the caller names (run, rpc, schedule, explicit child ids). */
export function validateId(id: unknown, what: string): string {
  if (typeof id !== "string" || id.length === 0) {
    throw invalidArgument(`${what} must be a non-empty string, got ${JSON.stringify(id)}; pass an id such as "order-42".`);
  }
  if (id.includes("\0")) throw invalidArgument(`${what} "${id.replace(/\0/g, "\\0")}" contains a NUL byte; remove it.`, id);
  return id;
}
