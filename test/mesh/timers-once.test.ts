// Timers fire once across a handover: 1,000 promises with timeouts and a
// listener each, awaiters in other partitions suspended on some of them, and
// a schedule ticking every second, spread over three `resonate serve` nodes
// on one nats-server; one node is SIGKILLed while the timeouts fire. Each
// promise times out once (settledAt = timeoutAt; at most one unblock, and a
// listener registering again learns what the killed node committed but never
// sent, as the SDK does on every reconnection), each awaiter
// is resumed once (one version of its execute after it suspended), and each
// scheduled second is created once (ids are unique per tick; no gaps).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeClient, type OpenStream } from "@resonate-mesh/node/client";
import { partitionOf, promiseKey, type Message } from "@resonate-mesh/node/protocol";
import { serveJetStream } from "../support/mesh-processes.ts";
import type { NodeProc } from "../support/node.ts";
import { stopAll } from "../support/processes.ts";
import { useNats } from "../support/use-nats.ts";
import { waitFor } from "../support/wait.ts";

const PARTITIONS = 4;
const PROMISES = 1_000;
const AWAITERS = 60;
const IN_FLIGHT = 32;

const nats = useNats();
const nodes: NodeProc[] = [];
const clients: NodeClient[] = [];
const streams: OpenStream[] = [];

beforeAll(async () => {
  for (const name of ["timers-a", "timers-b", "timers-c"]) nodes.push(await serveJetStream({ nats: nats.url, name, partitions: PARTITIONS }));
}, 120_000);

afterAll(async () => {
  for (const s of streams) s.cancel();
  for (const c of clients) c.close();
  await stopAll();
});

function client(node: NodeProc): NodeClient {
  const c = new NodeClient({ address: node.address, requestTimeoutMs: 10_000 });
  clients.push(c);
  return c;
}

