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
// sweep() expires parked messages actively (a group that never connects must
// not hold them forever).
//
// Fair routing: an `execute` sent to a worker is outstanding until that pid
// sends task.acquire for the task (acknowledge()). `any` work goes to the
// worker of the group with the fewest outstanding executes, and only to
// workers that keep up: fewer than maxOutstanding, none older than
// stallMs. A frozen worker (SIGSTOP, a stuck event loop) thus gets no new
// work once it has one unacknowledged execute, and sweep() re-dispatches the
// executes it sits on to the workers that keep up.

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
  /** Unacknowledged executes a worker may hold before it gets no more `any` work. */
  maxOutstanding?: number;
  /** An execute unacknowledged this long marks its worker as not keeping up and goes to another worker. */
  stallMs?: number;
}

export type Delivery = "sent" | "parked" | "dropped";

export interface DispatcherStats {
  workers: number;
  sent: number;
  parked: number;
  dropped: number;
  /** Messages waiting for a worker right now. */
  waiting: number;
  /** Executes sent to workers and not yet acknowledged by a task.acquire. */
  outstanding: number;
  /** Workers connected now that do not keep up (they get no new `any` work). */
  lagging: number;
  /** Executes taken back from workers that did not keep up and sent elsewhere. */
  redispatched: number;
  /** Parked messages removed by sweep() after their time to live. */
  expired: number;
}

export interface GroupStats {
  group: string;
  /** Live workers of the group connected to this node. */
  workers: number;
  /** Messages parked for the group, waiting for a worker. */
  waiting: number;
}

interface Outstanding {
  message: ExecuteMessage;
  sentAt: number;
  /** Already sent to another worker because this one did not acknowledge it in time. */
  redispatched: boolean;
}

interface Worker {
  group: string;
  pid: string;
  sink: WorkerSink;
  live: boolean;
  /** Executes sent and not acknowledged, oldest first (by task id). */
  outstanding: Map<string, Outstanding>;
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
  private readonly maxOutstanding: number;
  private readonly stallMs: number;

  private readonly groups = new Map<string, Worker[]>();
  /** Workers by pid, for acknowledgements (task.acquire names a pid, not a group). */
  private readonly byPid = new Map<string, Set<Worker>>();
  private readonly cursor = new Map<string, number>();
  private readonly parked = new Map<string, ParkedGroup>();
  private readonly warned = new Set<string>();
  private waiting = 0;
  private readonly counters = { sent: 0, parked: 0, dropped: 0, redispatched: 0, expired: 0 };

  constructor(options: DispatcherOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.maxParkedUnblocks = options.maxParkedUnblocks ?? 1_000;
    this.maxParkedExecutes = options.maxParkedExecutes ?? 100_000;
    this.parkedUnblockTtlMs = options.parkedUnblockTtlMs ?? 10 * 60_000;
    this.parkedExecuteTtlMs = options.parkedExecuteTtlMs ?? 10 * 60_000;
    this.maxOutstanding = options.maxOutstanding ?? 1_000;
    this.stallMs = options.stallMs ?? 10_000;
  }

  /**
   * Attach a worker; whatever waits for it goes out before this returns.
   * Closing the subscription with `undelivered` messages (a stream cut for
   * reading too slowly) sends them to dispatch again.
   */
  poll(group: string, pid: string, sink: WorkerSink): Subscription {
    const worker: Worker = { group, pid, sink, live: true, outstanding: new Map() };
    let workers = this.groups.get(group);
    if (workers === undefined) this.groups.set(group, (workers = []));
    workers.push(worker);
    let same = this.byPid.get(pid);
    if (same === undefined) this.byPid.set(pid, (same = new Set()));
    same.add(worker);
    this.flush(worker);
    return {
      close: (undelivered?: readonly Message[]) => {
        this.detach(worker);
        // Not from inside a sink's send(): the caller may be iterating this group's workers.
        if (undelivered !== undefined && undelivered.length > 0) queueMicrotask(() => this.sendAll(undelivered));
      },
    };
  }

