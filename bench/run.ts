// `npm run bench`: start a node as a separate process, run every workload at
// each of its concurrencies, and print one table: throughput, latency, CPU
// per operation (node process, client process, both), then the node's memory
// after the rows and the bytes per promise it holds.
//
//   npm run bench                        all workloads, default concurrencies
//   npm run bench -- --duration 10000    measure each row for 10 s (default 3 s)
//   npm run bench -- --only create       workloads whose name contains "create"
//   npm run bench -- --warmup 500        unmeasured run-in per row (default 2 s)
//   npm run bench -- --store jetstream   the node on JetStream R1 (a nats-server started here,
//                                        nats-server 2.12+ on PATH), plus the raw ceiling row
//   npm run bench -- --held 0            skip the bytes-per-promise rows (default 100000 promises each)
//   npm run bench -- --concurrency 64    only the rows at this concurrency (one row per profile:
//                                        BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the node,
//                                        `node --cpu-prof --import tsx bench/run.ts ...` the client/worker)
//
// The warm-up gives V8 time to optimise the hot code of both processes, as
// it has in a long-running worker or node. Rows share the two processes, so
// later rows start warmer; a row run alone from cold needs several seconds
// (W2 alone measured about 145 wf/s after a 0.5 s warm-up, 190 after 3 s,
// 240 after 8 s).
//
// CPU per op is the load-independent figure: on a busy machine throughput and
// latency swing with the neighbours, CPU time per operation much less. For the
// SDK rows the client process is the worker (it runs the workflows), so
// "node + client" is the CPU per workflow of the whole system.

import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { percentile } from "./lib/measure.ts";
import { startNodeProcess } from "./lib/node-process.ts";
import { cpuUs, residentMiB } from "./lib/proc.ts";
import type { Workload } from "./lib/types.ts";
import { startNats } from "../test/support/nats.ts";
import { HELD_KINDS } from "./memory/kinds.ts";
import { workload as createSettle } from "./workloads/create-settle.ts";
import { workload as jetstreamRaw } from "./workloads/jetstream-raw.ts";
import { workload as officialThreeStep } from "./workloads/official-sdk-three-step.ts";
import { workload as sdkFanOut } from "./workloads/sdk-fan-out.ts";
import { workload as sdkThreeStep } from "./workloads/sdk-three-step.ts";
import { connectUnary, handWrittenUnary } from "./workloads/unary-clients.ts";

/** Rows of the table, in order. SDK workflow workloads go here as they land. */
const workloads: Workload[] = [createSettle, handWrittenUnary, connectUnary, sdkThreeStep, officialThreeStep, sdkFanOut];

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: process.env.BENCH_DURATION_MS ?? "3000" },
    warmup: { type: "string", default: "2000" },
    only: { type: "string" },
    store: { type: "string", default: "memory" },
    held: { type: "string", default: "100000" },
    concurrency: { type: "string" },
  },
});

const durationMs = Number(values.duration);
const warmupMs = Number(values.warmup);
const heldCount = Number(values.held);
const onJetStream = values.store === "jetstream";
if (onJetStream) workloads.unshift(jetstreamRaw);
const selected = workloads.filter((w) => values.only === undefined || w.name.includes(values.only));

const perOp = (us: number | undefined, ops: number) =>
  us === undefined || ops === 0 ? "-" : Math.round(us / ops).toLocaleString("en-US");

const nats = onJetStream ? await startNats() : undefined;
const node = await startNodeProcess({ natsUrl: nats?.url });
const rows: string[][] = [];
let memory: { rss: number; peak: number };
try {
  for (const w of selected) {
    for (const concurrency of w.concurrency) {
      if (values.concurrency !== undefined && concurrency !== Number(values.concurrency)) continue;
      const result = await w.run({
        address: node.address,
        concurrency,
        durationMs,
        warmupMs,
        prefix: `bench-${w.name.replace(/\W+/g, "-")}-${concurrency}-${Date.now()}`,
        natsUrl: nats?.url,
        nodeCpuUs: () => cpuUs(node.pid),
      });
      const sorted = result.latenciesMs.sort((a, b) => a - b);
      const total =
        result.clientCpuUs === undefined || result.nodeCpuUs === undefined ? undefined : result.clientCpuUs + result.nodeCpuUs;
      rows.push([
        w.name,
        String(concurrency),
        Math.round((result.ops * 1000) / result.elapsedMs).toLocaleString("en-US"),
        percentile(sorted, 50).toFixed(2),
        percentile(sorted, 99).toFixed(2),
        String(result.errors),
        perOp(result.nodeCpuUs, result.ops),
        perOp(result.clientCpuUs, result.ops),
        perOp(total, result.ops),
      ]);
    }
  }
  memory = residentMiB(node.pid);
} finally {
  await node.stop();
  await nats?.stop();
}

const header = ["workload", "concurrency", "ops/s", "p50 ms", "p99 ms", "errors", "node CPU µs/op", "client CPU µs/op", "node+client µs/op"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));

console.log(`\nnode memory after the rows: RSS ${memory.rss.toFixed(0)} MiB, peak RSS ${memory.peak.toFixed(0)} MiB`);
if (heldCount > 0) {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "memory/held.ts");
  for (const kind of HELD_KINDS) {
    const run = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", script, kind, String(heldCount)], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`bench/memory/held.ts ${kind} failed:\n${run.stderr}`);
    const { bytesPerPromise } = JSON.parse(run.stdout.trim().split("\n").pop()!) as { bytesPerPromise: number };
    console.log(`bytes per promise held (${kind}, ${heldCount.toLocaleString("en-US")} promises, heap after GC): ${Math.round(bytesPerPromise)}`);
  }
}

const nodeLine = onJetStream
  ? "`resonate serve --store jetstream` (R1, 8 partitions, one local nats-server)"
  : "`resonate dev` (memory store)";
console.log(`\n${durationMs} ms per row after ${warmupMs} ms warm-up; node: ${nodeLine} in its own process.`);
console.log("CPU µs/op: CPU time (user + system) of the node process (/proc) and of this client process during the window, per op.");
for (const w of selected) console.log(`${w.name}: one op = ${w.operation}`);
