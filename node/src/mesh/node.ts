// One mesh node over one store: what the API adapters and the SDK's local
// mode call. Every request is validated, run through the protocol against the
// store by the driver, and its messages dispatched after the commit; the
// timer loop does the same for what time makes due.
//
// The node builds none of its parts: `composeNode` (compose.ts) builds and
// wires them (also for `startNode` and `createMeshNode`), and hands them here.

import type { Logger } from "pino";
import type { ProtocolConfig } from "../protocol/config.ts";
import { homeIdOf } from "../protocol/outbox.ts";
import { transition } from "../protocol/transition.ts";
import type { Kind, Message, ProtocolError, Request, RequestOf, Response, ResponseDataMap } from "../protocol/types.ts";
import { KINDS, validateRequest } from "../protocol/validate.ts";
import { StoreUnavailableError } from "../store/errors.ts";
import type { Store } from "../store/types.ts";
import type { Clock } from "./clock.ts";
import type { Dispatcher, DispatcherStats, GroupStats } from "./dispatcher.ts";
import type { MeshDelivery } from "./delivery.ts";
import { ContentionError, Driver, type DriverStats } from "./driver.ts";
import type { Engine, Subscription, WorkerSink } from "./engine.ts";
import type { NodeLimits } from "./limits.ts";
import type { MemoryBudget, MemoryStats } from "./memory.ts";
import type { OutboxRelay, OutboxStats } from "./outbox.ts";
import type { Retention } from "./retention.ts";
import { isSearch, search } from "./search.ts";
import type { SearchView } from "./search-view.ts";
import { Histogram, LATENCY_BUCKETS } from "./histogram.ts";
import type { TimerKind, TimerLoop, TimerStats } from "./timers.ts";

/** What a node runs on, built and wired by `composeNode` (compose.ts). */
export interface MeshNodeParts {
  store: Store;
  clock: Clock;
  config: ProtocolConfig;
  limits: NodeLimits;
  logger?: Logger;
  driver: Driver;
  /** This node's workers. */
  dispatcher: Dispatcher;
  /** Where the messages of a commit go: this node's workers, or across the mesh. */
  send: (messages: readonly Message[]) => void;
  /** In a mesh of several nodes: tells the others which workers are attached here. */
  delivery?: MeshDelivery;
  timers: TimerLoop;
  view: SearchView;
  memory: MemoryBudget;
  /** Only with a retention period. */
  retention?: Retention;
  /** Only with a store of several partitions. */
  outbox?: OutboxRelay;
  /** In a mesh of several nodes: who is in it and what this node owns, read at scrape time. */
  mesh?: () => MeshTelemetry;
}

/** This node's place in the mesh, as it sees it now. */
export interface MeshTelemetry {
  /** Live members, this node included. */
  members: number;
  /** The cluster's partition count. */
  partitions: number;
  /** The partitions this node owns (it runs their timers and applies their outbox), in order. */
  owned: readonly number[];
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
  /** Only in a mesh of several nodes (the JetStream store). */
  mesh?: MeshTelemetry;
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
  private readonly send: (messages: readonly Message[]) => void;
  private readonly delivery?: MeshDelivery;
  private readonly requests = new Map<string, Map<number, number>>();
  /** Seconds per request, by kind (the labels of `requests`). */
  private readonly latency = new Map<string, Histogram>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly memory: MemoryBudget;
  private readonly view: SearchView;
  private readonly retention: Retention | undefined;
  private readonly outbox: OutboxRelay | undefined;
  private readonly mesh: (() => MeshTelemetry) | undefined;

  constructor(parts: MeshNodeParts) {
    this.store = parts.store;
    this.clock = parts.clock;
    this.config = parts.config;
    this.limits = parts.limits;
    this.logger = parts.logger;
    this.driver = parts.driver;
    this.dispatcher = parts.dispatcher;
    this.send = parts.send;
    this.delivery = parts.delivery;
    this.timers = parts.timers;
    this.view = parts.view;
    this.memory = parts.memory;
    this.retention = parts.retention;
    this.outbox = parts.outbox;
    this.mesh = parts.mesh;
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
      ...(this.mesh === undefined ? {} : { mesh: this.mesh() }),
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
      const result =
        request.kind === "task.fulfill" && (request.data.actions?.length ?? 0) > 0 && this.store.prefersSingleUnitCommits === true
          ? await this.fulfillInTwo(request)
          : await this.run(request);
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

  private run(request: Request): Promise<{ response: Response; messages: Message[] }> {
    return this.driver.apply(
      (snapshot, now, locality) => transition(snapshot, request, now, this.config, locality),
      Driver.prefetchKeys(request),
      homeIdOf(request),
    );
  }

  /**
   * A task.fulfill carrying writes, as what it stands for (protocol/tasks.ts):
   * task.fence_batch, then task.fulfill, two commits of a record unit or two
   * each. For a store where that is cheaper than one commit of several units
   * (JetStream R1 stages every atomic batch in a file store of its own). The
   * answer is the one commit's; only a failure between the two differs: the
   * writes stay, as the two requests one by one would leave them, and the
   * worker replays from them as from any lost answer.
   */
  private async fulfillInTwo(request: RequestOf<"task.fulfill">): Promise<{ response: Response; messages: Message[] }> {
    const { actions, ...fulfill } = request.data;
    const writes = await this.run({ kind: "task.fence_batch", data: { id: fulfill.id, version: fulfill.version, actions: actions! } });
    if (writes.response.status !== 200 || !("data" in writes.response)) {
      return { response: failure("task.fulfill", (writes.response as { error: ProtocolError }).error), messages: writes.messages };
    }
    const settled = await this.run({ kind: "task.fulfill", data: fulfill });
    const messages = [...writes.messages, ...settled.messages];
    if (settled.response.status !== 200 || !("data" in settled.response)) return { response: settled.response, messages };
    const { actions: answers } = writes.response.data as ResponseDataMap["task.fence_batch"];
    return { response: { ...settled.response, data: { ...settled.response.data, actions: answers } } as Response, messages };
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
