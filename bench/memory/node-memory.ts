// What the node process's resident memory is made of after the bench rows,
// read from outside: /proc for resident memory and its file-backed part (the
// node binary's pages), the node's own /metrics for the V8 heap (committed
// and in use, garbage included: no GC is forced) and memory outside the heap,
// and how many records the node holds then. "Other" is what is neither heap
// nor file-backed: malloc (nghttp2, zlib, ICU), thread stacks, V8's own
// tables.

import { readFileSync } from "node:fs";

export interface NodeMemory {
  rssMiB: number;
  peakMiB: number;
  /** Resident pages backed by files (the node binary and shared libraries). */
  fileMiB: number;
  heapCommittedMiB: number;
  heapUsedMiB: number;
  /** The young generation's committed part (semi-spaces). */
  newSpaceCommittedMiB: number;
  /** Buffers and ArrayBuffers outside the heap. */
  externalMiB: number;
  promises: number;
  tasks: number;
}

const MiB = 1024 * 1024;

export async function nodeMemory(address: string, pid: number): Promise<NodeMemory> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? NaN);
  const sum = (family: string) => {
    let n = 0;
    for (const m of text.matchAll(new RegExp(`^${family}\\{[^}]*\\} (\\S+)`, "gm"))) n += Number(m[1]);
    return n;
  };
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return {
    rssMiB: kib("VmRSS") / 1024,
    peakMiB: kib("VmHWM") / 1024,
    fileMiB: kib("RssFile") / 1024,
    heapCommittedMiB: sample("nodejs_heap_size_total_bytes") / MiB,
    heapUsedMiB: sample("nodejs_heap_size_used_bytes") / MiB,
    newSpaceCommittedMiB: sample('nodejs_heap_space_size_total_bytes\\{space="new"\\}') / MiB,
    externalMiB: sample("nodejs_external_memory_bytes") / MiB,
    promises: sum("resonate_promises"),
    tasks: sum("resonate_tasks"),
  };
}

export function describeNodeMemory(m: NodeMemory): string {
  const mib = (n: number) => `${n.toFixed(0)} MiB`;
  const other = m.rssMiB - m.fileMiB - m.heapCommittedMiB - m.externalMiB;
  return (
    `RSS ${mib(m.rssMiB)} (peak ${mib(m.peakMiB)}) = V8 heap committed ${mib(m.heapCommittedMiB)} ` +
    `(${mib(m.heapUsedMiB)} in use, garbage not yet collected included; young generation ${mib(m.newSpaceCommittedMiB)}) ` +
    `+ external buffers ${mib(m.externalMiB)} + node binary ${mib(m.fileMiB)} + other (malloc, stacks) ${mib(other)}; ` +
    `holding ${m.promises.toLocaleString("en-US")} promises and ${m.tasks.toLocaleString("en-US")} tasks`
  );
}
