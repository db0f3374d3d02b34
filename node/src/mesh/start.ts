// The composition root: `startNode(config)` assembles a node for the CLI,
// the tests, the container image and the cluster alike. It opens the store
// and starts the one-port API server itself; everything between them (the
// mesh node with its driver, dispatch, timers, views, outbox relay and, on
// JetStream, membership, ownership and delivery across nodes) is built by
// `composeNode` (compose.ts), the one place that wiring lives.
//
// The server listens at once. With the JetStream store the node connects in
// the background: while NATS is unreachable or JetStream is off it says so
// in one log line, retries with backoff, and stays not ready (/ready 503,
// gRPC health NOT_SERVING, requests answered UNAVAILABLE); it serves once
// connected and caught up. What waiting cannot fix (a server older than
// 2.12, another partition count) rejects `ready` with the sentence to act on.

import type { Logger } from "pino";
import { startServer, type RunningServer, type ServerOptions } from "../api/server.ts";
import type { TlsOptions } from "../api/tls.ts";
import type { ProtocolConfig } from "../protocol/config.ts";
import type { Kind, Request, RequestOf, Response } from "../protocol/types.ts";
import { StoreUnavailableError } from "../store/errors.ts";
import { JetStreamStore, type JetStreamStoreOptions } from "../store/jetstream.ts";
import { MemoryStore } from "../store/memory.ts";
import type { Store } from "../store/types.ts";
import { systemClock, type Clock } from "./clock.ts";
import type { Engine, Subscription, WorkerSink } from "./engine.ts";
import { hostname } from "node:os";
import { composeNode, type ComposedNode, type FaultHooks } from "./compose.ts";
import type { NodeLimits } from "./limits.ts";
import type { MeshNode, NodeTelemetry } from "./node.ts";
import { startTracing } from "../telemetry/tracing.ts";

export type StoreConfig = { kind: "memory" } | ({ kind: "jetstream" } & Omit<JetStreamStoreOptions, "logger">);

export interface NodeConfig {
  store?: StoreConfig;
  /** Default 8001; 0 picks a free port. */
  port?: number;
  host?: string;
  logger?: Logger;
  clock?: Clock;
  protocol?: Partial<ProtocolConfig>;
  /** Run the timer loop (default true); tests that move a ManualClock call `node.tick()` instead. */
  timers?: boolean;
  timerPollMs?: number;
  /** What the node holds and accepts (mesh/limits.ts; the server's are in `server.limits`). */
  limits?: Partial<NodeLimits>;
  /** Serve TLS only on the port (PEM files, reloaded on change; a client CA makes client certificates required). */
  tls?: TlsOptions;
  /** The rest of the API server's options. */
  server?: Omit<ServerOptions, "engine" | "port" | "host" | "logger" | "ready">;
  /** The mesh (jetstream store only): this node's id, and how fast a node that stopped is noticed. */
  mesh?: { nodeId?: string; heartbeatMs?: number; expireMs?: number };
  /** Pauses between attempts to reach the store: from `initialMs`, doubling up to `maxMs`. */
  connectRetry?: { initialMs?: number; maxMs?: number };
  /** Crash tests only: where the node kills itself (mesh/compose.ts FaultHooks). */
  faults?: FaultHooks;
}

export interface RunningNode {
  readonly server: RunningServer;
  /** `host:port` as clients dial it. */
  readonly address: string;
  /** http://<address>, https://<address> with `tls` */
  readonly url: string;
  /** Resolves once the store is open and the node serves; rejects with a StoreRefusedError. */
  readonly ready: Promise<void>;
  /** Serving right now: the store is open, connected and caught up. */
  isReady(): boolean;
  /** The mesh node (throws before `ready`). */
  readonly node: MeshNode;
  /** The store (throws before `ready`). */
  readonly store: Store;
  /** This node's id in the mesh. */
  readonly nodeId: string;
  /** The live members of the mesh as this node sees them (itself alone with the memory store). */
  members(): readonly string[];
  /** Stop serving, stop the node, close the store. */
  close(): Promise<void>;
}

