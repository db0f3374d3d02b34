// One mesh node over one store: what the API adapters and the SDK's local
// mode call. Every request is validated, run through the protocol against the
// store by the driver, and its messages dispatched after the commit; the
// timer loop does the same for what time makes due.

import type { Logger } from "pino";
import { resolveConfig, type ProtocolConfig } from "../protocol/config.ts";
import { homeIdOf } from "../protocol/outbox.ts";
import { transition } from "../protocol/transition.ts";
import type { Kind, Message, ProtocolError, Request, RequestOf, Response } from "../protocol/types.ts";
import { KINDS, validateRequest } from "../protocol/validate.ts";
import { StoreUnavailableError } from "../store/errors.ts";
import type { Store } from "../store/types.ts";
import { systemClock, type Clock } from "./clock.ts";
import { Dispatcher, type DispatcherStats, type GroupStats } from "./dispatcher.ts";
import type { MeshDelivery } from "./delivery.ts";
import { ContentionError, Driver, type DriverStats } from "./driver.ts";
import type { Engine, Subscription, WorkerSink } from "./engine.ts";
import { resolveNodeLimits, type NodeLimits } from "./limits.ts";
import { MemoryBudget, type MemoryStats } from "./memory.ts";
import { OutboxRelay, type OutboxStats } from "./outbox.ts";
import { Retention } from "./retention.ts";
import { isSearch, search } from "./search.ts";
import { SearchView } from "./search-view.ts";
import { Histogram, LATENCY_BUCKETS } from "./histogram.ts";
import { TimerLoop, type TimerKind, type TimerStats } from "./timers.ts";

export interface MeshNodeOptions {
  store: Store;
  clock?: Clock;
  protocol?: Partial<ProtocolConfig>;
  /** Longest sleep of the timer loop (ms). */
  timerPollMs?: number;
  /** What the node holds and accepts (mesh/limits.ts; defaults there). */
  limits?: Partial<NodeLimits>;
  logger?: Logger;
  /** In a mesh of several nodes: dispatch across nodes, and which timers this node runs. */
  mesh?: {
    delivery: MeshDelivery;
    /** Does this node own the partition of `key` (so it runs that record's timers)? */
    owns: (key: string) => boolean;
  };
}

export interface MeshNodeStats {
  /** Requests answered, by kind and status. */
  requests: Record<string, Record<number, number>>;
  store: DriverStats;
  messages: DispatcherStats;
  timers: TimerStats;
  memory: MemoryStats;
  retention: { removed: number };
  /** Effects across partitions (a store with several). */
  outbox?: OutboxStats;
}

/** Labelled series for /metrics (api/metrics.ts renders them). */
export interface NodeTelemetry {
  requestLatency: ReadonlyMap<string, Histogram>;
  /** Promises / tasks per stored state; undefined until the view has loaded. */
  promises: Record<string, number> | undefined;
  tasks: Record<string, number> | undefined;
  groups: GroupStats[];
  timerLag: Readonly<Record<TimerKind, Histogram>>;
  commitLatency: Histogram;
  commits: DriverStats;
  store: StoreTelemetry;
}

/** The engine's own view of its health: `connected` only for engines that hold a connection (JetStream). */
export interface StoreTelemetry {
  engine: string;
  connected?: boolean;
  stats?: Record<string, number>;
}

function storeTelemetry(store: Store): StoreTelemetry {
  const s = store as Store & { ready?: boolean; stats?: () => object };
  return {
    engine: store.name,
    connected: typeof s.ready === "boolean" ? s.ready : undefined,
    stats: typeof s.stats === "function" ? (s.stats() as Record<string, number>) : undefined,
  };
}

export class MeshNode implements Engine {
  readonly store: Store;
  readonly clock: Clock;
  readonly config: ProtocolConfig;
  readonly limits: NodeLimits;
  private readonly logger?: Logger;
  private readonly driver: Driver;
  private readonly dispatcher: Dispatcher;
  private readonly timers: TimerLoop;
  private readonly delivery?: MeshDelivery;
  private readonly requests = new Map<string, Map<number, number>>();
  /** Seconds per request, by kind (the labels of `requests`). */
  private readonly latency = new Map<string, Histogram>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly memory: MemoryBudget;
  private readonly view: SearchView;
  private readonly retention: Retention | undefined;
  private readonly outbox: OutboxRelay | undefined;

  constructor(options: MeshNodeOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.config = resolveConfig(options.protocol);
    this.limits = resolveNodeLimits(options.limits);
    this.view = new SearchView(this.store, this.logger);
    this.memory = new MemoryBudget(this.limits.memoryBudgetBytes > 0 ? this.limits.memoryBudgetBytes : MemoryBudget.defaultBudgetBytes());
    this.retention =
      this.limits.retentionMs > 0 ? new Retention({ store: this.store, clock: this.clock, retentionMs: this.limits.retentionMs, logger: this.logger }) : undefined;
    this.logger = options.logger;
    this.driver = new Driver({ store: this.store, clock: this.clock, config: this.config });
    this.dispatcher = new Dispatcher({
      clock: this.clock,
      logger: this.logger,
      // It must outlive the retry interval, which parks a fresh one for every task still pending.
      parkedExecuteTtlMs: Math.max(this.limits.parkedExecuteTtlMs, 4 * this.config.retryIntervalMs),
      maxOutstanding: this.limits.maxOutstandingPerWorker,
      stallMs: this.limits.workerStallMs,
    });
    if (this.driver.partitions > 1) {
      const relay = new OutboxRelay({
        store: this.store,
        driver: this.driver,
        config: this.config,
        send: (messages) => this.send(messages),
        owns: options.mesh?.owns,
        logger: this.logger,
        clock: this.clock,
      });
      this.driver.applyOutbox = (entries) => relay.applyNow(entries);
      this.outbox = relay;
    }
    this.delivery = options.mesh?.delivery;
    this.delivery?.bind(this.dispatcher);
    this.timers = new TimerLoop({
      store: this.store,
      driver: this.driver,
      dispatcher: { sendAll: (messages) => this.send(messages) },
      owns: options.mesh?.owns,
      clock: this.clock,
      config: this.config,
      logger: this.logger,
      pollMs: options.timerPollMs,
    });
  }

