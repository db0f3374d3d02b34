// The README's walk-through with real processes: a node, two workers of group
// "workers", the schedule program with a cron of every 2 s; a worker killed
// mid-tick, the survivor finishing that tick; Ctrl-C deleting the schedule.

import { Resonate, ResonateError } from "@resonate-mesh/sdk";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stopAll, type Proc } from "../../../test/support/processes.ts";
import { waitFor } from "../../../test/support/wait.ts";
import { startNode } from "../../../test/support/node.ts";
import { example } from "../../../test/support/examples.ts";

const { tsx } = example(import.meta.url);

const EVERY_MS = 2_000;
// Delivering long enough that a kill lands inside it, even on a busy machine.
const workerEnv = { DELIVER_MS: "1800", WORKER_TTL_MS: "2000" };

/** Tick ids (`daily-report-<scheduled ms>`) a worker reports as sent. */
function sentTicks(worker: Proc): string[] {
  return worker.lines().flatMap((l) => l.match(/\] (daily-report-\d+): sent/)?.[1] ?? []);
}
const scheduledAt = (tick: string) => Number(tick.slice("daily-report-".length));

describe("schedule: every cron tick is a durable promise run by any worker of the group", () => {
  let url: string;
  let workers: Proc[];
  let scheduler: Proc;
  let client: Resonate;
  const allSent = () => workers.flatMap(sentTicks);

  beforeAll(async () => {
    url = (await startNode()).url;
    client = new Resonate({ url });
    workers = ["a", "b"].map((pid) => tsx(`worker ${pid}`, "src/worker.ts", { ...workerEnv, RESONATE_URL: url, WORKER_PID: pid }));
    await Promise.all(workers.map((w) => w.waitForLine(/ready in group "workers"/)));
    scheduler = tsx("schedule", "src/schedule.ts", { RESONATE_URL: url, SCHEDULE_CRON: "*/2 * * * * *" });
    await scheduler.waitForLine(/daily-report created/);
  });

  afterAll(async () => {
    await client?.stop();
    await stopAll();
  });

  test("ticks arrive at the scheduled times, each a resolved promise named by the schedule and the tick's time", async () => {
    const [first] = await waitFor("a first tick to be sent", () => (allSent().length > 0 ? allSent() : undefined));
    expect(first).toMatch(/^daily-report-\d+$/);
    expect(scheduledAt(first!) % EVERY_MS).toBe(0);
    const promise = await waitFor("the tick's promise to be resolved", async () => {
      const p = await client.promises.get(first!);
      return p.state === "resolved" ? p : undefined;
    });
    expect(promise.value).toMatch(/^\d+ signups$/);
    expect(promise.tags["resonate:schedule"]).toBe("daily-report");
  });

  test("a tick whose worker is killed mid-tick is finished by the other worker, without collecting again", async () => {
    // A tick that starts delivering from now on, and the worker delivering it.
    const seen = workers.map((w) => w.lines().length);
    const [victim, tick] = await waitFor("a worker delivering a tick", () => {
      for (const [i, w] of workers.entries()) {
        for (const l of w.lines().slice(seen[i])) {
          const m = l.match(/\] (daily-report-\d+): delivering/);
          if (m) return [w, m[1]!] as const;
        }
      }
      return undefined;
    });
    await victim.crash();
    const survivor = workers.find((w) => w !== victim)!;
    await survivor.waitForLine(new RegExp(`${tick}: sent`), 20_000);
    expect(survivor.count(new RegExp(`${tick}: collecting`))).toBe(0);
    expect(survivor.count(new RegExp(`${tick}: delivering`))).toBe(1);
    expect(victim.count(new RegExp(`${tick}: sent`))).toBe(0);

    // And the ticks keep coming to the survivor.
    const crashedAt = Date.now();
    await waitFor("a tick after the crash", () => sentTicks(survivor).some((t) => scheduledAt(t) > crashedAt));
  });

  test("every tick runs once: no tick is sent twice", () => {
    const ticks = allSent();
    expect(new Set(ticks).size).toBe(ticks.length);
  });

  test("deleting the schedule (Ctrl-C on the schedule program) stops the ticks", async () => {
    await scheduler.stop("SIGINT");
    expect(scheduler.stdout).toContain("daily-report deleted: no more ticks");
    const deletedAt = Date.now();
    await expect(client.schedules.get("daily-report")).rejects.toBeInstanceOf(ResonateError);

    // Watch for longer than one period: no tick is scheduled after the deletion.
    await new Promise((resolve) => setTimeout(resolve, EVERY_MS + 1_000));
    const { promises } = await client.promises.search({ id: "daily-report-*" });
    expect(promises.length).toBeGreaterThan(0);
    expect(promises.filter((p) => scheduledAt(p.id) > deletedAt)).toEqual([]);
  });
});
