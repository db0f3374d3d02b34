// Keeps the leases of the tasks this worker holds: every ttl/2, one
// `task.heartbeat` naming all of them (the node accepts tasks of several
// origins in one call). Nothing is sent while nothing is held.

import type { Logger } from "pino";
import type { TaskRef } from "@resonate-mesh/node/protocol";
import type { Transport } from "./transport/types.ts";

export class Heartbeat {
  private readonly held = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: string,
    private readonly intervalMs: number,
    private readonly transport: Transport,
    private readonly logger: Logger,
  ) {}

  hold(task: TaskRef): void {
    this.held.set(task.id, task.version);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.beat(), this.intervalMs);
      this.timer.unref();
    }
  }

  release(task: TaskRef): void {
    if (this.held.get(task.id) === task.version) this.held.delete(task.id);
    // The interval stops at its next beat with nothing held (see beat): a worker running one short
    // task after another would otherwise make and clear a timer for each.
  }

  get size(): number {
    return this.held.size;
  }

  stop(): void {
    this.held.clear();
    this.clear();
  }

  /** Send one heartbeat now (also what the interval does). */
  async beat(): Promise<void> {
    if (this.held.size === 0) {
      this.clear();
      return;
    }
    const tasks = [...this.held].map(([id, version]) => ({ id, version }));
    try {
      const res = await this.transport.send({ kind: "task.heartbeat", data: { pid: this.pid, tasks } });
      if (res.status !== 200) this.logger.warn({ status: res.status, error: "error" in res ? res.error : undefined }, "heartbeat refused");
    } catch (err) {
      this.logger.warn({ err }, "heartbeat failed; retrying at the next interval");
    }
  }

  private clear(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
