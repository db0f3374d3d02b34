// Delivers `execute` and `unblock` to the workers connected to this node.
//
// Routing follows the address (protocol/address.ts):
//   poll://any@g       any live worker of g (round-robin)
//   poll://any@g/pid   that worker if connected, else any of g
//   poll://uni@g/pid   that worker only
// A message nobody can take now is parked and goes out the moment a matching
// worker connects. Parking is bounded: executes keep one entry per task (the
// highest version; the retry timer re-sends anyway), unblocks are capped per
// worker and expire, because the SDK re-registers its listeners periodically.

import type { Logger } from "pino";
import { parseAddress, type Address } from "../protocol/address.ts";
import type { Message } from "../protocol/types.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Subscription, WorkerSink } from "./engine.ts";

export interface DispatcherOptions {
  clock?: Clock;
  logger?: Logger;
  /** Parked unblocks kept per (group, pid); the oldest go first. */
  maxParkedUnblocks?: number;
  /** Parked executes kept per group; the oldest go first (the retry timer re-sends them). */
  maxParkedExecutes?: number;
  /** How long a parked unblock waits for its worker. */
  parkedUnblockTtlMs?: number;
  /**
   * How long a parked execute waits. The retry timer parks a fresh one for
   * every task still pending, so this only has to outlive the retry interval;
   * it keeps executes of tasks finished elsewhere from lingering.
   */
  parkedExecuteTtlMs?: number;
}

export type Delivery = "sent" | "parked" | "dropped";

export interface DispatcherStats {
  workers: number;
  sent: number;
  parked: number;
  dropped: number;
  /** Messages waiting for a worker right now. */
  waiting: number;
}

interface Worker {
  group: string;
  pid: string;
  sink: WorkerSink;
  live: boolean;
}

type ExecuteMessage = Extract<Message, { kind: "execute" }>;
type UnblockMessage = Extract<Message, { kind: "unblock" }>;
type PollAddress = Extract<Address, { scheme: "poll" }>;

interface ParkedExecute {
  message: ExecuteMessage;
  parkedAt: number;
  /** Only this pid may take it (unicast). */
  onlyPid?: string;
}

interface ParkedUnblock {
  message: UnblockMessage;
  parkedAt: number;
}

interface ParkedGroup {
  executes: Map<string, ParkedExecute>;
  /** Keyed by pid, "" for unblocks any worker of the group may take. */
  unblocks: Map<string, ParkedUnblock[]>;
}

const ANY = "";
const MAX_WARNED_ADDRESSES = 1000;

export class Dispatcher {
  private readonly clock: Clock;
  private readonly logger?: Logger;
  private readonly maxParkedUnblocks: number;
  private readonly maxParkedExecutes: number;
  private readonly parkedUnblockTtlMs: number;
  private readonly parkedExecuteTtlMs: number;

  private readonly groups = new Map<string, Worker[]>();
  private readonly cursor = new Map<string, number>();
  private readonly parked = new Map<string, ParkedGroup>();
  private readonly warned = new Set<string>();
  private waiting = 0;
  private readonly counters = { sent: 0, parked: 0, dropped: 0 };

  constructor(options: DispatcherOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.maxParkedUnblocks = options.maxParkedUnblocks ?? 1_000;
    this.maxParkedExecutes = options.maxParkedExecutes ?? 100_000;
    this.parkedUnblockTtlMs = options.parkedUnblockTtlMs ?? 10 * 60_000;
    this.parkedExecuteTtlMs = options.parkedExecuteTtlMs ?? 10 * 60_000;
  }

  /** Attach a worker; whatever waits for it goes out before this returns. */
  poll(group: string, pid: string, sink: WorkerSink): Subscription {
    const worker: Worker = { group, pid, sink, live: true };
    let workers = this.groups.get(group);
    if (workers === undefined) this.groups.set(group, (workers = []));
    workers.push(worker);
    this.flush(worker);
    return { close: () => this.detach(worker) };
  }

  send(message: Message): Delivery {
    const address = parseAddress(message.address);
    if (typeof address === "string") return this.drop(message, `invalid address: ${address}`);
    if (address.scheme === "http") return this.drop(message, "http push delivery is not supported yet");
    if (this.deliver(address, message)) {
      this.counters.sent++;
      return "sent";
    }
    this.park(address, message);
    return "parked";
  }

  /** Is a live worker of `group` (with `pid`, when given) attached here? The mesh forwards what is not. */
  reaches(group: string, pid?: string): boolean {
    const workers = this.groups.get(group);
    return workers !== undefined && workers.some((w) => w.live && (pid === undefined || w.pid === pid));
  }

  sendAll(messages: readonly Message[]): void {
    for (const m of messages) this.send(m);
  }

  stats(): DispatcherStats {
    let workers = 0;
    for (const list of this.groups.values()) workers += list.length;
    return { workers, ...this.counters, waiting: this.waiting };
  }

  /** Drop every worker and everything parked (node shutdown). */
  clear(): void {
    for (const list of this.groups.values()) for (const w of list) w.live = false;
    this.groups.clear();
    this.cursor.clear();
    this.parked.clear();
    this.waiting = 0;
  }

  // ------------------------------------------------------------ routing

  private deliver(address: PollAddress, message: Message): boolean {
    const workers = this.groups.get(address.group);
    if (workers === undefined) return false;
    if (address.pid !== undefined) {
      // Newest first: a worker that reconnected is more likely alive than its old stream.
      for (let i = workers.length - 1; i >= 0; i--) {
        const w = workers[i];
        if (w !== undefined && w.pid === address.pid && this.offer(w, message)) return true;
      }
      if (address.mode === "uni") return false;
    }
    return this.roundRobin(address.group, message);
  }

