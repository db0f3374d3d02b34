// Speculative continuation (sdk/CORE.md rule 11) across a crash: a worker
// killed (SIGKILL) after a step ran and its awaiter went on, but before the
// step's write was acknowledged, leaves nothing of it; the next attempt runs
// the step again and everything recorded is what the final result used.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Resonate } from "@resonate-mesh/sdk";
import { lines, tempFile } from "../support/files.ts";
import { startNode, type NodeProc } from "../support/node.ts";
import type { Proc } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";
import { startWorker } from "./harness.ts";

let node: NodeProc;
let caller: Resonate;
const procs: Proc[] = [];

beforeAll(async () => {
  node = await startNode();
  caller = new Resonate({ url: node.url, group: "speculation-clients", stopGraceMs: 0 });
});

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop("SIGKILL")));
});

afterAll(async () => {
  await caller?.stop();
  await node?.stop();
});

async function recorded(id: string): Promise<{ state: string; value: unknown }> {
  const res = await caller.transport.send({ kind: "promise.get", data: { id } });
  if (res.status !== 200) throw new Error(`promise ${id}: ${res.status}`);
  return { state: res.data.promise.state, value: JSON.parse(Buffer.from(res.data.promise.value.data, "base64").toString()) };
}

describe("a worker killed between a step's run and its write's acknowledgement", () => {
  it("the next attempt runs the step again, and every recorded step value is the one the result used", async () => {
    const effects = tempFile("effects.txt");
    const first = await startWorker(node.url, { GROUP: "spec-crash", TTL: "1500", EFFECTS: effects, HOLD_WRITES: "unsent" }, "speculative-worker.ts");
    procs.push(first);
    const handle = await caller.rpc<number>("lottery-1", "lottery").target("spec-crash").spawn();

    // The root went on with the step's value (speculatively); the write is never acknowledged here.
    await waitFor("the root to see the step's value", () => lines(effects).some((l) => l.startsWith("root-saw ")));
    const firstPick = Number(lines(effects).find((l) => l.startsWith("pick lottery-1.0 "))!.split(" ")[2]);
    expect(lines(effects).filter((l) => l.startsWith("double "))).toEqual([]); // the next step waits for the acknowledgement
    await first.crash();

    const second = await startWorker(node.url, { GROUP: "spec-crash", TTL: "1500", EFFECTS: effects }, "speculative-worker.ts");
    procs.push(second);
    const result = await handle.result();

    const picks = lines(effects).filter((l) => l.startsWith("pick lottery-1.0 "));
    expect(picks).toHaveLength(2); // run again: the first run's value was never recorded
    const secondPick = Number(picks[1]!.split(" ")[2]);
    expect(picks[1]!.endsWith(` ${second.pid}`)).toBe(true);
    expect(await recorded("lottery-1.0")).toEqual({ state: "resolved", value: secondPick });
    expect(lines(effects).filter((l) => l.startsWith("double "))).toEqual([`double lottery-1.1 ${secondPick} ${second.pid}`]);
    expect(await recorded("lottery-1.1")).toEqual({ state: "resolved", value: 2 * secondPick });
    expect(result).toBe(2 * secondPick);
    // (Two random draws in [0, 1e9) agree once in a billion runs: the first one is visibly dropped.)
    expect(secondPick).not.toBe(firstPick);
  });

  it("when the write was recorded and only its answer lost, the next attempt takes the record: the step ran once", async () => {
    const effects = tempFile("effects.txt");
    const first = await startWorker(node.url, { GROUP: "spec-crash-2", TTL: "1500", EFFECTS: effects, HOLD_WRITES: "unanswered" }, "speculative-worker.ts");
    procs.push(first);
    const handle = await caller.rpc<number>("lottery-2", "lottery").target("spec-crash-2").spawn();

    await waitFor("the step's write to be recorded", async () => {
      const res = await caller.transport.send({ kind: "promise.get", data: { id: "lottery-2.0" } });
      return res.status === 200;
    });
    expect(lines(effects).filter((l) => l.startsWith("double "))).toEqual([]);
    await first.crash();

    const second = await startWorker(node.url, { GROUP: "spec-crash-2", TTL: "1500", EFFECTS: effects }, "speculative-worker.ts");
    procs.push(second);
    const result = await handle.result();

    const picks = lines(effects).filter((l) => l.startsWith("pick lottery-2.0 "));
    expect(picks).toHaveLength(1);
    const picked = Number(picks[0]!.split(" ")[2]);
    expect(await recorded("lottery-2.0")).toEqual({ state: "resolved", value: picked });
    expect(lines(effects).filter((l) => l.startsWith("double "))).toEqual([`double lottery-2.1 ${picked} ${second.pid}`]);
    expect(result).toBe(2 * picked);
  });
});
