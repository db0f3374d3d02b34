// `npm run bench`: start a node as a separate process, run every workload at
// each of its concurrencies, and print one table: throughput, latency, CPU
// per operation (node process, client process, both), then the node's memory
// after the rows and the bytes per promise it holds.
//
//   npm run bench                        all workloads, default concurrencies
//   npm run bench -- --duration 10000    measure each row for 10 s (default 3 s)
//   npm run bench -- --only create       workloads whose name contains "create"
//   npm run bench -- --warmup 500        unmeasured run-in per row (default 2 s)
//   npm run bench -- --store jetstream   only the node on JetStream R1; --store takes a comma-separated
//                                        list of memory, jetstream (R1, one nats-server started here),
//                                        jetstream-r3 (three nats-servers clustered on loopback, started
//                                        here), default all; nats-server 2.12+ on PATH. Each JetStream
//                                        store gets the raw ceiling rows too.
//   npm run bench -- --held 0            skip the bytes-per-promise rows (default 100000 promises each)
//   npm run bench -- --idle 30000        also report the node's memory after this long without requests
//                                        (V8 gives back heap it no longer needs some seconds after a burst)
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
import { cpuUs } from "./lib/proc.ts";
import type { RunResult, Workload } from "./lib/types.ts";
import { parseStores, startStore } from "./lib/stores.ts";
import { measurePace } from "./lib/pace.ts";
import { printTable } from "./lib/table.ts";
import { HELD_KINDS } from "./memory/kinds.ts";
import { describeNodeMemory, nodeMemory } from "./memory/node-memory.ts";
import { allWorkloads, createSettle, jetstreamRaw, workloadsFor } from "./workloads/all.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: process.env.BENCH_DURATION_MS ?? "3000" },
    warmup: { type: "string", default: "2000" },
    only: { type: "string" },
    store: { type: "string", default: "all" },
    held: { type: "string", default: "100000" },
    idle: { type: "string", default: "0" },
    concurrency: { type: "string" },
  },
});

const durationMs = Number(values.duration);
const warmupMs = Number(values.warmup);
const heldCount = Number(values.held);
const stores = parseStores(values.store!);
const matches = (w: Workload) => values.only === undefined || w.name.includes(values.only);

const perOp = (us: number | undefined, ops: number) =>
  us === undefined || ops === 0 ? "-" : Math.round(us / ops).toLocaleString("en-US");

const rows: string[][] = [];
const legends: string[] = [];
const memories: string[] = [];
/** ops/s per store, workload and concurrency, for the share of the raw ceiling. */
const rates = new Map<string, number>();
const selectedNames = new Set<string>();
/** The machine's pace before each store's rows, and after the last. */
const paces: string[] = [];
for (const storeName of stores) {
  paces.push(`${measurePace().toLocaleString("en-US")} before the ${storeName} rows`);
  const target = await startStore(storeName);
  const selected = workloadsFor(target.natsUrl).filter(matches);
  for (const w of selected) selectedNames.add(w.name);
  try {
    const node = await startNodeProcess({ natsUrl: target.natsUrl, replicas: target.replicas });
    try {
      for (const w of selected) {
        for (const concurrency of w.concurrency) {
          if (values.concurrency !== undefined && concurrency !== Number(values.concurrency)) continue;
          const result = await w.run({
            address: node.address,
            concurrency,
            durationMs,
            warmupMs,
            prefix: `bench-${storeName}-${w.name.replace(/\W+/g, "-")}-${concurrency}-${Date.now()}`,
            natsUrl: target.natsUrl,
            replicas: target.replicas,
            nodeCpuUs: () => cpuUs(node.pid),
            natsCpuUs: target.natsPids.length === 0 ? undefined : () => target.natsPids.reduce((sum, pid) => sum + cpuUs(pid), 0),
          });
          rates.set(`${storeName}/${w.name}/${concurrency}`, (result.ops * 1000) / result.elapsedMs);
          rows.push([storeName, ...formatRow(w, concurrency, result)]);
        }
      }
      memories.push(`node memory after the ${storeName} rows: ${describeNodeMemory(await nodeMemory(node.address, node.pid))}`);
      if (Number(values.idle) > 0) {
        await new Promise((r) => setTimeout(r, Number(values.idle)));
        memories.push(`node memory ${Number(values.idle) / 1000} s later, idle: ${describeNodeMemory(await nodeMemory(node.address, node.pid))}`);
      }
    } finally {
      await node.stop();
    }
    legends.push(`${storeName}: ${target.describe}`);
  } finally {
    await target.stop();
  }
}

