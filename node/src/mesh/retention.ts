// Removes settled promises (and their tasks) once they are older than the
// retention age, so a long-running node does not keep every promise it ever
// saw. Off the request path: a walk over the promise keys in pages, yielding
// to the event loop between pages. Each removal is a compare-and-set on the
// revisions read, so a promise that changed meanwhile is left for next time.

import type { Logger } from "pino";
import { projectPromise } from "../protocol/records.ts";
import type { PromiseRecord } from "../protocol/types.ts";
import { ConflictError, type CommitOp, type Store } from "../store/types.ts";
import type { Clock } from "./clock.ts";
import { KEY_PREFIX, taskKey } from "../protocol/keys.ts";

const PAGE = 500;

export interface RetentionOptions {
  store: Store;
  clock: Clock;
  /** Settled promises whose settledAt is older than this are removed. */
  retentionMs: number;
  logger?: Logger;
  /** Pause between walks (default: a tenth of the retention age, between 1 s and 10 min). */
  everyMs?: number;
}

export class Retention {
  removed = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly o: RetentionOptions) {}

  start(): void {
    const every = this.o.everyMs ?? Math.min(10 * 60_000, Math.max(1_000, Math.floor(this.o.retentionMs / 10)));
    this.timer = setInterval(() => void this.sweep().catch((err: unknown) => this.o.logger?.warn({ err }, "retention sweep failed")), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** One walk over every promise; resolves with how many were removed. */
  sweep(): Promise<number> {
    this.running ??= this.walk().finally(() => (this.running = undefined));
    return this.running;
  }

  private async walk(): Promise<number> {
    const { store, clock, retentionMs } = this.o;
    let after: string | undefined;
    let removed = 0;
    for (;;) {
      const entries = await store.list({ prefix: KEY_PREFIX.promise, after, limit: PAGE });
      const cutoff = clock.now() - retentionMs;
      for (const e of entries) {
        const p = projectPromise(e.value as PromiseRecord, clock.now());
        if (p.state === "pending" || p.settledAt === undefined || p.settledAt >= cutoff) continue;
        const task = await store.get(taskKey(p.id));
        const ops: CommitOp[] = [{ key: e.key, value: null, expectedRevision: e.revision }];
        if (task !== undefined) ops.push({ key: task.key, value: null, expectedRevision: task.revision });
        try {
          await store.commit(ops);
          removed++;
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
        }
      }
      if (entries.length < PAGE) break;
      after = entries[entries.length - 1]!.key;
      await new Promise((r) => setImmediate(r));
    }
    this.removed += removed;
    if (removed > 0) this.o.logger?.info({ removed, retentionMs }, "retention: removed settled promises");
    return removed;
  }
}
