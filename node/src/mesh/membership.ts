// Who is in the mesh: every node announces itself on a NATS subject at a
// fixed interval, and a node not heard from for `expireMs` is gone. Core
// NATS is enough (a heartbeat is worth nothing once stale), and a node that
// comes back simply announces itself again.

import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";

/** How often a node announces itself unless told otherwise; a member is gone after three missed heartbeats. */
export const DEFAULT_HEARTBEAT_MS = 1_000;

export interface MembershipOptions {
  nc: NatsConnection;
  /** The cluster's subject namespace. */
  namespace: string;
  /** This node's id, unique in the mesh. */
  nodeId: string;
  heartbeatMs?: number;
  /** A member not heard from for this long has left (default 3 heartbeats). */
  expireMs?: number;
  logger?: Logger;
  /** Called whenever the set of live members changes. */
  onChange?: (members: readonly string[]) => void;
}

export class Membership {
  private readonly lastSeen = new Map<string, number>();
  private readonly heartbeatMs: number;
  private readonly expireMs: number;
  private readonly subject: string;
  private sub?: Subscription;
  private timer?: NodeJS.Timeout;
  private current: readonly string[] = [];

  constructor(private readonly options: MembershipOptions) {
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.expireMs = options.expireMs ?? 3 * this.heartbeatMs;
    this.subject = `${options.namespace}.mesh.heartbeat`;
    this.current = [options.nodeId];
  }

  /** The live members, sorted, this node always included. */
  members(): readonly string[] {
    return this.current;
  }

  async start(): Promise<void> {
    this.sub = this.options.nc.subscribe(this.subject, {
      callback: (err, msg) => {
        if (err) return;
        const id = msg.string();
        if (id.length > 0) this.seen(id);
      },
    });
    this.beat();
    // Hear the others' first heartbeats before deciding what this node owns.
    await this.options.nc.flush();
    this.timer = setInterval(() => this.beat(), this.heartbeatMs);
    this.timer.unref();
    const { nodeId, logger } = this.options;
    logger?.info(
      { nodeId, heartbeatMs: this.heartbeatMs, expireMs: this.expireMs },
      `joined the mesh as ${nodeId}: a heartbeat every ${this.heartbeatMs} ms; a node silent for ${this.expireMs} ms has left and its partitions move`,
    );
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.sub?.unsubscribe();
  }

  private beat(): void {
    try {
      this.options.nc.publish(this.subject, this.options.nodeId);
    } catch {
      // Closed or reconnecting: the next beat goes out when NATS is back.
    }
    this.seen(this.options.nodeId);
  }

  private seen(id: string): void {
    const now = Date.now();
    this.lastSeen.set(id, now);
    for (const [member, at] of this.lastSeen) if (now - at > this.expireMs && member !== this.options.nodeId) this.lastSeen.delete(member);
    const next = [...this.lastSeen.keys()].sort();
    if (next.length !== this.current.length || next.some((m, i) => m !== this.current[i])) {
      const before = this.current;
      this.current = next;
      this.options.logger?.info({ members: next, before }, "mesh membership changed");
      this.options.onChange?.(next);
    }
  }
}
