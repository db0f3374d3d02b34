import { workload } from "/work/main/bench/workloads/create-settle.ts";
for (const c of [1, 64]) {
  const r = await workload.run({ address: "127.0.0.1:18555", concurrency: c, durationMs: 4000, warmupMs: 500, prefix: `x${c}` });
  console.log(c, Math.round(r.ops * 1000 / r.elapsedMs), "ops/s");
}
