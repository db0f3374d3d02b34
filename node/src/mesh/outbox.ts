// Applies outbox entries (protocol/outbox.ts): the effects one partition's
// commit left for another. Two paths, one rule:
// - right after a commit, the node that made it applies its entries before
//   answering (the driver calls `applyNow`), so a client sees the effect as
//   it would with one partition;
// - the owner of the target partition applies whatever is left: entries it
//   sees appear in the change feed (after a grace period, leaving the first
//   path its chance) and everything found by a scan at start-up and every
//   `scanMs` (which is how a new owner picks up a dead node's entries).
// Applying is a compare-and-set transition of the target partition that
// writes a receipt which must not exist yet, so racing appliers apply once.
// Then the entry is deleted. The receipt stays until the target's owner's
// scan finds its entry gone and the receipt older than `receiptTtlMs`: an
// applier that read the entry just before it was deleted still finds the
// receipt (a deleted receipt would let it apply the effect a second time).

import type { Logger } from "pino";
import type { ProtocolConfig } from "../protocol/config.ts";
import { OUTBOX_PREFIX, RECEIPT_PREFIX, entryKeyOfReceipt, parseOutboxKey, promiseKey, receiptKey, taskKey } from "../protocol/keys.ts";
import { applyOutboxEntry, effectTarget, type OutboxEntry, type OutboxReceipt } from "../protocol/outbox.ts";
import type { Message } from "../protocol/types.ts";
import { ConflictError, type Entry, type Store } from "../store/types.ts";
import type { Clock } from "./clock.ts";
import type { Driver } from "./driver.ts";


export interface OutboxRelayOptions {
  store: Store;
  driver: Driver;
  config: ProtocolConfig;
  /** Where the messages of entries applied from the feed or a scan go (applyNow returns its own). */
  send: (messages: readonly Message[]) => void;
  /** Does this node own the partition of `key`? Asked of receipt keys, which live in the target partition. Default: all. */
  owns?: (key: string) => boolean;
  logger?: Logger;
  /** How often the owner looks for entries left over (ms). */
  scanMs?: number;
  /** How long an entry seen in the feed is left to the node that made it (ms). */
  graceMs?: number;
  /** How long a receipt outlives its entry (ms, by `clock`). */
  receiptTtlMs?: number;
  clock: Clock;
  /**
   * Fault injection for the crash tests (test/mesh/outbox-crash.test.ts):
   * called after a commit that left outbox entries, before they are applied,
   * which is the window the outbox exists for (the test's node kills itself there).
   */
  beforeApplyNow?: () => void;
}

/** What is known of an entry without reading it: its value, and its revision when it came from a listing or the feed. */
interface Known {
  value: OutboxEntry;
  revision?: number;
}

export interface OutboxStats {
  /** Entries whose effect this node applied. */
  applied: number;
  /** Entries this node found applied already (its receipt was there). */
  duplicates: number;
  /** Attempts that failed and were left for a later one. */
  failed: number;
}

export class OutboxRelay {
  private readonly store: Store;
  private readonly driver: Driver;
  private readonly options: OutboxRelayOptions;
  private readonly inflight = new Map<string, Promise<Message[]>>();
  /** Entries this node applied, with when (by the clock), so the feed's grace check needs no read for them. */
  private readonly appliedHere = new Map<string, number>();
  /** Deletions of applied entries not awaited by their caller. */
  private readonly background = new Set<Promise<unknown>>();
  private readonly waiting = new Map<string, NodeJS.Timeout>();
  private readonly counters: OutboxStats = { applied: 0, duplicates: 0, failed: 0 };
  private unwatch?: () => void;
  private scanner?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private stopped = false;

  constructor(options: OutboxRelayOptions) {
    this.store = options.store;
    this.driver = options.driver;
    this.options = options;
  }

  stats(): OutboxStats {
    return { ...this.counters };
  }

  /** Follow the feed and scan now and every `scanMs`. */
  async start(): Promise<void> {
    this.stopped = false;
    this.unwatch = this.store.watch(OUTBOX_PREFIX, (change) => {
      if (change.value !== null && this.owned(change.key)) this.later(change.key, { value: change.value as OutboxEntry, revision: change.revision });
    });
    await this.scan();
    const every = this.options.scanMs ?? 1_000;
    this.scanner = setInterval(() => void this.scan(), every);
    this.scanner.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    if (this.scanner !== undefined) clearInterval(this.scanner);
    for (const t of this.waiting.values()) clearTimeout(t);
    this.waiting.clear();
    await this.scanning;
    await Promise.allSettled([...this.inflight.values()]);
    await Promise.allSettled([...this.background]);
  }

  /**
   * Apply these entries now (the ones a commit of this node just made).
   * Resolves with the messages their effects send; an entry that fails is
   * logged and left to the target's owner.
   */
  async applyNow(entries: readonly { key: string; value: unknown }[]): Promise<Message[]> {
    if (entries.length === 0) return [];
    this.options.beforeApplyNow?.();
    // One after the other, in the order committed: applying one may cause effects of its own (a
    // callback finding its promise settled resumes the awaiter), and two chains racing over one
    // record would leave it in an order that depends on timing (its task's resumes, say).
    const out: Message[] = [];
    for (const entry of entries) out.push(...(await this.applyOneNow(entry)));
    return out;
  }

  private async applyOneNow({ key, value }: { key: string; value: unknown }): Promise<Message[]> {
    try {
      // The caller answers once the effect is applied; deleting the entry need not hold it up.
      return await this.apply(key, { value: value as OutboxEntry }, false);
    } catch (err) {
      this.counters.failed++;
      this.options.logger?.warn({ err, key }, "could not apply an outbox entry; the target partition's owner will");
      return [];
    }
  }