  private roundRobin(group: string, message: Message): boolean {
    // Made on the first refusal only: this runs for every message.
    let refused: Set<Worker> | undefined;
    for (;;) {
      const workers = this.groups.get(group);
      if (workers === undefined || workers.length === 0 || (refused?.size ?? 0) >= workers.length) return false;
      const next = (this.cursor.get(group) ?? 0) % workers.length;
      this.cursor.set(group, next + 1);
      const worker = workers[next]!;
      if (this.offer(worker, message)) return true;
      // Either offer() detached the dead worker, or the worker does not accept this message; try the rest.
      if (worker.live) (refused ??= new Set()).add(worker);
    }
  }

  /** Hand one message to a worker; a sink that refuses or throws is detached, one that does not accept it is skipped. */
  private offer(worker: Worker, message: Message): boolean {
    if (!worker.live) return false;
    if (worker.sink.accepts !== undefined && !worker.sink.accepts(message)) return false;
    let taken = false;
    try {
      taken = worker.sink.send(message);
    } catch (err) {
      this.logger?.warn({ err, group: worker.group, pid: worker.pid }, "worker sink failed; detaching it");
    }
    if (!taken) this.detach(worker);
    return taken;
  }

  private detach(worker: Worker): void {
    if (!worker.live) return;
    worker.live = false;
    const workers = this.groups.get(worker.group);
    if (workers === undefined) return;
    const i = workers.indexOf(worker);
    if (i >= 0) workers.splice(i, 1);
    if (workers.length === 0) {
      this.groups.delete(worker.group);
      this.cursor.delete(worker.group);
    }
  }

  private drop(message: Message, reason: string): Delivery {
    this.counters.dropped++;
    if (!this.warned.has(message.address)) {
      if (this.warned.size < MAX_WARNED_ADDRESSES) this.warned.add(message.address);
      this.logger?.warn({ address: message.address, kind: message.kind }, `message dropped: ${reason}`);
    }
    return "dropped";
  }

  // ------------------------------------------------------------ parking

  private park(address: PollAddress, message: Message): void {
    this.counters.parked++;
    const parked = this.parkedGroup(address.group);
    if (message.kind === "execute") {
      const existing = parked.executes.get(message.task.id);
      if (existing !== undefined) {
        if (existing.message.task.version > message.task.version) return;
        parked.executes.delete(message.task.id);
        this.waiting--;
      }
      this.expireExecutes(parked);
      parked.executes.set(message.task.id, {
        message,
        parkedAt: this.clock.now(),
        onlyPid: address.mode === "uni" ? address.pid : undefined,
      });
      this.waiting++;
      if (parked.executes.size > this.maxParkedExecutes) {
        const oldest = parked.executes.keys().next().value!;
        parked.executes.delete(oldest);
        this.waiting--;
      }
      return;
    }
    // A preferred pid is only a preference: any worker of the group may take it later.
    const key = address.mode === "uni" ? address.pid : ANY;
    let list = parked.unblocks.get(key);
    if (list === undefined) parked.unblocks.set(key, (list = []));
    this.expire(list);
    list.push({ message, parkedAt: this.clock.now() });
    this.waiting++;
    if (list.length > this.maxParkedUnblocks) {
      list.shift();
      this.waiting--;
    }
  }

  private parkedGroup(group: string): ParkedGroup {
    let parked = this.parked.get(group);
    if (parked === undefined) this.parked.set(group, (parked = { executes: new Map(), unblocks: new Map() }));
    return parked;
  }

  private expire(list: ParkedUnblock[]): void {
    const cutoff = this.clock.now() - this.parkedUnblockTtlMs;
    let stale = 0;
    while (stale < list.length && list[stale]!.parkedAt < cutoff) stale++;
    if (stale > 0) {
      list.splice(0, stale);
      this.waiting -= stale;
    }
  }

  // Re-parking a task moves it to the end, so the map is in parkedAt order.
  private expireExecutes(parked: ParkedGroup): void {
    const cutoff = this.clock.now() - this.parkedExecuteTtlMs;
    for (const [taskId, entry] of parked.executes) {
      if (entry.parkedAt >= cutoff) return;
      parked.executes.delete(taskId);
      this.waiting--;
    }
  }

  /** Give a newly connected worker everything parked that it may take. */
  private flush(worker: Worker): void {
    const parked = this.parked.get(worker.group);
    if (parked === undefined) return;
    this.expireExecutes(parked);
    const accepts = (m: Message) => worker.sink.accepts?.(m) ?? true;
    for (const [taskId, entry] of parked.executes) {
      if (entry.onlyPid !== undefined && entry.onlyPid !== worker.pid) continue;
      if (!accepts(entry.message)) continue;
      if (!this.offer(worker, entry.message)) return;
      parked.executes.delete(taskId);
      this.waiting--;
      this.counters.sent++;
    }
    for (const key of [ANY, worker.pid]) {
      const list = parked.unblocks.get(key);
      if (list === undefined) continue;
      this.expire(list);
      const kept: ParkedUnblock[] = [];
      while (list.length > 0) {
        if (!accepts(list[0]!.message)) {
          kept.push(list.shift()!);
          continue;
        }
        if (!this.offer(worker, list[0]!.message)) {
          list.unshift(...kept);
          return;
        }
        list.shift();
        this.waiting--;
        this.counters.sent++;
      }
      if (kept.length > 0) parked.unblocks.set(key, kept);
      else parked.unblocks.delete(key);
    }
    if (parked.executes.size === 0 && parked.unblocks.size === 0) this.parked.delete(worker.group);
  }
}