  /** `pid` asked to acquire task `taskId` (whatever the answer): the execute reached it. */
  acknowledge(pid: string, taskId: string): void {
    const workers = this.byPid.get(pid);
    if (workers === undefined) return;
    for (const w of workers) {
      if (!w.outstanding.delete(taskId)) continue;
      // Caught up: it may take what waits for its group.
      if (w.live && this.keepsUp(w, this.clock.now()) && this.parked.has(w.group)) this.flush(w);
    }
  }

  /**
   * Time-driven upkeep (the node runs it every second; tests with a manual
   * clock call it): expire parked messages past their time to live, and send
   * executes a worker sat on past stallMs to workers that keep up.
   */
  sweep(): void {
    const now = this.clock.now();
    for (const [group, parked] of this.parked) {
      this.expireExecutes(parked);
      for (const [key, list] of parked.unblocks) {
        this.expire(list);
        if (list.length === 0) parked.unblocks.delete(key);
      }
      if (parked.executes.size === 0 && parked.unblocks.size === 0) this.parked.delete(group);
    }
    const stalled: { from: Worker; entry: Outstanding }[] = [];
    for (const workers of this.groups.values()) {
      for (const w of workers) {
        for (const [taskId, entry] of w.outstanding) {
          if (entry.sentAt >= now - this.stallMs) break; // oldest first: the rest are younger
          if (entry.sentAt < now - this.parkedExecuteTtlMs) {
            // Never acknowledged: forget it rather than hold the worker back forever.
            w.outstanding.delete(taskId);
            continue;
          }
          if (!entry.redispatched) stalled.push({ from: w, entry });
        }
      }
    }
    for (const { from, entry } of stalled) {
      // Only to another worker that keeps up; with none, the retry timer sends it again later.
      // Acquire is version-fenced: if the slow worker wakes up, one of the two gets 409.
      const to = this.healthiest(from.group, from, now);
      if (to === undefined || !this.offer(to, entry.message)) continue;
      entry.redispatched = true;
      this.counters.redispatched++;
      this.counters.sent++;
    }
  }

  /** The worker of `group` other than `except` that keeps up with the fewest outstanding executes. */
  private healthiest(group: string, except: Worker, now: number): Worker | undefined {
    let best: Worker | undefined;
    for (const w of this.groups.get(group) ?? []) {
      if (w === except || !w.live || !this.keepsUp(w, now)) continue;
      if (best === undefined || w.outstanding.size < best.outstanding.size) best = w;
    }
    return best;
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
    let outstanding = 0;
    let lagging = 0;
    const now = this.clock.now();
    for (const list of this.groups.values()) {
      for (const w of list) {
        outstanding += w.outstanding.size;
        if (!this.keepsUp(w, now)) lagging++;
      }
    }
    return { workers, ...this.counters, waiting: this.waiting, outstanding, lagging };
  }

  /** Per group: live workers connected here and messages parked waiting for one (for /metrics, at scrape time). */
  groupStats(): GroupStats[] {
    const byGroup = new Map<string, GroupStats>();
    const entry = (group: string) => {
      let g = byGroup.get(group);
      if (g === undefined) byGroup.set(group, (g = { group, workers: 0, waiting: 0 }));
      return g;
    };
    for (const [group, list] of this.groups) {
      let live = 0;
      for (const w of list) if (w.live) live++;
      entry(group).workers = live;
    }
    for (const [group, parked] of this.parked) {
      let waiting = parked.executes.size;
      for (const list of parked.unblocks.values()) waiting += list.length;
      entry(group).waiting = waiting;
    }
    return [...byGroup.values()];
  }

