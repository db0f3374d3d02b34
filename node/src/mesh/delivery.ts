// Dispatch across the mesh: an `execute` or `unblock` made on any node
// reaches a worker attached to any other, over NATS subjects. A node with
// workers of a group listens on the group's subject in a queue group (one
// node takes each message, for `any`), and on a subject per attached pid (for
// `uni` and for the preferred pid of `any@group/pid`). A message goes to a
// local worker when there is one, else to the pid's subject, else to the
// group's; nobody answering, it waits here. A node where a worker attaches
// says so on the mesh, and every other node hands it what waits there for
// that worker's group, so the work does not wait for the owner's retry timer
// (which still sends it again if this fails). Duplicates are harmless:
// acquire is version-fenced.

import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { parseAddress } from "../protocol/address.ts";
import { encodeToken } from "../protocol/keys.ts";
import type { Message } from "../protocol/types.ts";
import type { Dispatcher } from "./dispatcher.ts";

export interface MeshDeliveryOptions {
  nc: NatsConnection;
  namespace: string;
  logger?: Logger;
  /** How long a forward waits for the receiving node's answer (ms). */
  timeoutMs?: number;
}

export interface MeshDeliveryStats {
  /** Handed to another node's worker. */
  forwarded: number;
  /** Received from another node for a worker here. */
  received: number;
}

export class MeshDelivery {
  private dispatcher?: Dispatcher;
  /** Attached workers per subject, and the subscription held while there are any. */
  private readonly listening = new Map<string, { count: number; sub: Subscription }>();
  private readonly counters: MeshDeliveryStats = { forwarded: 0, received: 0 };
  private readonly timeoutMs: number;
  /** This node's announcements of attached workers, told apart from the others'. */
  private readonly instance = Math.random().toString(36).slice(2);
  private readonly attachedSub: Subscription;

  constructor(private readonly options: MeshDeliveryOptions) {
    this.timeoutMs = options.timeoutMs ?? 2_000;
    this.attachedSub = options.nc.subscribe(this.attachedSubject(), {
      callback: (err, msg) => {
        if (err || this.dispatcher === undefined) return;
        let announced: { instance?: string; group?: string; pid?: string };
        try {
          announced = msg.json();
        } catch {
          return;
        }
        if (announced.instance === this.instance || typeof announced.group !== "string" || typeof announced.pid !== "string") return;
        // What waits here for that group goes to the node it attached to (or waits here again).
        this.sendAll(this.dispatcher.takeParked(announced.group, announced.pid));
      },
    });
  }

  /** The node's local dispatcher (set once, by the node that uses this). */
  bind(dispatcher: Dispatcher): void {
    this.dispatcher = dispatcher;
  }

  stats(): MeshDeliveryStats {
    return { ...this.counters };
  }

  /** A worker attached here: listen for its group and pid; returns the detach. */
  attach(group: string, pid: string): () => void {
    const releases = [this.listen(this.groupSubject(group), true), this.listen(this.pidSubject(group, pid), false)];
    // After the subscriptions: on one connection the server sees them first, so a node that hears this can forward.
    try {
      this.options.nc.publish(this.attachedSubject(), JSON.stringify({ instance: this.instance, group, pid }));
    } catch {
      // Reconnecting: the work parked elsewhere comes with the owner's retry instead.
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const release of releases) release();
    };
  }

  sendAll(messages: readonly Message[]): void {
    for (const m of messages) {
      void this.route(m).catch((err: unknown) => {
        this.options.logger?.warn({ err, address: m.address }, "forwarding failed; the message waits here");
        this.local().send(m);
      });
    }
  }

  stop(): void {
    this.attachedSub.unsubscribe();
    for (const { sub } of this.listening.values()) sub.unsubscribe();
    this.listening.clear();
  }

  // ------------------------------------------------------------ internals

  private async route(message: Message): Promise<void> {
    const local = this.local();
    const address = parseAddress(message.address);
    if (typeof address === "string" || address.scheme !== "poll") {
      local.send(message);
      return;
    }
    if (address.pid !== undefined) {
      if (local.reaches(address.group, address.pid)) {
        local.send(message);
        return;
      }
      if (await this.forward(this.pidSubject(address.group, address.pid), message)) return;
      if (address.mode === "uni") {
        local.send(message);
        return;
      }
    }
    if (local.reaches(address.group)) {
      local.send(message);
      return;
    }
    if (await this.forward(this.groupSubject(address.group), message)) return;
    // Nobody listens: it waits here (a worker may attach), and the retry timer sends it again.
    local.send(message);
  }

  /** True when a node took it for a worker of its own. */
  private async forward(subject: string, message: Message): Promise<boolean> {
    try {
      const reply = await this.options.nc.request(subject, JSON.stringify(message), { timeout: this.timeoutMs });
      if (reply.string() !== "sent") return false;
      this.counters.forwarded++;
      return true;
    } catch {
      // No responders (nobody attached) or no answer in time.
      return false;
    }
  }

  private listen(subject: string, queue: boolean): () => void {
    let entry = this.listening.get(subject);
    if (entry === undefined) {
      const sub = this.options.nc.subscribe(subject, {
        ...(queue ? { queue: subject } : {}),
        callback: (err, msg) => {
          if (err) return;
          let message: Message;
          try {
            message = msg.json<Message>();
          } catch {
            msg.respond("invalid");
            return;
          }
          this.counters.received++;
          // Delivered here or, if the worker just left, waiting here for the next one.
          msg.respond(this.local().send(message));
        },
      });
      this.listening.set(subject, (entry = { count: 0, sub }));
    }
    entry.count++;
    return () => {
      const e = this.listening.get(subject);
      if (e === undefined || --e.count > 0) return;
      e.sub.unsubscribe();
      this.listening.delete(subject);
    };
  }

  private attachedSubject(): string {
    return `${this.options.namespace}.deliver.attached`;
  }

  private groupSubject(group: string): string {
    return `${this.options.namespace}.deliver.g.${encodeToken(group)}`;
  }

  private pidSubject(group: string, pid: string): string {
    return `${this.options.namespace}.deliver.p.${encodeToken(group)}.${encodeToken(pid)}`;
  }

  private local(): Dispatcher {
    if (this.dispatcher === undefined) throw new Error("mesh delivery used before a dispatcher was bound");
    return this.dispatcher;
  }
}
