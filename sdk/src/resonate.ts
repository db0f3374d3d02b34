// The client: registers durable functions, invokes them (here with run, on
// some worker with rpc), waits for results, and is itself a worker of its
// group once it has registered something.

import { pino, type Logger } from "pino";
import { systemClock, type Clock } from "@resonate-mesh/node/local";
import type { MeshNode } from "@resonate-mesh/node/local";
import type { ProtocolConfig } from "@resonate-mesh/node/protocol";
import { Tag, type Kind, type Message, type PromiseRecord, type RequestOf, type Response } from "@resonate-mesh/node/protocol";
import { defaultCodec, type Codec } from "./codec.ts";
import { resolveConfig, type ConnectionConfig, type ResolvedConfig } from "./config.ts";
import { resolveTarget } from "./context.ts";
import type { CoreDeps, Send } from "./execution.ts";
import { functionNotRegistered, invalidArgument, ServerError, stopped } from "./errors.ts";
import { ExecutionHandle, ScheduleHandle, unknownError } from "./handles.ts";
import { Heartbeat } from "./heartbeat.ts";
import { validateId } from "./ids.ts";
import type { RetryPolicy } from "./options/retry.ts";
import { Promises } from "./promises.ts";
import { Registry, type RegisterOptions } from "./registry.ts";
import { Schedules } from "./schedules.ts";
import { Subscriptions } from "./subscriptions.ts";
import { GrpcTransport } from "./transport/grpc.ts";
import { LocalTransport } from "./transport/local.ts";
import { TransportError, type Transport } from "./transport/types.ts";
import type { DurableFunction } from "./types.ts";
import { Worker } from "./worker.ts";
import { SpanKind, startCallSpan, startTracing, traced, tracingActive, type Tracing } from "./tracing.ts";

const DAY = 24 * 60 * 60 * 1000;

export interface ResonateOptions extends ConnectionConfig {
  /** How values are stored (default: JSON with tagged bigint, Date, Map, Set, Error, ...). */
  codec?: Codec;
  logger?: Logger;
  /** The SDK's clock; in local mode also the in-process node's (a ManualClock for tests). */
  clock?: Clock;
  /** Bring your own transport (advanced; overrides url). */
  transport?: Transport;
  /** Local mode: protocol limits of the in-process node. */
  protocol?: Partial<ProtocolConfig>;
  /** How long stop() lets running functions finish before releasing them (default 10 s). */
  stopGraceMs?: number;
  /** How often listeners for awaited results are registered again (default 60 s). */
  listenerRefreshMs?: number;
  /** How long a request is retried while the node is unreachable or answers 503 UNAVAILABLE (default 30 s). */
  unavailableRetryMs?: number;
  /**
   * Remote mode: on SIGINT/SIGTERM, stop() (drain, release held tasks) before
   * the process exits (default true). A worker otherwise never exits on its
   * own: it reconnects to its node for as long as it runs.
   */
  handleSignals?: boolean;
}

export interface LocalOptions extends Omit<ResonateOptions, "url" | "transport"> {
  /** Share the in-process node of another local client. */
  node?: MeshNode;
}

export class Resonate {
  readonly group: string;
  readonly pid: string;
  readonly ttl: number;
  readonly prefix: string;
  readonly transport: Transport;
  readonly promises: Promises;
  readonly schedules: Schedules;
  readonly clock: Clock;
  readonly logger: Logger;

  private readonly config: ResolvedConfig;
  private readonly codec: Codec;
  private readonly registry = new Registry();
  private readonly heartbeat: Heartbeat;
  private readonly subscriptions: Subscriptions;
  private readonly worker: Worker;
  private readonly ownsTransport: boolean;
  private readonly stopGraceMs: number;
  private readonly unavailableRetryMs: number;
  private readonly handleSignals: boolean;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  /** Until the trace SDK has loaded (OTEL_* asked for traces): calls and executes wait for it, so none goes untraced. */
  private tracingLoads: Promise<Tracing | undefined> | undefined;
  private readonly tracing: Promise<Tracing | undefined>;