function formatRow(w: Workload, concurrency: number, result: RunResult): string[] {
  const sorted = result.latenciesMs.sort((a, b) => a - b);
  const total = result.clientCpuUs === undefined || result.nodeCpuUs === undefined ? undefined : result.clientCpuUs + result.nodeCpuUs;
  return [
    w.name,
    String(concurrency),
    Math.round((result.ops * 1000) / result.elapsedMs).toLocaleString("en-US"),
    percentile(sorted, 50).toFixed(2),
    percentile(sorted, 99).toFixed(2),
    String(result.errors),
    perOp(result.nodeCpuUs, result.ops),
    perOp(result.clientCpuUs, result.ops),
    perOp(total, result.ops),
    perOp(result.natsCpuUs, result.ops),
  ];
}

const header = ["store", "workload", "concurrency", "ops/s", "p50 ms", "p99 ms", "errors", "node CPU µs/op", "client CPU µs/op", "node+client µs/op", "nats-server CPU µs/op"];
paces.push(`${measurePace().toLocaleString("en-US")} after them`);
printTable(header, rows);
console.log(`\nmachine pace (JSON round trips of a promise record a second, one thread; compare figures only at a similar pace): ${paces.join(", ")}`);

/** A create+settle rate as a share of a raw ceiling, one line (nothing unless both ran). */
const printShare = (rate: number | undefined, raw: number | undefined, line: (percent: string) => string) => {
  if (rate !== undefined && raw !== undefined && raw !== 0) console.log(line(((100 * rate) / raw).toFixed(0)));
};
const rateOf = (storeName: string, workload: Workload, concurrency: number) => rates.get(`${storeName}/${workload.name}/${concurrency}`);
for (const storeName of stores) {
  for (const concurrency of jetstreamRaw.concurrency) {
    printShare(rateOf(storeName, createSettle, concurrency), rateOf(storeName, jetstreamRaw, concurrency), (percent) =>
      `${storeName}: ${createSettle.name} with ${concurrency} client(s) at ${percent}% of the raw ceiling`,
    );
  }
}
// The memory engine does no store I/O: its share of R1's ceiling is what the node's request path
// alone (gRPC, protocol, indexes) allows on this machine, the bound of any engine's share.
for (const concurrency of jetstreamRaw.concurrency) {
  printShare(rateOf("memory", createSettle, concurrency), rateOf("jetstream", jetstreamRaw, concurrency), (percent) =>
    `memory: ${createSettle.name} with ${concurrency} client(s) at ${percent}% of jetstream's raw ceiling (no store I/O: the bound of any store's share)`,
  );
}
console.log();
for (const m of memories) console.log(m);
if (heldCount > 0) {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "memory/held.ts");
  for (const kind of HELD_KINDS) {
    const run = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", script, kind, String(heldCount)], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`bench/memory/held.ts ${kind} failed:\n${run.stderr}`);
    const { bytesPerPromise, rssMiB } = JSON.parse(run.stdout.trim().split("\n").pop()!) as { bytesPerPromise: number; rssMiB: number };
    console.log(
      `bytes per promise held (${kind}, ${heldCount.toLocaleString("en-US")} promises, heap after GC): ${Math.round(bytesPerPromise)}; process RSS then ${rssMiB.toFixed(0)} MiB`,
    );
  }
}

console.log(`\n${durationMs} ms per row after ${warmupMs} ms warm-up; the node in its own process:`);
for (const l of legends) console.log(`  ${l}`);
console.log("CPU µs/op: CPU time (user + system) of the node process (/proc), of this client process and of the nats-server(s) during the window, per op.");
for (const w of allWorkloads) if (selectedNames.has(w.name)) console.log(`${w.name}: one op = ${w.operation}`);
