// `npm run bench:compare -- --base <other checkout>/node/bin/resonate.js`:
// this checkout's node against another build, in alternation, several rounds,
// each run on a store of its own (a fresh nats-server), and one table of the
// medians with their spread. This machine's speed swings up to 2x within
// minutes, so one run of each build says little; medians of alternated runs
// say more, and CPU per op less than throughput.
//
//   --base FILE        the other build's node/bin/resonate.js (required)
//   --rounds N         runs of each build (default 3); the order alternates per round
//   --store NAMES      memory, jetstream, jetstream-r3, comma-separated (default jetstream)
//   --only TEXT        workloads whose name contains TEXT (default all)
//   --concurrency N    only the rows at this concurrency
//   --duration MS      measured window per row (default 3000), --warmup MS (default 2000)

import { parseArgs } from "node:util";
import { percentile } from "./lib/measure.ts";
import { startNodeProcess } from "./lib/node-process.ts";
import { cpuUs } from "./lib/proc.ts";
import { parseStores, startStore } from "./lib/stores.ts";
import { printTable } from "./lib/table.ts";
import { workloadsFor } from "./workloads/all.ts";

const { values } = parseArgs({
  options: {
    base: { type: "string" },
    rounds: { type: "string", default: "3" },
    store: { type: "string", default: "jetstream" },
    only: { type: "string" },
    concurrency: { type: "string" },
    duration: { type: "string", default: "3000" },
    warmup: { type: "string", default: "2000" },
  },
});
if (values.base === undefined) {
  console.error("bench:compare needs --base <other checkout>/node/bin/resonate.js (the build to compare this one with)");
  process.exit(2);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds must be a whole number from 1, got ${values.rounds}`);
  process.exit(2);
}

type Build = "base" | "this";
interface Sample {
  opsPerS: number;
  p50Ms: number;
  nodeUsPerOp: number;
}
/** Samples per row (store / workload / concurrency) and build. */
const samples = new Map<string, Record<Build, Sample[]>>();
const rowOrder: string[] = [];

for (const storeName of parseStores(values.store!)) {
  for (let round = 0; round < rounds; round++) {
    const order: Build[] = round % 2 === 0 ? ["base", "this"] : ["this", "base"];
    for (const build of order) {
      const target = await startStore(storeName);
      try {
        const node = await startNodeProcess({
          natsUrl: target.natsUrl,
          replicas: target.replicas,
          ...(build === "base" ? { bin: values.base } : {}),
        });
        try {
          for (const w of workloadsFor(target.natsUrl).filter((w) => values.only === undefined || w.name.includes(values.only))) {
            for (const concurrency of w.concurrency) {
              if (values.concurrency !== undefined && concurrency !== Number(values.concurrency)) continue;
              const result = await w.run({
                address: node.address,
                concurrency,
                durationMs: Number(values.duration),
                warmupMs: Number(values.warmup),
                prefix: `compare-${build}-${round}-${w.name.replace(/\W+/g, "-")}-${concurrency}-${Date.now()}`,
                natsUrl: target.natsUrl,
                replicas: target.replicas,
                nodeCpuUs: () => cpuUs(node.pid),
              });
              const row = `${storeName}\t${w.name}\t${concurrency}`;
              if (!samples.has(row)) {
                samples.set(row, { base: [], this: [] });
                rowOrder.push(row);
              }
              samples.get(row)![build].push({
                opsPerS: (result.ops * 1000) / result.elapsedMs,
                p50Ms: percentile(result.latenciesMs.sort((a, b) => a - b), 50),
                nodeUsPerOp: result.ops === 0 || result.nodeCpuUs === undefined ? NaN : result.nodeCpuUs / result.ops,
              });
              console.error(`round ${round + 1}/${rounds} ${build}: ${row.replaceAll("\t", " ")} done`);
            }
          }
        } finally {
          await node.stop();
        }
      } finally {
        await target.stop();
      }
    }
  }
}

const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const spread = (xs: number[], digits = 0) => `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;
const change = (base: number[], now: number[]) => {
  const b = median(base);
  return b === 0 || Number.isNaN(b) ? "-" : `${median(now) >= b ? "+" : ""}${fmt((100 * (median(now) - b)) / b)}%`;
};

const header = ["store", "workload", "conc.", "ops/s base", "ops/s this", "Δ", "node µs/op base", "node µs/op this", "Δ", "p50 ms base", "p50 ms this"];
const rows = rowOrder.map((row) => {
  const { base, this: now } = samples.get(row)!;
  const pick = (xs: Sample[], k: keyof Sample) => xs.map((s) => s[k]);
  return [
    ...row.split("\t"),
    spread(pick(base, "opsPerS")),
    spread(pick(now, "opsPerS")),
    change(pick(base, "opsPerS"), pick(now, "opsPerS")),
    spread(pick(base, "nodeUsPerOp")),
    spread(pick(now, "nodeUsPerOp")),
    change(pick(base, "nodeUsPerOp"), pick(now, "nodeUsPerOp")),
    fmt(median(pick(base, "p50Ms")), 2),
    fmt(median(pick(now, "p50Ms")), 2),
  ];
});
printTable(header, rows);
console.log(`\nmedian (min–max) of ${rounds} run(s) per build, alternated; base: ${values.base}; this: this checkout's node/bin/resonate.js`);