  constructor(options: ResonateOptions = {}, internal: { ownsTransport?: boolean } = {}) {
    this.config = resolveConfig(options);
    this.group = this.config.group;
    this.pid = this.config.pid;
    this.ttl = this.config.ttl;
    this.prefix = this.config.prefix;
    this.clock = options.clock ?? systemClock;
    this.codec = options.codec ?? defaultCodec;
    this.logger = options.logger ?? pino({ name: "resonate", level: process.env.RESONATE_LOG_LEVEL ?? "warn" }, pino.destination(2));
    this.stopGraceMs = options.stopGraceMs ?? 10_000;
    this.unavailableRetryMs = options.unavailableRetryMs ?? 30_000;
    this.handleSignals = options.handleSignals ?? true;
    this.tracing = startTracing("resonate-sdk");
    this.tracingLoads = this.tracing;
    void this.tracing.then(() => (this.tracingLoads = undefined));

    if (options.transport !== undefined) {
      this.transport = options.transport;
      this.ownsTransport = internal.ownsTransport ?? false;
    } else if (this.config.url !== undefined) {
      this.transport = new GrpcTransport({ url: this.config.url, token: this.config.token, tls: this.config.tls, logger: this.logger });
      this.ownsTransport = true;
    } else {
      this.transport = new LocalTransport({ clock: options.clock, protocol: options.protocol });
      this.ownsTransport = true;
    }

    const unicast = `poll://uni@${this.group}/${this.pid}`;
    this.heartbeat = new Heartbeat(this.pid, Math.max(50, Math.floor(this.ttl / 2)), this.transport, this.logger);
    this.subscriptions = new Subscriptions(this.send, unicast, () => this.connect(), this.logger, options.listenerRefreshMs ?? 60_000);
    const deps: CoreDeps = {
      send: this.send,
      codec: this.codec,
      clock: this.clock,
      logger: this.logger,
      registry: this.registry,
      timerTarget: `poll://any@${this.group}`,
      defaultTarget: "poll://any@default",
      qualify: (id) => this.qualify(id),
    };
    this.worker = new Worker({
      deps,
      pid: this.pid,
      ttl: this.ttl,
      heartbeat: this.heartbeat,
      onSettled: (p) => this.subscriptions.notify(p),
    });
    const qualify = (id: string) => this.qualify(id);
    this.promises = new Promises(this.send, this.codec, this.clock, qualify);
    this.schedules = new Schedules(this.send, this.codec, qualify);
  }

  /** Local mode: an in-process node on the memory store, whatever the environment says. */
  static local(options: LocalOptions = {}): Resonate {
    const { node, ...rest } = options;
    const transport = node === undefined ? new LocalTransport({ clock: options.clock, protocol: options.protocol }) : new LocalTransport({ node });
    // This client made the transport, so it closes it (and the embedded node) on stop().
    return new Resonate({ ...rest, transport }, { ownsTransport: true });
  }

  /** The in-process node in local mode (tests advance its clock and run its timers with tick()). */
  get node(): MeshNode | undefined {
    return this.transport instanceof LocalTransport ? this.transport.node : undefined;
  }

  /** Make `fn` callable by name (rpc, schedules, the CLI) and runnable by this worker. */
  register<F extends DurableFunction>(fn: F, options: RegisterOptions = {}): F {
    this.assertRunning("register");
    this.registry.add(fn, options);
    this.connect();
    return fn;
  }

  /** Run a registered function here, durably, as promise `id`; awaiting gives its result. */
  run<A extends unknown[], R>(id: string, fn: DurableFunction<A, R>, ...args: A): ClientCall<Awaited<R>> {
    return new ClientCall<Awaited<R>>("run", (o) => this.startRun(id, fn as DurableFunction, args, o));
  }

  /** Run the function registered as `name` on a worker of the target group (default poll://any@default). */
  rpc<T = unknown>(id: string, name: string, ...args: unknown[]): ClientCall<T> {
    return new ClientCall<T>("rpc", (o) => this.startRpc(id, name, args, o));
  }

  /** A handle on an existing execution. */
  async get<T = unknown>(id: string): Promise<ExecutionHandle<T>> {
    this.assertRunning("get");
    const full = this.qualify(validateId(id, "get() id"));
    const promise = await this.promises.get(id);
    return this.handle<T>(full, promise.record);
  }

  /** A cron schedule: every tick invokes `funcName` with `args` on a worker of this client's group. */
  schedule(name: string, cron: string, funcName: string, ...args: unknown[]): ScheduleCall {
    return new ScheduleCall(async (o) => {
      this.assertRunning("schedule");
      const full = this.qualify(validateId(name, "schedule() name"));
      const invocation: Record<string, unknown> = { func: funcName, args, version: o.version ?? 1 };
      if (o.retry !== undefined) invocation.retry = o.retry.encode();
      await this.schedules.create(name, cron, {
        promiseId: "{{.id}}-{{.timestamp}}",
        promiseTimeout: o.timeout ?? DAY,
        promiseParam: invocation,
        promiseTags: { ...(o.tags ?? {}), [Tag.target]: o.target ?? `poll://any@${this.group}` },
      });
      return new ScheduleHandle(full, this.send);
    });
  }

