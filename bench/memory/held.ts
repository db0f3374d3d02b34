// Bytes per promise the embedded node holds: heap (plus buffers outside it)
// after a full GC, before and after writing `count` records of one kind
// through MeshNode.handle on the memory store (a started node, as `resonate
// dev` runs it: search and timer indexes included), divided by `count`; and
// the process's resident memory then. Run in its
// own process with --expose-gc, one kind per process:
//
//   node --expose-gc --import tsx bench/memory/held.ts plain 100000
//
// HELD_HEAP_SNAPSHOT=file.heapsnapshot also writes a heap snapshot after the
// count, to find the top retainers.
//
// Kinds (what a user's program leaves behind):
//   plain     promise.create of a pending promise, a small param, no tags
//   sdk-call  a settled ctx.run step as our SDK records it: a fenced create
//             with the SDK's lineage tags, param and value, in workflows of
//             4 steps (the tag values are shared by the 4; the workflow's own
//             promise is not counted)
//   task      a targeted promise with its task, run here and finished
//             (task.create, then task.fulfill): a settled workflow

import { createMeshNode, type MeshNode } from "@resonate-mesh/node/local";
import type { Request, Response } from "@resonate-mesh/node/protocol";
import { MemoryStore } from "@resonate-mesh/node/store";
import { writeHeapSnapshot } from "node:v8";
import { HELD_KINDS, type HeldKind } from "./kinds.ts";


const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64");
const HOUR = 3_600_000;
const STEPS_PER_WORKFLOW = 4;

async function fill(node: MeshNode, kind: HeldKind, count: number): Promise<void> {
  const timeoutAt = Date.now() + HOUR;
  const send = async (request: Request) => {
    const answer: Response = await node.handle(request);
    if (answer.status !== 200) throw new Error(`${request.kind} answered ${answer.status}: ${JSON.stringify(answer)}`);
  };
  const root = "held-root";
  if (kind === "sdk-call") {
    await send({ kind: "task.create", data: { pid: "bench", ttl: 24 * HOUR, action: { kind: "promise.create", data: { id: root, timeoutAt, tags: { "resonate:target": "poll://any@bench" } } } } });
  }
  for (let i = 0; i < count; i++) {
    const id = `held-${i}`;
    switch (kind) {
      case "plain":
        await send({ kind: "promise.create", data: { id, timeoutAt, param: { headers: {}, data: b64({ n: i }) } } });
        break;
      case "sdk-call": {
        // Steps of workflows of STEPS_PER_WORKFLOW steps each, tagged as our SDK tags a ctx.run
        // (origin, parent and branch: the workflow; scope local). Fenced on one task for brevity.
        const workflow = `held-wf-${Math.floor(i / STEPS_PER_WORKFLOW)}`;
        await send({
          kind: "task.fence",
          data: {
            id: root,
            version: 1,
            action: {
              kind: "promise.create",
              data: {
                id: `${workflow}.${i % STEPS_PER_WORKFLOW}`,
                timeoutAt,
                param: { headers: {}, data: b64({ func: "step", args: [i], version: 1 }) },
                tags: { "resonate:origin": workflow, "resonate:parent": workflow, "resonate:scope": "local", "resonate:branch": workflow },
                settled: { state: "resolved", value: { headers: {}, data: b64(`s${i}`) } },
              },
            },
          },
        });
        break;
      }
      case "task":
        await send({
          kind: "task.create",
          data: {
            pid: "bench",
            ttl: HOUR,
            action: {
              kind: "promise.create",
              data: {
                id,
                timeoutAt,
                param: { headers: {}, data: b64({ func: "workflow", args: [i], version: 1 }) },
                tags: { "resonate:target": "poll://any@bench", "resonate:origin": id, "resonate:branch": id, "resonate:scope": "global" },
              },
            },
          },
        });
        await send({
          kind: "task.fulfill",
          data: { id, version: 1, action: { kind: "promise.settle", data: { id, state: "resolved", value: { headers: {}, data: b64(i) } } } },
        });
        break;
    }
  }
}

function held(): number {
  for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

async function main(): Promise<void> {
  const kind = process.argv[2] as HeldKind;
  const count = Number(process.argv[3] ?? 100_000);
  if (!HELD_KINDS.includes(kind)) throw new Error(`kind must be one of ${HELD_KINDS.join(", ")}, got ${kind}`);
  if (typeof (globalThis as { gc?: unknown }).gc !== "function") throw new Error("run with --expose-gc");
  const store = new MemoryStore();
  // Started, as `resonate dev` runs it: the search indexes and the timer index
  // follow the store, so what they keep per record is counted too.
  const node = createMeshNode({ store });
  await node.start();
  // Warm the code paths (and their one-off allocations) on a throwaway node first.
  const warmStore = new MemoryStore();
  const warm = createMeshNode({ store: warmStore });
  await warm.start();
  await fill(warm, kind, 1000);
  await warm.stop();
  await warmStore.close();
  const before = held();
  await fill(node, kind, count);
  const after = held();
  const rssMiB = process.memoryUsage().rss / (1024 * 1024);
  process.stdout.write(`${JSON.stringify({ kind, count, bytesPerPromise: (after - before) / count, rssMiB })}\n`);
  if (process.env.HELD_HEAP_SNAPSHOT) writeHeapSnapshot(process.env.HELD_HEAP_SNAPSHOT);
  // Keep it alive until measured.
  await node.stop();
}

await main();
