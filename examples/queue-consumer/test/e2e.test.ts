// The README's walk-through with real processes: nats-server with JetStream,
// a node, a worker, the producer and the consumer. The consumer dies between
// dispatch and ack (the message comes again: no second run); the worker dies
// mid-purge (the restart resumes from the last finished batch).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Resonate } from "@resonate-mesh/sdk";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopAll, type Proc } from "../../../test/support/processes.ts";
import { waitFor } from "../../../test/support/wait.ts";
import { freePort, startNode } from "../../../test/support/node.ts";
import { example } from "../../../test/support/examples.ts";

const { program, tsx } = example(import.meta.url);

const NATS_SERVER = process.env.NATS_SERVER ?? "nats-server";
// Batches of 10 records: acct-1..3 are the producer's default messages, acct-4 is published later.
const accounts = { "acct-1": 5, "acct-2": 4, "acct-3": 3, "acct-4": 6 } as const;
type Account = keyof typeof accounts;
const names = Object.keys(accounts) as Account[];
const defaults = names.slice(0, 3);

describe("queue consumer: one durable workflow per JetStream message, keyed by the message id", () => {
  const dir = mkdtempSync(join(tmpdir(), "queue-consumer-"));
  const sideEffects = join(dir, "side-effects.log");
  let natsUrl: string;
  let url: string;
  let inspector: Resonate;
  const workers: Proc[] = [];
  const consumers: Proc[] = [];
  const workerEnv = () => ({ RESONATE_URL: url, NATS_URL: natsUrl, WORKER_TTL_MS: "2000", BATCH_MS: "800", SIDE_EFFECTS_FILE: sideEffects });
  const consumerEnv = (extra: Record<string, string> = {}) => ({ RESONATE_URL: url, NATS_URL: natsUrl, ACK_WAIT_MS: "1500", ...extra });
  const deleted = () => readFileSync(sideEffects, "utf8").split("\n").filter((l) => l.length > 0);
  const started = (w: Proc, account: Account, batch: number) => w.count(new RegExp(`\\] ${account}: batch ${batch}/`));
  /** Batch `batch` of `account` was recorded before the first worker crashed: the next batch had started, or the purge had finished. */
  const recordedBeforeCrash = (account: Account, batch: number) =>
    started(workers[0]!, account, batch + 1) > 0 || workers[0]!.count(new RegExp(`purge-${account}: purged`)) > 0;

  beforeAll(async () => {
    const natsPort = await freePort();
    natsUrl = `nats://127.0.0.1:${natsPort}`;
    const nats = program("nats-server", NATS_SERVER, ["-js", "-a", "127.0.0.1", "-p", String(natsPort), "-sd", join(dir, "jetstream")]);
    await waitFor(() => `nats-server to be ready:\n${nats.stderr}`, () => {
      if ((nats.spawnError as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
        throw new Error(`${NATS_SERVER} is not installed: apt-get install nats-server (or set NATS_SERVER to its path)`);
      }
      if (!nats.running) throw new Error(`nats-server exited:\n${nats.stderr}`);
      return /Server is ready/.test(nats.stderr);
    });
    url = (await startNode()).url;
    inspector = new Resonate({ url });
    workers.push(tsx("worker 1", "src/worker.ts", workerEnv()));
    await workers[0]!.waitForLine(/ready in group "workers"/);
  });

  afterAll(async () => {
    await inspector?.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the producer publishes one message per account, each with its message id", async () => {
    const producer = tsx("producer", "src/producer.ts", { NATS_URL: natsUrl });
    expect(await producer.exited).toBe(0);
    expect(producer.lines()).toEqual(defaults.map((a, i) => `[producer] purge-${a}: published (stream seq ${i + 1})`));
  });

  test("publishing the same message id again is dropped by the stream", async () => {
    const producer = tsx("producer again", "src/producer.ts", { NATS_URL: natsUrl });
    expect(await producer.exited).toBe(0);
    expect(producer.lines()).toEqual(defaults.map((a) => `[producer] purge-${a}: duplicate, dropped by the stream`));
  });

  test("a consumer that dies between dispatch and ack has dispatched the workflow, keyed by the message id", async () => {
    consumers.push(tsx("consumer (crashing)", "src/consumer.ts", consumerEnv({ CRASH_BEFORE_ACK: "1" })));
    await consumers[0]!.exited;
    expect(consumers[0]!.lines()).toContain("[consumer] purge-acct-1: dispatched (stream seq 1, delivery 1)");
    await workers[0]!.waitForLine(/acct-1: batch 1\/5 deleting 10 records/);
    expect((await inspector.promises.get("purge-acct-1")).state).toBe("pending");
  });

  test("the restarted consumer gets the unacked message again and dispatches the same promise: the purge runs once", async () => {
    consumers.push(tsx("consumer", "src/consumer.ts", consumerEnv()));
    const consumer = consumers[1]!;
    // Delivery 2 or later: JetStream may first redeliver to the dead consumer's still-open pull.
    await consumer.waitForLine(/purge-acct-1: dispatched \(stream seq 1, delivery [2-9]\)/);
    await consumer.waitForLine(/purge-acct-2: dispatched/);
    await consumer.waitForLine(/purge-acct-3: dispatched/);
    await workers[0]!.waitForLine(/purge-acct-1: purged acct-1: 50 records in 5 batches/, 20_000);
    expect(workers[0]!.count(/acct-1: batch 1\//)).toBe(1);
  });

  test("a worker killed mid-purge is replaced, and the restart resumes from the last finished batch", async () => {
    const first = workers[0]!;
    const producer = tsx("producer acct-4", "src/producer.ts", { NATS_URL: natsUrl }, ["acct-4:60"]);
    expect(await producer.exited).toBe(0);
    // Batch 3 starts only after batch 2 is recorded on the node.
    await first.waitForLine(/acct-4: batch 3\/6 deleting/);
    await first.crash();

    workers.push(tsx("worker 2", "src/worker.ts", workerEnv()));
    const second = workers[1]!;
    const unfinished = names.filter((a) => first.count(new RegExp(`purge-${a}: purged`)) === 0);
    expect(unfinished).toContain("acct-4");
    for (const a of unfinished) await second.waitForLine(new RegExp(`purge-${a}: purged`), 30_000);
    expect([1, 2, 3, 4, 5, 6].map((b) => started(second, "acct-4", b))).toEqual([0, 0, 1, 1, 1, 1]);
    for (const a of names) {
      for (let batch = 1; batch <= accounts[a]; batch++) {
        // A batch is recorded before the next one starts: such batches never run again.
        if (recordedBeforeCrash(a, batch)) expect(started(second, a, batch), `${a} batch ${batch}`).toBe(0);
      }
    }
  });

  test("every batch of every account was deleted, and the batches finished before the crash exactly once", async () => {
    const lines = deleted();
    for (const a of names) {
      for (let batch = 1; batch <= accounts[a]; batch++) {
        const times = lines.filter((l) => l === `${a} batch ${batch}`).length;
        if (recordedBeforeCrash(a, batch)) expect(times, `${a} batch ${batch}`).toBe(1);
        else expect(times, `${a} batch ${batch}`).toBeGreaterThanOrEqual(1);
      }
    }
    for (const a of names) {
      const p = await inspector.promises.get(`purge-${a}`);
      expect(p.state).toBe("resolved");
      expect(p.value).toEqual({ account: a, deleted: accounts[a] * 10, batches: accounts[a] });
    }
  });
});
