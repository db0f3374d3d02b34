// Indexes that serve promise.search and schedule.search without scanning the
// store on the request path: ids in order, per stored state and per tag
// (key=value), kept as a view of the store (an initial listing, then its
// watch), so every engine feeds it the same way. A query walks the smallest
// candidate index from the cursor and checks each candidate against the
// view; the walk stops after a bounded number of candidates (a short page
// with a cursor), so a search costs work proportional to its page, not to
// the number of records.

import type { Logger } from "pino";
import { isPastTimeout, timeoutState } from "../protocol/records.ts";
import { idListPrefix, matchId } from "../protocol/search.ts";
import type { PromiseRecord, PromiseState, ScheduleRecord, StoredTask } from "../protocol/types.ts";
import type { Change, Store } from "../store/types.ts";
import { mergeOrdered, SortedIds } from "./sorted-ids.ts";
import { StateCounts } from "./state-counts.ts";
import { KEY_PREFIX } from "../protocol/keys.ts";

interface Indexed {
  state?: PromiseState;
  timeoutAt?: number;
  tags: Record<string, string>;
}

export interface IndexQuery {
  /** Promises only: the state as clients see it (lazy timeouts count). */
  state?: PromiseState;
  tags?: Record<string, string>;
  /** An id prefix or glob. */
  id?: string;
  cursor?: string;
  limit: number;
  now: number;
}

export interface IndexPage {
  /** Matching ids, in order, at most limit + 1 (the extra one says more follow). */
  ids: string[];
  /** Set when the walk stopped at its bound before filling the page: continue after this id. */
  stoppedAfter?: string;
}

/** One kind of record (promises or schedules) and its indexes. */
class RecordIndex {
  readonly records = new Map<string, Indexed>();
  readonly all = new SortedIds();
  readonly byState = new Map<string, SortedIds>();
  readonly byTag = new Map<string, SortedIds>();

  put(id: string, next: Indexed | undefined): void {
    const prev = this.records.get(id);
    if (prev !== undefined) {
      if (prev.state !== undefined) this.byState.get(prev.state)?.delete(id);
      for (const [k, v] of Object.entries(prev.tags)) this.byTag.get(tagKey(k, v))?.delete(id);
    }
    if (next === undefined) {
      this.records.delete(id);
      this.all.delete(id);
      return;
    }
    this.records.set(id, next);
    this.all.add(id);
    if (next.state !== undefined) set(this.byState, next.state).add(id);
    for (const [k, v] of Object.entries(next.tags)) set(this.byTag, tagKey(k, v)).add(id);
  }

  query(q: IndexQuery, maxScan: number): IndexPage {
    const prefix = idListPrefix(q.id);
    const after = maxString(q.cursor, prefix === "" ? undefined : beforePrefix(prefix));
    const candidates = this.candidates(q, after);
    const ids: string[] = [];
    let scanned = 0;
    for (const id of candidates) {
      if (prefix !== "" && !id.startsWith(prefix)) {
        if (id > prefix) break; // past the prefix range
        continue;
      }
      const r = this.records.get(id);
      if (r !== undefined && this.matches(id, r, q)) {
        ids.push(id);
        if (ids.length > q.limit) return { ids };
      }
      if (++scanned >= maxScan) return { ids, stoppedAfter: id };
    }
    return { ids };
  }

  /** The smallest index that holds every match, from `after` on. */
  private candidates(q: IndexQuery, after: string | undefined): Iterable<string> {
    let best: { size: number; ids: () => Iterable<string> } = { size: this.all.size, ids: () => this.all.from(after) };
    for (const [k, v] of Object.entries(q.tags ?? {})) {
      const ids = this.byTag.get(tagKey(k, v));
      if (ids === undefined) return [];
      if (ids.size < best.size) best = { size: ids.size, ids: () => ids.from(after) };
    }
    if (q.state !== undefined) {
      const stored = this.byState.get(q.state) ?? new SortedIds();
      // Timed-out states also hold pending promises past their deadline (lazy timeouts).
      const pending = q.state === "rejected_timedout" || q.state === "resolved" ? this.byState.get("pending") : undefined;
      const size = stored.size + (pending?.size ?? 0);
      if (size < best.size) {
        best = {
          size,
          ids: () => (pending === undefined ? stored.from(after) : mergeOrdered(stored.from(after), pending.from(after))),
        };
      }
    }
    return best.ids();
  }