  /**
   * Graceful shutdown: take no new work, let running functions finish (up to
   * stopGraceMs), release what is still held, stop heartbeats and the stream.
   */
  stop(): Promise<void> {
    // Every caller (a signal handler of ours, one of the program's) waits for the same drain.
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.stopped = true;
    signals.remove(this);
    await this.worker.stop(this.stopGraceMs);
    this.heartbeat.stop();
    this.subscriptions.close();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.ownsTransport) await this.transport.close();
    await (await this.tracing)?.flush();
  }

  // ------------------------------------------------------------ internals

  private qualify(id: string): string {
    // An id that already carries the prefix (a ctx.id, a child's id) is taken as it is.
    return this.prefix === "" || id.startsWith(this.prefix) ? id : `${this.prefix}${id}`;
  }

  private assertRunning(what: string): void {
    if (this.stopped) throw stopped(what);
  }

  /**
   * Requests retried while the node is unreachable, or answers 503 UNAVAILABLE
   * ("retry later": not ready yet, its store briefly unavailable, e.g. while
   * a JetStream stream elects a new leader). Past the window, the last failure.
   */
  private readonly send: Send = (request) => {
    const started = Date.now();
    // Every durable step sends: the usual case (an answer at the first try) goes without the retry loop.
    let sent: Promise<Response<typeof request.kind>>;
    try {
      sent = this.transport.send(request);
    } catch (err) {
      // A transport of one's own may throw rather than reject.
      return this.resend(request, err, started);
    }
    return sent.then(
      (res) => (res.status === 503 ? this.resend(request, res, started) : res),
      (err: unknown) => this.resend(request, err, started),
    );
  };

  private async resend<K extends Kind>(request: RequestOf<K>, failure: unknown, started: number): Promise<Response<K>> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      const answer = unavailableAnswer<K>(failure);
      if ((answer === undefined && !(failure instanceof TransportError)) || Date.now() - started + delay > this.unavailableRetryMs) {
        if (answer !== undefined) return answer;
        throw failure;
      }
      this.logger.debug({ kind: request.kind, err: answer?.error.message ?? (failure as Error).message }, "node unavailable; retrying");
      await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        failure = await this.transport.send(request);
        if (unavailableAnswer(failure) === undefined) return failure as Response<K>;
      } catch (err) {
        failure = err;
      }
    }
  }

  /** Open the message stream (once): executes for this worker, unblocks for what it waits on. */
  private connect(): void {
    if (this.unsubscribe !== undefined || this.stopped) return;
    if (this.handleSignals && this.transport.mode === "remote") signals.add(this);
    this.unsubscribe = this.transport.subscribe(
      this.group,
      this.pid,
      (message) => this.onMessage(message),
      () => this.subscriptions.refresh(),
    );
  }

  private onMessage(message: Message): void {
    if (message.kind === "unblock") {
      this.subscriptions.notify(message.promise);
      return;
    }
    const execute = () => this.worker.onExecute(message.task);
    (this.tracingLoads === undefined ? execute() : this.tracingLoads.then(execute)).catch((err: unknown) => {
      this.logger.warn({ task: message.task, err }, "execute failed");
    });
  }

  private handle<T>(id: string, known: PromiseRecord | undefined, wait?: () => Promise<PromiseRecord>): ExecutionHandle<T> {
    return new ExecutionHandle<T>(id, known, wait ?? (() => this.subscriptions.wait(id)), this.send, this.codec);
  }

  private invocationParam(full: string, func: string, args: unknown[], version: number, retry: RetryPolicy | undefined) {
    const invocation: Record<string, unknown> = { func, args, version };
    if (retry !== undefined) invocation.retry = retry.encode();
    return this.codec.encode(invocation, "", full);
  }

  private rootTags(full: string, target: string, tags: Record<string, string> | undefined): Record<string, string> {
    if (tags === undefined) {
      // The usual call: one literal with constant keys (the Tag values), no spread.
      return {
        "resonate:origin": full,
        "resonate:branch": full,
        "resonate:parent": full,
        "resonate:scope": "global",
        "resonate:target": target,
      } satisfies Record<(typeof Tag)["origin" | "branch" | "parent" | "scope" | "target"], string>;
    }
    return {
      ...tags,
      [Tag.origin]: full,
      [Tag.branch]: full,
      [Tag.parent]: full,
      [Tag.scope]: "global",
      [Tag.target]: target,
    };
  }

  private async startRun<T>(id: string, fn: DurableFunction, args: unknown[], o: CallOptions): Promise<ExecutionHandle<T>> {
    this.assertRunning("run");
    const full = this.qualify(validateId(id, "run() id"));
    const registered = typeof fn === "function" ? this.registry.byFunction(fn) : undefined;
    if (registered === undefined) {
      throw functionNotRegistered(typeof fn === "function" ? fn.name : String(fn), undefined, full);
    }
    this.connect();
    if (this.tracingLoads !== undefined) await this.tracingLoads;
    // Traces off: not even the span's name and attributes are made.
    const span = !tracingActive() ? undefined : startCallSpan(`run ${registered.name}`, { "resonate.id": full, "resonate.function": registered.name }, undefined, SpanKind.CLIENT);
    const res = await this.send({
      kind: "task.create",
      data: {
        pid: this.pid,
        ttl: this.ttl,
        action: {
          kind: "promise.create",
          data: {
            id: full,
            timeoutAt: this.clock.now() + (o.timeout ?? DAY),
            param: traced(this.invocationParam(full, registered.name, args, registered.version, o.retry), span?.context),
            tags: this.rootTags(full, `poll://any@${this.group}/${this.pid}`, o.tags),
          },
        },
      },
    }).catch((err: unknown) => {
      span?.end(err);
      throw err;
    });
    span?.end(res.status === 200 || res.status === 409 ? undefined : `${res.kind} answered ${res.status}`);
    if (res.status === 409) return this.handle<T>(full, undefined); // held elsewhere: wait for it
    if (res.status !== 200) throw new ServerError(res.kind, "error" in res ? res.error : unknownError(res.status), full);
    const { task, promise, preload } = res.data;
    if (promise.state !== "pending" || task.state !== "acquired" || task.pid !== this.pid) {
      return this.handle<T>(full, promise);
    }
    const here = this.worker.execute(task, promise, preload);
    here.catch(() => undefined);
    return this.handle<T>(full, promise, async () => (await here) ?? (await this.subscriptions.wait(full)));
  }

  private async startRpc<T>(id: string, name: string, args: unknown[], o: CallOptions): Promise<ExecutionHandle<T>> {
    this.assertRunning("rpc");
    const full = this.qualify(validateId(id, "rpc() id"));
    if (typeof name !== "string" || name.length === 0) {
      throw invalidArgument(`rpc("${id}") needs the registered name of a function as its second argument.`, full);
    }
    if (this.tracingLoads !== undefined) await this.tracingLoads;
    // Traces off: not even the span's name and attributes are made.
    const span = !tracingActive() ? undefined : startCallSpan(`rpc ${name}`, { "resonate.id": full, "resonate.function": name }, undefined, SpanKind.CLIENT);
    const res = await this.send({
      kind: "promise.create",
      data: {
        id: full,
        timeoutAt: this.clock.now() + (o.timeout ?? DAY),
        param: traced(this.invocationParam(full, name, args, o.version ?? 1, o.retry), span?.context),
        tags: this.rootTags(full, o.target ?? "poll://any@default", o.tags),
      },
    }).catch((err: unknown) => {
      span?.end(err);
      throw err;
    });
    span?.end(res.status === 200 ? undefined : `${res.kind} answered ${res.status}`);
    if (res.status !== 200) throw new ServerError(res.kind, "error" in res ? res.error : unknownError(res.status), full);
    return this.handle<T>(full, res.data.promise);
  }
}

