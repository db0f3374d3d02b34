// Watch streams learn of settlements the way any client does: as a listener.
// One in-process worker per server (a private group and a random pid) takes
// every `unblock` for Watch streams and fans it out by promise id, so a
// stream that goes away leaves nothing behind: the listener address stays
// connected for the server's whole life and unblocks nobody waits for are
// simply dropped.

import { randomUUID } from "node:crypto";
import type { Engine, Subscription } from "../../mesh/engine.ts";
import type { PromiseRecord } from "../../protocol/types.ts";

/** Groups starting with this are the server's own; workers may not poll them. */
export const RESERVED_GROUP_PREFIX = "__";
const WATCH_GROUP = "__watch__";

type Watcher = (promise: PromiseRecord) => void;

export class WatchHub {
  /** The listener address every Watch stream of this server registers. */
  readonly address: string;
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly subscription: Subscription;

  constructor(engine: Engine) {
    const pid = randomUUID().replaceAll("-", "");
    this.address = `poll://uni@${WATCH_GROUP}/${pid}`;
    this.subscription = engine.poll(WATCH_GROUP, pid, {
      send: (message) => {
        if (message.kind === "unblock") {
          for (const watcher of [...(this.watchers.get(message.promise.id) ?? [])]) watcher(message.promise);
        }
        return true;
      },
    });
  }

  /** Call `onSettled` when promise `id` settles; returns the unsubscribe. */
  watch(id: string, onSettled: Watcher): () => void {
    let set = this.watchers.get(id);
    if (set === undefined) this.watchers.set(id, (set = new Set()));
    set.add(onSettled);
    return () => {
      set.delete(onSettled);
      if (set.size === 0 && this.watchers.get(id) === set) this.watchers.delete(id);
    };
  }

  get watching(): number {
    return this.watchers.size;
  }

  close(): void {
    this.subscription.close();
    this.watchers.clear();
  }
}