  private matches(id: string, r: Indexed, q: IndexQuery): boolean {
    if (q.state !== undefined) {
      const state = r.state === "pending" && isPastTimeout({ state: "pending", timeoutAt: r.timeoutAt } as PromiseRecord, q.now) ? timeoutState(r) : r.state;
      if (state !== q.state) return false;
    }
    for (const [k, v] of Object.entries(q.tags ?? {})) if (r.tags[k] !== v) return false;
    return matchId(id, q.id);
  }
}

export class SearchView {
  readonly promises = new RecordIndex();
  readonly schedules = new RecordIndex();
  /** Tasks per state, for /metrics (tasks are not searched, so no index). */
  readonly tasks = new StateCounts();
  private ready = false;
  private readonly revisions = new Map<string, number>();
  private unwatch: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly logger?: Logger,
  ) {}

  /** Follow the store, then load what it holds (changes seen meanwhile win by revision). */
  async start(): Promise<void> {
    const unwatchP = this.store.watch(KEY_PREFIX.promise, (c) => this.apply(c));
    const unwatchS = this.store.watch(KEY_PREFIX.schedule, (c) => this.apply(c));
    const unwatchT = this.store.watch(KEY_PREFIX.task, (c) => this.apply(c));
    this.unwatch = () => {
      unwatchP();
      unwatchS();
      unwatchT();
    };
    for (const prefix of [KEY_PREFIX.promise, KEY_PREFIX.schedule, KEY_PREFIX.task]) {
      let after: string | undefined;
      for (;;) {
        if (this.stopped) return;
        let entries;
        try {
          entries = await this.store.list({ prefix, after, limit: 5_000 });
        } catch (err) {
          // The node stopped (and its store closed) while the indexes were loading: nothing to serve.
          if (this.stopped) return;
          throw err;
        }
        for (const e of entries) this.apply({ key: e.key, value: e.value, revision: e.revision }, true);
        if (entries.length < 5_000) break;
        after = entries[entries.length - 1]!.key;
        await new Promise((r) => setImmediate(r));
      }
    }
    this.ready = true;
    this.logger?.debug({ promises: this.promises.records.size, schedules: this.schedules.records.size }, "search indexes loaded");
  }

  /** Stored promises per stored state (a pending promise past its timeout counts as pending until the timer settles it). */
  promiseStates(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [state, ids] of this.promises.byState) counts[state] = ids.size;
    return counts;
  }

  get isReady(): boolean {
    return this.ready;
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.ready = false;
  }

  private apply(change: Change, fromListing = false): void {
    const known = this.revisions.get(change.key);
    if (fromListing && known !== undefined && known >= change.revision) return;
    if (change.value === null) this.revisions.delete(change.key);
    else this.revisions.set(change.key, change.revision);
    if (change.key.startsWith(KEY_PREFIX.task)) {
      this.tasks.set(change.key, (change.value as StoredTask | null)?.state);
      return;
    }
    const id = change.key.slice(2);
    if (change.key.startsWith(KEY_PREFIX.promise)) {
      const p = change.value as PromiseRecord | null;
      this.promises.put(id, p === null ? undefined : { state: p.state, timeoutAt: p.timeoutAt, tags: p.tags ?? {} });
    } else {
      const s = change.value as ScheduleRecord | null;
      this.schedules.put(id, s === null ? undefined : { tags: s.promiseTags ?? {} });
    }
  }
}

function tagKey(k: string, v: string): string {
  return `${k}\u0000${v}`;
}

function set(map: Map<string, SortedIds>, key: string): SortedIds {
  let s = map.get(key);
  if (s === undefined) map.set(key, (s = new SortedIds()));
  return s;
}

/** The greatest string below every id that starts with `prefix` (so iteration "after" it starts at the prefix). */
function beforePrefix(prefix: string): string | undefined {
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last === 0) return prefix.slice(0, -1);
  return prefix.slice(0, -1) + String.fromCharCode(last - 1) + "\uffff";
}

function maxString(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}