/**
 * One SIGINT/SIGTERM handler for every connected client of the process: stop
 * them all (drain, release), then let the signal have its default effect
 * unless the program handles it too.
 */
const signals = new (class SignalStop {
  private readonly clients = new Set<Resonate>();
  private readonly handler = (signal: NodeJS.Signals) => void this.onSignal(signal);

  add(client: Resonate): void {
    if (this.clients.size === 0) for (const s of SIGNALS) process.on(s, this.handler);
    this.clients.add(client);
  }

  remove(client: Resonate): void {
    if (!this.clients.delete(client) || this.clients.size > 0) return;
    for (const s of SIGNALS) process.off(s, this.handler);
  }

  private draining = false;

  private async onSignal(signal: NodeJS.Signals): Promise<void> {
    if (this.draining) {
      // A second signal: the operator does not want to wait for the drain.
      for (const s of SIGNALS) process.off(s, this.handler);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      return;
    }
    this.draining = true;
    const clients = [...this.clients];
    for (const c of clients) c.logger.info({ signal }, `${signal}: stopping (finishing or releasing held tasks)`);
    await Promise.allSettled(clients.map((c) => c.stop()));
    for (const s of SIGNALS) process.off(s, this.handler);
    // Nobody else listens: exit as the signal would have (status 128 + n).
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  }
})();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