  /** Drop every worker and everything parked (node shutdown). */
  clear(): void {
    for (const list of this.groups.values()) for (const w of list) w.live = false;
    this.groups.clear();
    this.byPid.clear();
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

  /**
   * The worker of the group with the fewest outstanding executes, among
   * those that keep up when there are any (ties in round-robin order): a
   * frozen worker gets no new work while a healthy one is connected, and a
   * lone slow worker still gets its work (there is nobody else to take it).
   */
  private roundRobin(group: string, message: Message): boolean {
    const now = this.clock.now();
    // Made on the first refusal only: this runs for every message.
    let refused: Set<Worker> | undefined;
    for (;;) {
      const workers = this.groups.get(group);
      if (workers === undefined || workers.length === 0) return false;
      const start = (this.cursor.get(group) ?? 0) % workers.length;
      let best = -1;
      let bestKeepsUp = false;
      for (let i = 0; i < workers.length; i++) {
        const at = (start + i) % workers.length;
        const w = workers[at]!;
        if (refused?.has(w)) continue;
        const up = message.kind !== "execute" || this.keepsUp(w, now);
        if (best < 0 || (up && !bestKeepsUp) || (up === bestKeepsUp && w.outstanding.size < workers[best]!.outstanding.size)) {
          best = at;
          bestKeepsUp = up;
        }
      }
      if (best < 0) return false;
      this.cursor.set(group, best + 1);
      const worker = workers[best]!;
      if (this.offer(worker, message)) return true;
      // Either offer() detached the dead worker, or the worker does not accept this message; try the rest.
      if (worker.live) (refused ??= new Set()).add(worker);
    }
  }

  /** Fewer than maxOutstanding unacknowledged executes, none older than stallMs. */
  private keepsUp(worker: Worker, now: number): boolean {
    if (worker.outstanding.size >= this.maxOutstanding) return false;
    const oldest = worker.outstanding.values().next().value;
    return oldest === undefined || oldest.sentAt >= now - this.stallMs;
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
    if (!taken) {
      this.detach(worker);
      return false;
    }
    if (message.kind === "execute") {
      // Re-sent executes move to the end, so the map stays oldest first.
      worker.outstanding.delete(message.task.id);
      worker.outstanding.set(message.task.id, { message, sentAt: this.clock.now(), redispatched: false });
    }
    return true;
  }

  private detach(worker: Worker): void {
    if (!worker.live) return;
    worker.live = false;
    const same = this.byPid.get(worker.pid);
    same?.delete(worker);
    if (same?.size === 0) this.byPid.delete(worker.pid);
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
      this.counters.expired += stale;
    }
  }

  // Re-parking a task moves it to the end, so the map is in parkedAt order.
  private expireExecutes(parked: ParkedGroup): void {
    const cutoff = this.clock.now() - this.parkedExecuteTtlMs;
    for (const [taskId, entry] of parked.executes) {
      if (entry.parkedAt >= cutoff) return;
      parked.executes.delete(taskId);
      this.waiting--;
      this.counters.expired++;
    }
  }

  /**
   * Take out what is parked here that the worker `pid` of `group`, attached
   * to another node, may take (mesh/delivery.ts sends it there).
   */
  takeParked(group: string, pid: string): Message[] {
    const parked = this.parked.get(group);
    if (parked === undefined) return [];
    this.expireExecutes(parked);
    const taken: Message[] = [];
    for (const [taskId, entry] of parked.executes) {
      if (entry.onlyPid !== undefined && entry.onlyPid !== pid) continue;
      parked.executes.delete(taskId);
      taken.push(entry.message);
    }
    for (const key of [ANY, pid]) {
      const list = parked.unblocks.get(key);
      if (list === undefined) continue;
      this.expire(list);
      taken.push(...list.map((u) => u.message));
      parked.unblocks.delete(key);
    }
    this.waiting -= taken.length;
    if (parked.executes.size === 0 && parked.unblocks.size === 0) this.parked.delete(group);
    return taken;
  }

  /** Give a newly connected worker everything parked that it may take. */
  private flush(worker: Worker): void {
    const parked = this.parked.get(worker.group);
    if (parked === undefined) return;
    this.expireExecutes(parked);
    const accepts = (m: Message) => worker.sink.accepts?.(m) ?? true;
    for (const [taskId, entry] of parked.executes) {
      if (entry.onlyPid !== undefined && entry.onlyPid !== worker.pid) continue;
      // Credit: the rest waits until this worker acknowledges some (or another connects).
      if (worker.outstanding.size >= this.maxOutstanding) break;
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
