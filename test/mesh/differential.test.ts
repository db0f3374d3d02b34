// Engine differential: random request sequences from the protocol property
// generator, with clock advances and timer runs, go through a node on the
// memory engine and a node on the JetStream engine (a real nats-server) with
// the same injected clock. Every answer is identical, and so is every record
// at the end. Partition counts 1 and 4 (4 puts the trees "a" and "b" and the
// schedule in different partitions, so commits cross partitions).

import fc from "fast-check";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, test } from "vitest";
import { createMeshNode, ManualClock } from "@resonate-mesh/node/local";
import { taskKey } from "@resonate-mesh/node/protocol";
import { JetStreamStore, MemoryStore, type Store } from "@resonate-mesh/node/store";
import { IDS, opArb, toRequest, type Op } from "../../node/test/protocol/generator.ts";
import { useNats } from "../support/use-nats.ts";

/** Sequences per partition count. */
const RUNS = Number(process.env.RESONATE_DIFFERENTIAL_RUNS ?? 100);
const T0 = 1_000_000;

const nats = useNats();

let clusters = 0;

async function dump(store: Store): Promise<[string, unknown][]> {
  await store.sync();
  const out: [string, unknown][] = [];
  for (const prefix of ["p/", "t/", "s/"]) for (const e of await store.list({ prefix })) out.push([e.key, e.value]);
  return out;
}

/** Remove a finished run's streams, so the server stays small over hundreds of runs. */
async function dropCluster(namespace: string): Promise<void> {
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`${namespace.toUpperCase()}_`)) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}

async function runBoth(ops: Op[], partitions: number): Promise<void> {
  const namespace = `d${process.pid}x${++clusters}`;
  const memoryClock = new ManualClock(T0);
  const natsClock = new ManualClock(T0);
  const memory = new MemoryStore();
  const jet = await JetStreamStore.open({ servers: nats.url, namespace, partitions });
  const a = createMeshNode({ store: memory, clock: memoryClock });
  const b = createMeshNode({ store: jet, clock: natsClock });
  try {
    for (const [i, o] of ops.entries()) {
      if (o.op === "advance") {
        memoryClock.advance(o.ms);
        natsClock.advance(o.ms);
        continue;
      }
      if (o.op === "timers") {
        const [ranA, ranB] = [await a.tick(), await b.tick()];
        expect(ranB, `timers run at step ${i}`).toBe(ranA);
        continue;
      }
      const versions = new Map<string, number | undefined>();
      for (const id of IDS) versions.set(id, ((await memory.get(taskKey(id)))?.value as { version?: number } | undefined)?.version);
      const request = toRequest(o, memoryClock.now(), (id) => versions.get(id))!;
      const expected = await a.handle(request);
      const actual = await b.handle(request);
      expect(actual, `step ${i}: ${JSON.stringify(request)}`).toEqual(expected);
    }
    expect(await dump(jet)).toEqual(await dump(memory));
  } finally {
    await a.stop();
    await b.stop();
    await memory.close();
    await jet.close();
    await dropCluster(namespace);
  }
}

describe("memory and JetStream engines answer alike", () => {
  for (const partitions of [1, 4]) {
    test(`${RUNS} random sequences, ${partitions} partition(s): identical answers and records`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40, size: "max" }), (ops) => runBoth(ops, partitions)),
        { numRuns: RUNS, endOnFailure: true },
      );
    }, 600_000);
  }
});
