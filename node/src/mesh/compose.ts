// The one place a node's parts are built and wired together: driver,
// dispatcher, timer loop, search view, retention, outbox relay and memory
// budget, and in a mesh of several nodes the membership, the partition
// ownership and the delivery across nodes. `startNode` (start.ts) calls it
// for the CLI, the container image, the tests' servers and the cluster; the
// SDK's local mode and tests that want a node over a store in this process
// call it through `createMeshNode`. `MeshNode` only uses what it is handed.

import type { Logger } from "pino";
import { resolveConfig, type ProtocolConfig } from "../protocol/config.ts";
import type { Message } from "../protocol/types.ts";
import { JetStreamStore } from "../store/jetstream.ts";
import type { Store } from "../store/types.ts";
import { systemClock, type Clock } from "./clock.ts";
import { MeshDelivery } from "./delivery.ts";
import { Dispatcher } from "./dispatcher.ts";
import { Driver } from "./driver.ts";
import { resolveNodeLimits, type NodeLimits } from "./limits.ts";
import { MemoryBudget } from "./memory.ts";
import { Membership } from "./membership.ts";
import { MeshNode, type MeshTelemetry } from "./node.ts";
import { OutboxRelay } from "./outbox.ts";
import { ownsKey, partitionsOwnedBy } from "./ownership.ts";
import { Retention } from "./retention.ts";
import { SearchView } from "./search-view.ts";
import { TimerLoop } from "./timers.ts";

export interface MeshNodeOptions {
  store: Store;
  clock?: Clock;
  protocol?: Partial<ProtocolConfig>;
  /** Longest sleep of the timer loop (ms). */
  timerPollMs?: number;
  /** What the node holds and accepts (mesh/limits.ts; defaults there). */
  limits?: Partial<NodeLimits>;
  logger?: Logger;
  /**
   * Join the mesh of the nodes that share this JetStream store's cluster:
   * heartbeats, the partitions this node owns (it runs their timers), and
   * dispatch across nodes. Without it the node owns every partition and
   * dispatches to its own workers only.
   */
  mesh?: MeshMembershipOptions;
  /** Fault injection for tests that kill a node at a chosen point (see FaultHooks). */
  faults?: FaultHooks;
}

/** Points where a crash test's node kills itself; never set in production. */
export interface FaultHooks {
  /** After a commit that left outbox entries, before this node applies them (mesh/outbox.ts). */
  beforeOutboxApply?: () => void;
}

export interface MeshMembershipOptions {
  /** This node's id, unique in the mesh. */
  nodeId: string;
  heartbeatMs?: number;
  /** A member not heard from for this long has left. */
  expireMs?: number;
}

export interface ComposedNode {
  readonly node: MeshNode;
  /** In a mesh: who is in it, as this node sees it. */
  readonly membership?: Membership;
  /** Announce this node to the mesh and hear the others before it decides what it owns (nothing to do outside a mesh). */
  join(): Promise<void>;
  /** Stop the node, then leave the mesh. The store stays open: its owner closes it. */
  stop(): Promise<void>;
}

export function composeNode(options: MeshNodeOptions): ComposedNode {
  const { store, logger } = options;
  const clock = options.clock ?? systemClock;
  const config = resolveConfig(options.protocol);
  const limits = resolveNodeLimits(options.limits);

  const mesh = options.mesh === undefined ? undefined : meshParts(store, options.mesh, logger);
  const owns = mesh?.owns;

  const driver = new Driver({ store, clock, config });
  const dispatcher = new Dispatcher({
    clock,
    logger,
    // It must outlive the retry interval, which parks a fresh one for every task still pending.
    parkedExecuteTtlMs: Math.max(limits.parkedExecuteTtlMs, 4 * config.retryIntervalMs),
    maxOutstanding: limits.maxOutstandingPerWorker,
    stallMs: limits.workerStallMs,
  });
  mesh?.delivery.bind(dispatcher);
  // Every message a commit, a timer or the relay makes goes here: to this node's workers, or across the mesh.
  const send = (messages: readonly Message[]): void => {
    if (messages.length === 0) return;
    if (mesh !== undefined) mesh.delivery.sendAll(messages);
    else dispatcher.sendAll(messages);
  };

  let outbox: OutboxRelay | undefined;
  if (driver.partitions > 1) {
    const relay = new OutboxRelay({ store, driver, config, send, owns, logger, clock, beforeApplyNow: options.faults?.beforeOutboxApply });
    driver.applyOutbox = (entries) => relay.applyNow(entries);
    outbox = relay;
  }

  const node = new MeshNode({
    store,
    clock,
    config,
    limits,
    logger,
    driver,
    dispatcher,
    send,
    delivery: mesh?.delivery,
    timers: new TimerLoop({ store, driver, dispatcher: { sendAll: send }, owns, clock, config, logger, pollMs: options.timerPollMs }),
    view: new SearchView(store, logger),
    memory: new MemoryBudget(limits.memoryBudgetBytes > 0 ? limits.memoryBudgetBytes : MemoryBudget.defaultBudgetBytes()),
    retention: limits.retentionMs > 0 ? new Retention({ store, clock, retentionMs: limits.retentionMs, logger }) : undefined,
    outbox,
    mesh: mesh?.telemetry,
  });

  return {
    node,
    membership: mesh?.membership,
    join: async () => {
      await mesh?.membership.start();
    },
    stop: async () => {
      await node.stop();
      mesh?.delivery.stop();
      await mesh?.membership.stop();
    },
  };
}

/** Membership, ownership and delivery over the NATS connection of a JetStream store. */
function meshParts(store: Store, options: MeshMembershipOptions, logger: Logger | undefined) {
  if (!(store instanceof JetStreamStore)) throw new Error(`a mesh of several nodes needs the jetstream store; this node's store is "${store.name}"`);
  const { nodeId, heartbeatMs, expireMs } = options;
  const { partitions } = store;
  // Alone (before it hears the others) a node owns every partition; log only what changes from there.
  let owned = partitionsOwnedBy(nodeId, partitions, [nodeId]);
  const onChange = (members: readonly string[]) => {
    const next = partitionsOwnedBy(nodeId, partitions, members);
    if (next.length === owned.length && next.every((p, i) => p === owned[i])) return;
    owned = next;
    logger?.info({ owned, partitions, members: members.length }, `this node now owns ${owned.length} of ${partitions} partitions`);
  };
  const membership = new Membership({ nc: store.connection, namespace: store.namespace, nodeId, heartbeatMs, expireMs, logger, onChange });
  return {
    membership,
    delivery: new MeshDelivery({ nc: store.connection, namespace: store.namespace, logger }),
    owns: (key: string) => ownsKey(key, partitions, nodeId, membership.members()),
    // `owned` follows every change of the members (onChange), so a scrape need not recompute it.
    telemetry: (): MeshTelemetry => ({ members: membership.members().length, partitions, owned }),
  };
}

/** A node over `store` in this process, outside any mesh: the SDK's local mode, and tests. Start and stop it yourself. */
export function createMeshNode(options: Omit<MeshNodeOptions, "mesh">): MeshNode {
  return composeNode(options).node;
}
