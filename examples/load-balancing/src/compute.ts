// The unit of work: a durable function any worker of the group may run.

import type { Context } from "@resonate-mesh/sdk";

/** How long one task takes, to make the sharing visible (WORK_MS, default 1 s). */
const WORK_MS = Number(process.env.WORK_MS ?? 1_000);

export interface Answer {
  n: number;
  square: number;
  /** Which worker computed it. */
  worker: string;
}

export function compute(worker: string) {
  return async function compute(ctx: Context, n: number): Promise<Answer> {
    console.log(`[${worker}] ${ctx.id}: computing ${n} * ${n}`);
    await new Promise((resolve) => setTimeout(resolve, WORK_MS));
    console.log(`[${worker}] ${ctx.id}: done`);
    return { n, square: n * n, worker };
  };
}
