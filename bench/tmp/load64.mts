import { workload } from "/work/main/bench/workloads/create-settle.ts";
const c = Number(process.argv[2] ?? 64), d = Number(process.argv[3] ?? 6000);
const u0 = process.cpuUsage();
const r = await workload.run({ address: "127.0.0.1:18555", concurrency: c, durationMs: d, warmupMs: 500, prefix: `y${c}-${Date.now()}` });
const u = process.cpuUsage(u0);
console.log(c, Math.round(r.ops * 1000 / r.elapsedMs), "ops/s", "client cpu user/sys s", u.user/1e6, u.system/1e6);
process.exit(0);
