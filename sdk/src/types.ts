// Shapes shared across the SDK's modules.

import type { Context } from "./context.ts";

/** A durable function: the Context first, then its own (serialisable) arguments. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DurableFunction<A extends any[] = any[], R = any> = (ctx: Context, ...args: A) => R;

/** What an invocation's param decodes to; the official SDK's shape. */
export interface Invocation {
  func: string;
  args: unknown[];
  version?: number;
  retry?: unknown;
}