/** Run `work` over `items`, `IN_FLIGHT` at a time. */
async function pipelined<T>(items: readonly T[], work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

/** A Poll stream on `node` that keeps every message it receives. */
function inbox(c: NodeClient, group: string, pid: string): Message[] {
  const received: Message[] = [];
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  streams.push(c.poll(group, pid, { onOpen: () => open(), onData: (m) => received.push(m), onEnd: () => undefined }));
  return Object.assign(received, { opened });
}

describe("timers once across a node's death", () => {
  it("each promise times out once, each awaiter is resumed once, each schedule tick is created once", async () => {
    const [a, b, c] = nodes as [NodeProc, NodeProc, NodeProc];
    const [onA, onB, onC] = [client(a), client(b), client(c)];
    const spread = [onA, onB, onC];
    const survivors = [onB, onC];
    // Listeners and awaiters hold their streams on the nodes that survive.
    const unblocks = [inbox(onB, "watchers", "w-b"), inbox(onC, "watchers", "w-c")];
    const executes = [inbox(onB, "resumers", "r-b"), inbox(onC, "resumers", "r-c")];
    await Promise.all([...unblocks, ...executes].map((s) => (s as unknown as { opened: Promise<void> }).opened));

    const run = `t${Date.now() % 1_000_000}`;
    const t0 = Date.now();
    // Deadlines after the set-up, spread over five seconds, so the node dies while they fire.
    const deadline = (i: number) => t0 + 20_000 + (i % 50) * 100;
    const ids = Array.from({ length: PROMISES }, (_, i) => `${run}-to-${i}`);

    const schedule = `${run}-every-second`;
    await onA.call({
      kind: "schedule.create",
      data: { id: schedule, cron: "* * * * * *", promiseId: `${run}-tick-{{.timestamp}}`, promiseTimeout: 60_000, promiseTags: { "resonate:target": "poll://any@tickers" } },
    });

    await pipelined(ids, async (id, i) => {
      const node = spread[i % 3]!;
      await node.call({ kind: "promise.create", data: { id, timeoutAt: deadline(i) } });
      await node.call({ kind: "promise.register_listener", data: { awaited: id, address: "poll://any@watchers" } });
    });

    // Awaiters: each in a partition other than the promise it awaits, suspended on it.
    const awaited = new Map<string, string>();
    for (let j = 0, i = 0; awaited.size < AWAITERS; i++) {
      const target = ids[i * 7]!;
      const awaiter = `${run}-aw-${j}`;
      j++;
      if (partitionOf(promiseKey(awaiter), PARTITIONS) === partitionOf(promiseKey(target), PARTITIONS)) continue;
      awaited.set(awaiter, target);
    }
    await pipelined([...awaited], async ([awaiter, target], i) => {
      const node = spread[i % 3]!;
      const created = await node.call({
        kind: "task.create",
        data: {
          pid: "setup",
          ttl: 120_000,
          action: { kind: "promise.create", data: { id: awaiter, timeoutAt: t0 + 600_000, tags: { "resonate:target": "poll://any@resumers" } } },
        },
      });
      const task = created.data.task;
      const suspended = await node.call({
        kind: "task.suspend",
        data: { id: awaiter, version: task.version, actions: [{ kind: "promise.register_callback", data: { awaited: target, awaiter } }] },
      });
      expect(suspended.status, `${awaiter} suspends on ${target}`).toBe(200);
    });
    expect(Date.now(), "the set-up finished before the first deadline (a very slow machine)").toBeLessThan(deadline(0));

    // Kill node A once the first deadlines have passed, while the rest fire.
    await waitFor("the first deadlines", () => Date.now() > deadline(10), 60_000, 100);
    await a.proc.crash();

    const unblocked = () => unblocks.flat().filter((m) => m.kind === "unblock");
    const unblockedIds = () => new Set(unblocked().map((m) => m.kind === "unblock" && m.promise.id));
    // Every unblock, or all but those the killed node committed in its last moment and never sent.
    const lastDeadline = deadline(49);
    await waitFor(() => `every promise to time out (${unblocked().length} unblocks)`, () => unblockedIds().size >= PROMISES || Date.now() > lastDeadline + 20_000, 60_000, 200);
    const resumed = () => executes.flat().filter((m) => m.kind === "execute" && awaited.has(m.task.id));
    await waitFor(() => `every awaiter to be resumed (${resumed().length} executes)`, () => new Set(resumed().map((m) => m.kind === "execute" && m.task.id)).size >= AWAITERS, 60_000, 200);
    // A moment for duplicates to show up, if any were coming.
    await new Promise((r) => setTimeout(r, 2_000));

    // Each promise: one unblock, and it reads rejected_timedout at its own deadline from both survivors.
    const perPromise = new Map<string, number>();
    for (const m of unblocked()) if (m.kind === "unblock") perPromise.set(m.promise.id, (perPromise.get(m.promise.id) ?? 0) + 1);
    const twice = [...perPromise].filter(([, n]) => n !== 1);
    expect(twice, "promises unblocked more than once").toEqual([]);
    const lost = ids.filter((id) => !unblockedIds().has(id));
    expect(lost.length, `unblocks lost with the killed node (${lost.join(", ")})`).toBeLessThanOrEqual(5);
    for (const id of lost) {
      const again = await onB.call({ kind: "promise.register_listener", data: { awaited: id, address: "poll://any@watchers" } });
      expect([again.status, again.data.promise.state], id).toEqual([200, "rejected_timedout"]);
    }
    for (const m of unblocked()) if (m.kind === "unblock") expect(m.promise.state).toBe("rejected_timedout");
    await pipelined(ids, async (id, i) => {
      const p = (await survivors[i % 2]!.call({ kind: "promise.get", data: { id } })).data.promise;
      expect([p.state, p.settledAt], id).toEqual(["rejected_timedout", deadline(i)]);
    });

    // Each awaiter: resumed once, i.e. its execute after suspending carries one version only.
    const versions = new Map<string, Set<number>>();
    for (const m of resumed()) if (m.kind === "execute") versions.set(m.task.id, (versions.get(m.task.id) ?? new Set()).add(m.task.version));
    expect([...versions].filter(([, v]) => v.size !== 1).map(([id, v]) => `${id}: ${[...v].join(",")}`)).toEqual([]);
    for (const [awaiter, target] of awaited) {
      const task = (await onB.call({ kind: "task.get", data: { id: awaiter } })).data.task;
      expect([task.state, task.resumes], awaiter).toEqual(["pending", [target]]);
    }

    // Each second of the schedule's run: exactly one tick, none missing, read alike on both survivors.
    await onB.call({ kind: "schedule.delete", data: { id: schedule } });
    const ticks = await Promise.all(
      survivors.map(async (s) => (await s.call({ kind: "promise.search", data: { id: `${run}-tick-`, limit: 1000 } })).data.promises.map((p) => p.id).sort()),
    );
    expect(ticks[0]).toEqual(ticks[1]);
    const times = ticks[0]!.map((id) => Number(id.slice(`${run}-tick-`.length))).sort((x, y) => x - y);
    expect(times.length, "ticks over the run").toBeGreaterThan(20);
    expect(new Set(times).size).toBe(times.length);
    for (let k = 1; k < times.length; k++) expect(times[k]! - times[k - 1]!, `the tick after ${times[k - 1]}`).toBe(1_000);
  }, 240_000);
});