  async handle<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    const started = performance.now();
    const response = (await this.answer(request as Request)) as Response<K>;
    this.count(response, (performance.now() - started) / 1000);
    return response;
  }

  poll(group: string, pid: string, sink: WorkerSink): Subscription {
    const subscription = this.dispatcher.poll(group, pid, sink);
    const detach = this.delivery?.attach(group, pid);
    return {
      close: () => {
        detach?.();
        subscription.close();
      },
    };
  }

  /** Build the timer index and start the timer loop. */
  async start(): Promise<void> {
    await this.timers.start();
    this.sweeper = setInterval(() => this.dispatcher.sweep(), 1_000);
    this.sweeper.unref();
    this.retention?.start();
    await this.outbox?.start();
    // Search is served from these indexes once they are loaded (a store scan until then).
    await this.view.start();
  }

  /** Refusal for an upload of `bytes` not read yet when the node is at its memory budget (the HTTP side asks first). */
  admit(bytes: number): ProtocolError | undefined {
    return this.memory.admit(undefined, bytes);
  }

  /** Run every timer due at the clock's now (tests drive a ManualClock with this). */
  async tick(): Promise<number> {
    this.dispatcher.sweep();
    await this.retention?.sweep();
    await this.outbox?.scan();
    return this.timers.tick();
  }

  /** Stop the timer loop and stop following the store. The store stays open: its owner closes it. */
  async stop(): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.retention?.stop();
    this.view.stop();
    await this.outbox?.stop();
    await this.timers.stop();
  }

  stats(): MeshNodeStats {
    const requests: MeshNodeStats["requests"] = {};
    for (const [kind, byStatus] of this.requests) requests[kind] = Object.fromEntries(byStatus);
    return {
      requests,
      store: this.driver.stats(),
      messages: this.dispatcher.stats(),
      timers: this.timers.stats(),
      memory: this.memory.stats(),
      retention: { removed: this.retention?.removed ?? 0 },
      ...(this.outbox === undefined ? {} : { outbox: this.outbox.stats() }),
    };
  }

  /** What /metrics renders with labels: latencies, states, groups, timers, the store (read at scrape time). */
  telemetry(): NodeTelemetry {
    return {
      requestLatency: this.latency,
      promises: this.view.isReady ? this.view.promiseStates() : undefined,
      tasks: this.view.isReady ? this.view.tasks.snapshot() : undefined,
      groups: this.dispatcher.groupStats(),
      timerLag: this.timers.lag,
      commitLatency: this.driver.commitLatency,
      commits: this.driver.stats(),
      store: storeTelemetry(this.store),
    };
  }

  private async answer(request: Request): Promise<Response> {
    const kind = (request as { kind?: unknown })?.kind;
    const replyKind = (typeof kind === "string" ? kind : "unknown") as Kind;
    try {
      // Bad input never reaches the store.
      const invalid = validateRequest(request, this.config);
      if (invalid !== undefined) return failure(replyKind, invalid);
      const overBudget = this.memory.admit(request);
      if (overBudget !== undefined) return failure(replyKind, overBudget);
      if (isSearch(request)) return await search(this.store, request, this.clock.now(), this.config, this.view);
      // The execute reached this worker (whatever the answer): it keeps up.
      if (request.kind === "task.acquire") this.dispatcher.acknowledge(request.data.pid, request.data.id);
      const result = await this.driver.apply(
        (snapshot, now, locality) => transition(snapshot, request, now, this.config, locality),
        Driver.prefetchKeys(request),
        homeIdOf(request),
      );
      this.send(result.messages);
      return result.response;
    } catch (err) {
      if (err instanceof ContentionError) {
        this.logger?.warn({ kind: replyKind, err: err.message }, "request gave up under contention");
        return failure(replyKind, { status: 503, code: "UNAVAILABLE", message: err.message });
      }
      if (err instanceof StoreUnavailableError) {
        this.logger?.warn({ kind: replyKind, err: err.message }, "the store is unavailable");
        return failure(replyKind, { status: 503, code: "UNAVAILABLE", message: `the store is unavailable, retry later: ${err.message}` });
      }
      this.logger?.error({ err, kind: replyKind }, "request failed");
      return failure(replyKind, {
        status: 500,
        code: "INTERNAL",
        message: `internal error while handling ${replyKind}: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }

  /** To local workers, or across the mesh when it has several nodes. */
  private send(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    if (this.delivery !== undefined) this.delivery.sendAll(messages);
    else this.dispatcher.sendAll(messages);
  }

  private count(response: Response, seconds: number): void {
    // Bad input may carry any kind string; keep the label set bounded.
    const kind = KNOWN_KINDS.has(response.kind) ? response.kind : "unknown";
    let byStatus = this.requests.get(kind);
    if (byStatus === undefined) this.requests.set(kind, (byStatus = new Map()));
    byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
    let latency = this.latency.get(kind);
    if (latency === undefined) this.latency.set(kind, (latency = new Histogram(LATENCY_BUCKETS)));
    latency.observe(seconds);
  }
}

const KNOWN_KINDS: ReadonlySet<string> = new Set(KINDS);

function failure(kind: Kind, error: ProtocolError): Response {
  return { kind, status: error.status, error } as Response;
}