interface CallOptions {
  timeout?: number;
  tags?: Record<string, string>;
  version?: number;
  target?: string;
  retry?: RetryPolicy;
}

function checkOptions(o: CallOptions, what: string): void {
  if (o.timeout !== undefined && !(o.timeout > 0 && Number.isFinite(o.timeout))) {
    throw invalidArgument(`${what}: timeout must be a positive number of ms, got ${String(o.timeout)}.`);
  }
  if (o.version !== undefined && !(Number.isInteger(o.version) && o.version >= 0)) {
    throw invalidArgument(`${what}: version must be an integer >= 0 (0 = latest), got ${String(o.version)}.`);
  }
}

/** `resonate.run(...)` / `resonate.rpc(...)`: options, then await (the result) or spawn (a handle). */
export class ClientCall<T> implements PromiseLike<T> {
  private readonly options: CallOptions = {};
  private started: Promise<ExecutionHandle<T>> | undefined;

  /** @internal */
  constructor(
    private readonly what: "run" | "rpc",
    private readonly begin: (o: CallOptions) => Promise<ExecutionHandle<T>>,
  ) {}

  timeout(ms: number): this {
    this.options.timeout = ms;
    return this;
  }
  tags(tags: Record<string, string>): this {
    this.options.tags = tags;
    return this;
  }
  version(version: number): this {
    this.options.version = version;
    return this;
  }
  /** rpc only: a group name (`workers`) or an address (`poll://any@workers`). */
  target(target: string): this {
    if (this.what !== "rpc") throw invalidArgument(`.target() applies to rpc(); run() executes here.`);
    this.options.target = resolveTarget(target);
    return this;
  }
  retry(policy: RetryPolicy): this {
    this.options.retry = policy;
    return this;
  }

  /** Start it and get a handle ({ id, result(), done() }) without waiting for the result. */
  spawn(): Promise<ExecutionHandle<T>> {
    if (this.started === undefined) {
      try {
        checkOptions(this.options, this.what);
        this.started = this.begin(this.options);
      } catch (error) {
        this.started = Promise.reject(error);
      }
    }
    return this.started;
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as PromiseLike declares it
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.spawn()
      .then((handle) => handle.result())
      .then(onfulfilled, onrejected);
  }
}

/** `resonate.schedule(...)`: options, then await for a handle with delete(). */
export class ScheduleCall implements PromiseLike<ScheduleHandle> {
  private readonly options: CallOptions = {};
  private started: Promise<ScheduleHandle> | undefined;

  /** @internal */
  constructor(private readonly begin: (o: CallOptions) => Promise<ScheduleHandle>) {}

  /** Where each tick runs: a group name or an address (default: this client's group). */
  target(target: string): this {
    this.options.target = resolveTarget(target);
    return this;
  }
  /** Timeout of each tick's promise in ms (default 24 h). */
  timeout(ms: number): this {
    this.options.timeout = ms;
    return this;
  }
  tags(tags: Record<string, string>): this {
    this.options.tags = tags;
    return this;
  }
  version(version: number): this {
    this.options.version = version;
    return this;
  }
  retry(policy: RetryPolicy): this {
    this.options.retry = policy;
    return this;
  }

  then<R1 = ScheduleHandle, R2 = never>(
    onfulfilled?: ((value: ScheduleHandle) => R1 | PromiseLike<R1>) | null,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as PromiseLike declares it
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (this.started === undefined) {
      try {
        checkOptions(this.options, "schedule");
        this.started = this.begin(this.options);
      } catch (error) {
        this.started = Promise.reject(error);
      }
    }
    return this.started.then(onfulfilled, onrejected);
  }
}

/** The node's "retry later" answer (503 UNAVAILABLE), if that is what `x` is. */
function unavailableAnswer<K extends Kind>(x: unknown): (Response<K> & { status: 503 }) | undefined {
  if (typeof x !== "object" || x === null || x instanceof Error) return undefined;
  return (x as { status?: unknown }).status === 503 ? (x as Response<K> & { status: 503 }) : undefined;
}
