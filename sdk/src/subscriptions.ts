// Waiting for promises from outside a durable function: a listener on the
// node sends this client one `unblock` when the promise settles. Listeners
// are registered again after every reconnection and every `refreshMs`, and
// each registration answers the current state, so a lost `unblock` only
// delays a result, never loses it.

import type { Logger } from "pino";
import type { PromiseRecord } from "@resonate-mesh/node/protocol";
import type { Send } from "./execution.ts";
import { promiseNotFound, ServerError, stopped } from "./errors.ts";
import { deferred, type Deferred } from "./outcome.ts";
import { TransportError } from "./transport/types.ts";

export class Subscriptions {
  private readonly waiters = new Map<string, Deferred<PromiseRecord>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly send: Send,
    /** This client's unicast address, where `unblock` messages come. */
    private readonly address: string,
    /** Opens the message stream if it is not open yet. */
    private readonly connect: () => void,
    private readonly logger: Logger,
    private readonly refreshMs: number,
  ) {}

  /** Resolves with the promise once it is settled. */
  wait(id: string): Promise<PromiseRecord> {
    if (this.closed) return Promise.reject(stopped(`waiting for promise "${id}"`));
    const existing = this.waiters.get(id);
    if (existing !== undefined) return existing.promise;
    const d = deferred<PromiseRecord>();
    this.waiters.set(id, d);
    this.connect();
    this.schedule();
    void this.register(id);
    return d.promise;
  }

  /** A settled promise learnt from an `unblock` or from this client settling it. */
  notify(promise: PromiseRecord): void {
    if (promise.state === "pending") return;
    const d = this.waiters.get(promise.id);
    if (d === undefined) return;
    this.waiters.delete(promise.id);
    d.resolve(promise);
    if (this.waiters.size === 0) this.unschedule();
  }

  /** After a reconnection: the node may have missed our listeners or we its unblocks. */
  refresh(): void {
    for (const id of this.waiters.keys()) void this.register(id);
  }

  close(): void {
    this.closed = true;
    this.unschedule();
    for (const [id, d] of this.waiters) d.reject(stopped(`waiting for promise "${id}"`));
    this.waiters.clear();
  }

  private async register(id: string): Promise<void> {
    for (let delay = 100; this.waiters.has(id); delay = Math.min(delay * 2, 5_000)) {
      try {
        const res = await this.send({ kind: "promise.register_listener", data: { awaited: id, address: this.address } });
        if (res.status === 200) {
          this.notify(res.data.promise);
          return;
        }
        const d = this.waiters.get(id);
        this.waiters.delete(id);
        d?.reject(res.status === 404 || !("error" in res) ? promiseNotFound(id) : new ServerError(res.kind, res.error, id));
        return;
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        this.logger.debug({ promise: id, err }, "listener registration failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }

  private schedule(): void {
    if (this.timer !== undefined || this.refreshMs <= 0) return;
    this.timer = setInterval(() => this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  private unschedule(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