export async function startNode(config: NodeConfig = {}): Promise<RunningNode> {
  const storeConfig = config.store ?? { kind: "memory" };
  const logger = config.logger;
  const engine = new StartingEngine();
  let store: (Store & { ready?: boolean }) | undefined;
  let composed: ComposedNode | undefined;
  let node: MeshNode | undefined;
  let closing = false;
  let wakeRetry: (() => void) | undefined;
  const nodeId = config.mesh?.nodeId ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  // Traces when the OTEL_* variables ask for them (telemetry/tracing.ts).
  const tracing = await startTracing("resonate-node");
  const isReady = () => node !== undefined && (store?.ready ?? true) && !closing;
  const server = await startServer({
    ...config.server,
    ...(config.tls !== undefined ? { tls: config.tls } : {}),
    engine,
    port: config.port,
    host: config.host,
    logger,
    ready: isReady,
  });

  const open = async (): Promise<void> => {
    const opened =
      storeConfig.kind === "memory"
        ? new MemoryStore()
        : await openWithRetry(storeConfig, logger, config.connectRetry, () => closing, (wake) => (wakeRetry = wake));
    if (closing) {
      await opened.close();
      return;
    }
    store = opened;
    // Several nodes over one JetStream cluster are one mesh; the memory store is one node alone.
    composed = composeNode({
      store: opened,
      clock: config.clock ?? systemClock,
      protocol: config.protocol,
      logger,
      timerPollMs: config.timerPollMs,
      limits: config.limits,
      mesh: opened instanceof JetStreamStore ? { nodeId, heartbeatMs: config.mesh?.heartbeatMs, expireMs: config.mesh?.expireMs } : undefined,
      faults: config.faults,
    });
    await composed.join();
    const mesh = composed.node;
    if (config.timers ?? true) await mesh.start();
    node = mesh;
    engine.attach(mesh);
  };
  const ready = open();
  // The caller decides what a refusal means (the CLI exits with its sentence); no unhandled rejection meanwhile.
  ready.catch(() => undefined);

  return {
    server,
    address: server.address,
    url: `${server.secure ? "https" : "http"}://${server.address}`,
    ready,
    isReady,
    get node() {
      if (node === undefined) throw new Error("the node is not ready yet; await ready first");
      return node;
    },
    get store() {
      if (store === undefined) throw new Error("the store is not open yet; await ready first");
      return store;
    },
    nodeId,
    members: () => composed?.membership?.members() ?? [nodeId],
    async close() {
      closing = true;
      wakeRetry?.();
      await server.close();
      await ready.catch(() => undefined);
      await composed?.stop();
      await store?.close();
      await tracing?.flush();
    },
  };
}

/** Open the JetStream store, retrying while NATS is unreachable or JetStream is off. */
async function openWithRetry(
  config: Extract<StoreConfig, { kind: "jetstream" }>,
  logger: Logger | undefined,
  retry: NodeConfig["connectRetry"],
  stopping: () => boolean,
  onWait: (wake: () => void) => void,
): Promise<Store> {
  const maxMs = retry?.maxMs ?? 10_000;
  let delay = retry?.initialMs ?? 250;
  let lastMessage: string | undefined;
  for (;;) {
    try {
      const store = await JetStreamStore.open({ ...config, logger });
      if (lastMessage !== undefined) logger?.info("connected to NATS; the node is ready");
      return store;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || stopping()) throw err;
      // One line per distinct problem, not one per attempt.
      if (err.message !== lastMessage) logger?.warn(`${err.message}; retrying with backoff, the node is not ready meanwhile`);
      else logger?.debug({ delayMs: delay }, "still cannot reach NATS");
      lastMessage = err.message;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      onWait(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (stopping()) throw new StoreUnavailableError("the node stopped before it could reach NATS");
    delay = Math.min(maxMs, delay * 2);
  }
}

/**
 * The engine the API serves while the store opens: requests are answered
 * UNAVAILABLE, worker streams are held and attached to the node once it is
 * there. Afterwards every call goes straight to the node.
 */
class StartingEngine implements Engine {
  private target: MeshNode | undefined;
  private readonly waiting = new Set<{ group: string; pid: string; sink: WorkerSink; attached?: Subscription }>();

  attach(node: MeshNode): void {
    this.target = node;
    for (const w of this.waiting) w.attached = node.poll(w.group, w.pid, w.sink);
    this.waiting.clear();
  }

  handle<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    if (this.target !== undefined) return this.target.handle(request);
    const kind = (typeof (request as Request)?.kind === "string" ? (request as Request).kind : "unknown") as K;
    return Promise.resolve({
      kind,
      status: 503,
      error: { status: 503, code: "UNAVAILABLE", message: "this node is not ready: it is still connecting to its store (NATS); retry shortly" },
    } as unknown as Response<K>);
  }

  poll(group: string, pid: string, sink: WorkerSink): Subscription {
    if (this.target !== undefined) return this.target.poll(group, pid, sink);
    const w: { group: string; pid: string; sink: WorkerSink; attached?: Subscription } = { group, pid, sink };
    this.waiting.add(w);
    return {
      close: () => {
        this.waiting.delete(w);
        w.attached?.close();
      },
    };
  }

  stats(): unknown {
    return this.target?.stats();
  }

  telemetry(): NodeTelemetry | undefined {
    return this.target?.telemetry();
  }
}
