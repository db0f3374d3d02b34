// A closed loop per client: each of `concurrency` loops runs one operation
// after another; operations finishing inside the measured window count.

import type { RunContext, RunResult } from "./types.ts";

export async function closedLoop(
  ctx: RunContext,
  /**
   * Build the client loop `index`: returns the operation (called with a
   * sequence number) and a close. An operation that resolves with a number
   * reports that as its latency (ms), for a row that times one part of it.
   */
  makeClient: (index: number) => { op: (seq: number) => Promise<void | number>; close(): void },
): Promise<RunResult> {
  const clients = Array.from({ length: ctx.concurrency }, (_, i) => makeClient(i));
  const latenciesMs: number[] = [];
  let ops = 0;
  let errors = 0;
  let measuring = false;
  let stopped = false;
  let firstError: unknown;

  const loops = clients.map(async (client) => {
    let seq = 0;
    while (!stopped) {
      const started = performance.now();
      try {
        const timed = await client.op(seq++);
        if (measuring && !stopped) {
          ops++;
          latenciesMs.push(typeof timed === "number" ? timed : performance.now() - started);
        }
      } catch (err) {
        errors++;
        firstError ??= err;
        if (errors > 100) throw err;
      }
    }
  });

  await sleep(ctx.warmupMs);
  measuring = true;
  const start = performance.now();
  const cpuAtStart = process.cpuUsage();
  const nodeCpuAtStart = ctx.nodeCpuUs?.();
  const natsCpuAtStart = ctx.natsCpuUs?.();
  await sleep(ctx.durationMs);
  stopped = true;
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuAtStart);
  const nodeCpuUs = nodeCpuAtStart === undefined ? undefined : ctx.nodeCpuUs!() - nodeCpuAtStart;
  const natsCpuUs = natsCpuAtStart === undefined ? undefined : ctx.natsCpuUs!() - natsCpuAtStart;
  await Promise.all(loops);
  for (const c of clients) c.close();
  if (ops === 0 && firstError !== undefined) throw firstError;
  return { ops, latenciesMs, elapsedMs, errors, clientCpuUs: cpu.user + cpu.system, nodeCpuUs, natsCpuUs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