  /** Apply every entry of an owned partition, and drop receipts whose entry is gone. Resolves when done. */
  scan(): Promise<void> {
    this.scanning ??= this.scanOnce().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  // ------------------------------------------------------------ internals

  private async scanOnce(): Promise<void> {
    try {
      await this.store.sync();
      for (const entry of await this.listAll(OUTBOX_PREFIX)) {
        if (this.stopped) return;
        if (this.owned(entry.key)) await this.settleQuietly(entry.key, { value: entry.value as OutboxEntry, revision: entry.revision });
      }
      const ttl = this.options.receiptTtlMs ?? 300_000;
      for (const receipt of await this.listAll(RECEIPT_PREFIX)) {
        if (this.stopped) return;
        if (!this.owns(receipt.key)) continue;
        const { appliedAt } = receipt.value as OutboxReceipt;
        if (this.options.clock.now() - appliedAt < ttl) continue;
        // Its entry still there (an applier died before deleting it): the entry goes first, above, next time.
        if ((await this.store.get(entryKeyOfReceipt(receipt.key))) === undefined) await this.remove(receipt.key, receipt.revision);
      }
    } catch (err) {
      if (!this.stopped) this.options.logger?.warn({ err }, "outbox scan failed; the next one retries");
    }
  }

  private later(key: string, known: Known): void {
    if (this.waiting.has(key) || this.stopped) return;
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      // Applied here already (the usual case on the node that made it): nothing to do, nothing to read.
      if (this.appliedHere.delete(key)) return;
      // Most often the node that made it has applied and deleted it by now: the local copy tells
      // (without a round trip; if it is behind, applying again finds the receipt and changes nothing).
      void this.read(key, true)
        .then((now) => (now === undefined ? undefined : this.settleQuietly(key, known)))
        .catch(() => undefined);
    }, this.options.graceMs ?? 250);
    timer.unref();
    this.waiting.set(key, timer);
  }

  private async settleQuietly(key: string, known: Known): Promise<void> {
    try {
      const messages = await this.apply(key, known, true);
      if (messages.length > 0) this.options.send(messages);
    } catch (err) {
      this.counters.failed++;
      if (!this.stopped) this.options.logger?.warn({ err, key }, "could not apply an outbox entry; the next scan retries");
    }
  }

  /** One entry, once per process at a time. */
  private apply(key: string, known: Known, awaitDelete: boolean): Promise<Message[]> {
    let running = this.inflight.get(key);
    if (running === undefined) {
      running = this.applyEntry(key, known, awaitDelete).finally(() => this.inflight.delete(key));
      this.inflight.set(key, running);
    }
    return running;
  }

  // No read of the entry first: if it was applied already, by anyone, its
  // receipt is there (receipts outlive entries), and the transition finds it.
  private async applyEntry(key: string, known: Known, awaitDelete: boolean): Promise<Message[]> {
    const parsed = parseOutboxKey(key);
    if (parsed?.kind !== "entry") throw new Error(`not an outbox entry key: ${key}`);
    const entry = known.value;
    const target = effectTarget(entry.effect);
    let applied = false;
    const result = await this.driver.apply(
      (snapshot, now) => {
        const r = applyOutboxEntry(snapshot, key, entry, now, this.driver.partitions, this.options.config);
        applied = r.applied;
        return r;
      },
      // The receipt and the target's records, read in parallel.
      [receiptKey(key), promiseKey(target), taskKey(target)],
      target,
    );
    if (applied) this.counters.applied++;
    else this.counters.duplicates++;
    this.rememberApplied(key);
    const deleting = this.deleteEntry(key, known.revision);
    if (awaitDelete) await deleting;
    else this.track(deleting.catch((err: unknown) => this.options.logger?.warn({ err, key }, "could not delete an applied outbox entry; the owner's scan will")));
    return result.messages;
  }

  /** Kept for the grace check of the feed (later); entries older than a few grace periods are forgotten. */
  private rememberApplied(key: string): void {
    const now = this.options.clock.now();
    this.appliedHere.set(key, now);
    if (this.appliedHere.size < 1_000) return;
    const horizon = now - 4 * (this.options.graceMs ?? 250);
    for (const [k, at] of this.appliedHere) {
      if (at >= horizon) break; // in insertion order: the rest are newer
      this.appliedHere.delete(k);
    }
  }

  /** One key, from the store's local copy when `cached` and the store has one. */
  private async read(key: string, cached: boolean): Promise<Entry | undefined> {
    if (cached && this.store.getMany !== undefined) return (await this.store.getMany([key], { cached: true }))[0];
    return await this.store.get(key);
  }

  private async deleteEntry(key: string, revision: number | undefined): Promise<void> {
    if (revision === undefined) {
      // An entry this node just committed (applyNow): its local copy has it at its revision. Were
      // that behind, the delete conflicts and is left to the owner's scan, which finds the receipt.
      const current = await this.read(key, true);
      if (current === undefined) return;
      revision = current.revision;
    }
    await this.remove(key, revision);
  }

  private track(work: Promise<unknown>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /** Delete `key` if it is still at `revision` (someone else may have deleted it first). */
  private async remove(key: string, revision: number): Promise<void> {
    try {
      await this.store.commit([{ key, value: null, expectedRevision: revision }]);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }

  /** Is an entry (or receipt) key's target partition this node's? */
  private owned(entryKey: string): boolean {
    return this.owns(receiptKey(entryKey));
  }

  private owns(receipt: string): boolean {
    return this.options.owns === undefined || this.options.owns(receipt);
  }

  private async listAll(prefix: string): Promise<Entry[]> {
    const out: Entry[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.store.list({ prefix, after, limit: 1000 });
      out.push(...page);
      if (page.length < 1000) return out;
      after = page[page.length - 1]!.key;
    }
  }
}
