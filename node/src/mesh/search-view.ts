// Indexes that serve promise.search and schedule.search without scanning the
// store on the request path: records in id order, per stored state and per
// tag value (see RecordIndex for how they stay small), kept as a view of the store (an initial listing, then its
// watch), so every engine feeds it the same way. A query walks the smallest
// candidate index from the cursor and checks each candidate against the
// view; the walk stops after a bounded number of candidates (a short page
// with a cursor), so a search costs work proportional to its page, not to
// the number of records.

import type { Logger } from "pino";
import { isPastTimeout, timeoutState } from "../protocol/records.ts";
import { idListPrefix, matchId } from "../protocol/search.ts";
import { Tag, type PromiseRecord, type PromiseState, type ScheduleRecord, type StoredTask } from "../protocol/types.ts";
import type { Change, Store } from "../store/types.ts";
import { membersOf, mergeOrdered, postingAdd, postingDelete, postingFrom, postingSize, SortedSlots, type Posting } from "./sorted-ids.ts";
import { NO_STATE, StateCounts } from "./state-counts.ts";
import { KEY_PREFIX } from "../protocol/keys.ts";
import { TASK_STATES } from "../protocol/validate.ts";

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

/** What follows a parent's id in its children's ids (our SDK: `.`, the official TypeScript SDK 0.11.5: `:`). */
const CHILD_SEPARATORS = [".", ":"] as const;
/** A query counts a value's children up to this many to pick its smallest candidate index. */
const MAX_CHILDREN_COUNTED = 1_024;

/** Stored states by code; 0 is "no state" (schedules). */
const STATES: readonly (PromiseState | undefined)[] = [undefined, "pending", "resolved", "rejected", "rejected_canceled", "rejected_timedout"];
const STATE_CODE: ReadonlyMap<string, number> = new Map(STATES.flatMap((s, i) => (s === undefined ? [] : [[s, i] as const])));

/**
 * The tags of records, interned: a record holds the number of its tag set.
 * A value equal to the record's own id is kept as SELF, and one equal to its
 * parent's id (the id up to its last `.` or `:`) as PARENT, so the tag sets
 * of records that differ only there are one set: every SDK root's
 * (`resonate:origin` and `resonate:branch` are its id) and every workflow's
 * steps' (origin, parent and branch are the workflow's id) share one each.
 * A set also lists its members, which is what a tag value found in no other
 * set points to instead of a posting of its own (the workflow id in a
 * step's origin, parent and branch: one list for the three).
 */
const SELF = null;
const PARENT = undefined;
/** A tag value as a set keeps it: the value, or SELF / PARENT (no posting: found by the record's key). */
type SetValue = string | typeof SELF | typeof PARENT;

class TagSet {
  refs = 0;
  members: Posting | undefined;
  constructor(
    readonly hash: number,
    readonly entries: readonly SetValue[],
  ) {}
}

/** Length of the parent id of `id` (up to its last `.` or `:`); -1 for a root. */
function parentLength(id: string): number {
  return Math.max(id.lastIndexOf("."), id.lastIndexOf(":"));
}

class TagSets {
  private readonly sets: (TagSet | undefined)[] = [];
  /** By hash of the entries: one set, or the few that share a hash. */
  private readonly byHash = new Map<number, number | number[]>();
  private readonly free: number[] = [];

  /** The number of the set of `tags` (with a reference taken). */
  intern(tags: Record<string, string>, id: string): number {
    const keys = Object.keys(tags);
    const entries = new Array<SetValue>(2 * keys.length);
    const parent = parentLength(id);
    let hash = 0x811c9dc5;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = tags[k]!;
      entries[2 * i] = k;
      if (v === id) {
        entries[2 * i + 1] = SELF;
        hash = fnv(fnv(hash, k), "") ^ 1;
      } else if (v.length === parent && id.startsWith(v)) {
        entries[2 * i + 1] = PARENT;
        hash = fnv(fnv(hash, k), "") ^ 3;
      } else {
        entries[2 * i + 1] = v;
        hash = fnv(fnv(hash, k), v) ^ 2;
      }
    }
    const found = this.byHash.get(hash);
    for (const n of found === undefined ? [] : typeof found === "number" ? [found] : found) {
      if (sameEntries(this.sets[n]!.entries, entries)) {
        this.sets[n]!.refs++;
        return n;
      }
    }
    const n = this.free.pop() ?? this.sets.length;
    const set = new TagSet(hash, entries);
    set.refs = 1;
    this.sets[n] = set;
    this.byHash.set(hash, found === undefined ? n : typeof found === "number" ? [found, n] : [...found, n]);
    return n;
  }

  /** Drop a reference to set `n`; the set is forgotten with its last one. */
  release(n: number): void {
    const set = this.sets[n]!;
    if (--set.refs > 0) return;
    const found = this.byHash.get(set.hash)!;
    if (typeof found === "number" || found.length === 1) this.byHash.delete(set.hash);
    else {
      const rest = found.filter((m) => m !== n);
      this.byHash.set(set.hash, rest.length === 1 ? rest[0]! : rest);
    }
    this.sets[n] = undefined;
    this.free.push(n);
  }

  get(n: number): TagSet {
    return this.sets[n]!;
  }
}

function fnv(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ 0xff, 0x01000193) >>> 0;
}

function sameEntries(a: readonly SetValue[], b: readonly SetValue[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Where the records with one tag value are, by value: the one tag set that
 * has the value (under one key or several: a step's origin, parent and
 * branch), or, once several sets have it, a posting per key.
 */
type ByValue = TagSet | Map<string, Posting>;

/**
 * One kind of record (promises or schedules) and its indexes. Each indexed
 * record has a slot (a small integer, reused after removal); per slot the
 * index keeps the record's store key (shared with the store), its stored
 * state, deadline and tag set in flat arrays, and postings (per state, per
 * tag value) list slots in key order. A tag value equal to the record's own
 * id gets no posting: the record is found by its id.
 */
class RecordIndex {
  private readonly keys: (string | undefined)[] = [];
  private states = new Uint8Array(64);
  private timeouts = new Float64Array(64);
  private tagSetOf = new Int32Array(64);
  /** Per slot, the state code of the record's task (StateCounts; promises only): counted without a map per task. */
  private taskStates = new Uint8Array(64);
  private readonly free: number[] = [];
  /** The slot last put: a task's change usually follows its promise's in the same commit. */
  private lastKey: string | undefined;
  private lastSlot = 0;
  private readonly tagSets = new TagSets();
  private readonly keyOf = (slot: number): string => this.keys[slot]!;
  /** Every record, in key order; also how a key finds its slot (a binary search costs less memory than a Map). */
  private readonly all = new SortedSlots(this.keyOf);
  private readonly byState: SortedSlots[] = STATES.map(() => new SortedSlots(this.keyOf));
  private readonly byValue = new Map<string, ByValue>();

  /** `prefix`: the store key prefix of this kind (a record's key is prefix + id). */
  constructor(private readonly prefix: string) {}

  get size(): number {
    return this.all.size;
  }

  /** Records per stored state. */
  stateCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    STATES.forEach((state, i) => {
      if (state !== undefined) counts[state] = this.byState[i]!.size;
    });
    return counts;
  }

  /** The slot of the record at `key`, if indexed. */
  slotOf(key: string): number | undefined {
    return key === this.lastKey ? this.lastSlot : this.all.find(key);
  }

  /** The state code of the task of the record in `slot` (NO_STATE: none seen). */
  taskState(slot: number): number {
    return this.taskStates[slot]!;
  }

  setTaskState(slot: number, code: number): void {
    this.taskStates[slot] = code;
  }

  put(key: string, next: Indexed | undefined): void {
    let slot = this.slotOf(key);
    if (slot !== undefined) this.unindex(slot);
    if (next === undefined) {
      if (slot !== undefined) {
        this.all.delete(slot);
        this.keys[slot] = undefined;
        this.taskStates[slot] = NO_STATE;
        this.free.push(slot);
        if (this.lastKey === key) this.lastKey = undefined;
      }
      return;
    }
    if (slot === undefined) {
      slot = this.free.pop() ?? this.keys.length;
      this.keys[slot] = key;
      this.reserve(slot);
      this.all.add(slot);
    }
    this.lastKey = key;
    this.lastSlot = slot;
    const id = key.slice(this.prefix.length);
    const state = next.state === undefined ? 0 : STATE_CODE.get(next.state)!;
    this.states[slot] = state;
    this.timeouts[slot] = next.timeoutAt ?? NaN;
    const n = this.tagSets.intern(next.tags, id);
    this.tagSetOf[slot] = n;
    this.byState[state]!.add(slot);
    const set = this.tagSets.get(n);
    set.members = postingAdd(set.members, slot, this.keyOf);
    const { entries } = set;
    for (let i = 0; i < entries.length; i += 2) {
      const v = entries[i + 1]!;
      if (typeof v === "string") this.addPosting(entries[i] as string, v, slot, set);
    }
  }

  private unindex(slot: number): void {
    this.byState[this.states[slot]!]!.delete(slot);
    const n = this.tagSetOf[slot]!;
    const set = this.tagSets.get(n);
    set.members = postingDelete(set.members, slot, this.keyOf);
    const { entries } = set;
    for (let i = 0; i < entries.length; i += 2) {
      const v = entries[i + 1]!;
      if (typeof v === "string") this.deletePosting(entries[i] as string, v, slot, set);
    }
    this.tagSets.release(n);
  }

  private reserve(slot: number): void {
    if (slot < this.states.length) return;
    const size = Math.max(slot + 1, Math.ceil(this.states.length * 1.5));
    const grow = <A extends Uint8Array | Float64Array | Int32Array>(a: A, make: (n: number) => A): A => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.states = grow(this.states, (n) => new Uint8Array(n));
    this.timeouts = grow(this.timeouts, (n) => new Float64Array(n));
    this.tagSetOf = grow(this.tagSetOf, (n) => new Int32Array(n));
    this.taskStates = grow(this.taskStates, (n) => new Uint8Array(n));
  }

  /** Index `slot`, just added to `set`, under tag k = v (one of the set's). */
  private addPosting(k: string, v: string, slot: number, set: TagSet): void {
    const found = this.byValue.get(v);
    if (found === set) return; // the set's member list already has it
    if (found === undefined) {
      this.byValue.set(v, set);
      return;
    }
    if (found instanceof TagSet) {
      // A second set has the value: from now on a posting per key, with the members of both.
      const perKey = new Map<string, Posting>();
      for (const other of [found, set]) {
        for (let i = 0; i < other.entries.length; i += 2) {
          if (other.entries[i + 1] !== v) continue;
          const key = other.entries[i] as string;
          let posting = perKey.get(key);
          for (const member of membersOf(other.members)) posting = postingAdd(posting, member, this.keyOf);
          perKey.set(key, posting!);
        }
      }
      this.byValue.set(v, perKey);
      return;
    }
    const before = found.get(k);
    const after = postingAdd(before, slot, this.keyOf);
    if (after !== before) found.set(k, after);
  }

  /** Unindex `slot`, just removed from `set`, under tag k = v. */
  private deletePosting(k: string, v: string, slot: number, set: TagSet): void {
    const found = this.byValue.get(v);
    if (found === undefined) return;
    if (found instanceof TagSet) {
      if (found === set && set.members === undefined) this.byValue.delete(v);
      return;
    }
    const before = found.get(k);
    const after = postingDelete(before, slot, this.keyOf);
    if (after === undefined) found.delete(k);
    else if (after !== before) found.set(k, after);
    if (found.size === 0) this.byValue.delete(v);
  }

  /** The slots with tag k = v, except those whose set keeps it as SELF or PARENT. */
  private posting(k: string, v: string): Posting | undefined {
    const found = this.byValue.get(v);
    if (!(found instanceof TagSet)) return found?.get(k);
    for (let i = 0; i < found.entries.length; i += 2) if (found.entries[i] === k && found.entries[i + 1] === v) return found.members;
    return undefined;
  }

  /** The value of tag `k` of the record in `slot`, if it has one. */
  private tag(slot: number, k: string): string | undefined {
    const { entries } = this.tagSets.get(this.tagSetOf[slot]!);
    for (let i = 0; i < entries.length; i += 2) {
      if (entries[i] !== k) continue;
      const v = entries[i + 1];
      if (typeof v === "string") return v;
      const id = this.keys[slot]!.slice(this.prefix.length);
      return v === SELF ? id : id.slice(0, parentLength(id));
    }
    return undefined;
  }

  query(q: IndexQuery, maxScan: number): IndexPage {
    const idPrefix = this.prefix + idListPrefix(q.id);
    const after = maxString(q.cursor === undefined ? undefined : this.prefix + q.cursor, beforePrefix(idPrefix));
    const candidates = this.candidates(q, after);
    const ids: string[] = [];
    let scanned = 0;
    let previous = -1;
    for (const slot of candidates) {
      if (slot === previous) continue;
      previous = slot;
      const key = this.keys[slot]!;
      if (!key.startsWith(idPrefix)) {
        if (key > idPrefix) break; // past the prefix range
        continue;
      }
      const id = key.slice(this.prefix.length);
      if (this.matches(slot, id, q)) {
        ids.push(id);
        if (ids.length > q.limit) return { ids };
      }
      if (++scanned >= maxScan) return { ids, stoppedAfter: id };
    }
    return { ids };
  }

  /** The smallest index that holds every match, from key `after` on. */
  private candidates(q: IndexQuery, after: string | undefined): Iterable<number> {
    let best: { size: number; slots: () => Iterator<number> } = { size: this.size, slots: () => this.all.from(after) };
    for (const [k, v] of Object.entries(q.tags ?? {})) {
      const posting = this.posting(k, v);
      // The record whose own id is the value, when its tag says so (SELF values have no posting).
      const selfSlot = this.all.find(this.prefix + v);
      const self = selfSlot !== undefined && this.tag(selfSlot, k) === v && (after === undefined || this.keys[selfSlot]! > after) ? selfSlot : undefined;
      // The children of the record whose id is the value (PARENT values have no posting either): counted up to a bound.
      const childPrefixes = CHILD_SEPARATORS.map((sep) => this.prefix + v + sep);
      let children = 0;
      for (const prefix of childPrefixes) children += this.countRange(prefix, after, MAX_CHILDREN_COUNTED - children);
      const size = postingSize(posting) + (self === undefined ? 0 : 1) + children;
      if (size === 0) return [];
      if (size < best.size) {
        best = {
          size,
          slots: () => {
            // The record whose own id is the value has no posting for it; a descendant in a child range may also be
            // in the posting (a grandchild's origin): the walk skips the repeat, which comes next in key order.
            const streams: Iterator<number>[] = [postingFrom(posting, after, this.keyOf)];
            if (self !== undefined) streams.push([self][Symbol.iterator]());
            if (children > 0) for (const prefix of childPrefixes) streams.push(this.range(prefix, after));
            return mergeOrdered(streams, this.keyOf);
          },
        };
      }
    }
    if (q.state !== undefined) {
      const stored = this.byState[STATE_CODE.get(q.state)!]!;
      // Timed-out states also hold pending promises past their deadline (lazy timeouts).
      const pending = q.state === "rejected_timedout" || q.state === "resolved" ? this.byState[STATE_CODE.get("pending")!] : undefined;
      const size = stored.size + (pending?.size ?? 0);
      if (size < best.size) {
        best = {
          size,
          slots: () => (pending === undefined ? stored.from(after) : mergeOrdered([stored.from(after), pending.from(after)], this.keyOf)),
        };
      }
    }
    return { [Symbol.iterator]: best.slots };
  }

  /** Slots whose key starts with `prefix`, strictly after `after`, in key order. */
  private *range(prefix: string, after: string | undefined): Generator<number> {
    for (const slot of this.all.from(maxString(after, beforePrefix(prefix)))) {
      if (!this.keys[slot]!.startsWith(prefix)) return;
      yield slot;
    }
  }

  /** How many slots `range(prefix, after)` yields, counted up to `cap`. */
  private countRange(prefix: string, after: string | undefined, cap: number): number {
    let n = 0;
    if (cap <= 0) return 0;
    for (const _ of this.range(prefix, after)) if (++n >= cap) break;
    return n;
  }

  private matches(slot: number, id: string, q: IndexQuery): boolean {
    if (q.state !== undefined) {
      let state = STATES[this.states[slot]!];
      if (state === "pending" && isPastTimeout({ state, timeoutAt: this.timeouts[slot]! } as PromiseRecord, q.now)) {
        const timer = this.tag(slot, Tag.timer);
        state = timeoutState({ tags: timer === undefined ? {} : { [Tag.timer]: timer } });
      }
      if (state !== q.state) return false;
    }
    for (const [k, v] of Object.entries(q.tags ?? {})) if (this.tag(slot, k) !== v) return false;
    return matchId(id, q.id);
  }
}

export class SearchView {
  readonly promises = new RecordIndex(KEY_PREFIX.promise);
  readonly schedules = new RecordIndex(KEY_PREFIX.schedule);
  /** Tasks per state, for /metrics (tasks are not searched, so no index: each task's state is a byte of its promise's slot). */
  readonly tasks = new StateCounts(TASK_STATES);
  /**
   * The state codes of tasks whose promise the view does not hold: a commit
   * may list a task before its promise, and a removal may delete the promise
   * first. Empty between such changes.
   */
  private readonly unplacedTasks = new Map<string, number>();
  private ready = false;
  /** While loading only: the revision each key was last indexed at, so the listing never undoes a newer change. */
  private revisions: Map<string, number> | undefined = new Map();
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
    // From here on only the watch feeds the indexes, in order.
    this.revisions = undefined;
    this.logger?.debug({ promises: this.promises.size, schedules: this.schedules.size }, "search indexes loaded");
  }

  /** Stored promises per stored state (a pending promise past its timeout counts as pending until the timer settles it). */
  promiseStates(): Record<string, number> {
    return this.promises.stateCounts();
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
    if (this.revisions !== undefined) {
      const known = this.revisions.get(change.key);
      if (fromListing && known !== undefined && known >= change.revision) return;
      // A deletion stays recorded too, so a listing page read before it cannot bring the record back.
      this.revisions.set(change.key, change.revision);
    }
    if (change.key.startsWith(KEY_PREFIX.task)) {
      this.applyTask(change.key.slice(KEY_PREFIX.task.length), (change.value as StoredTask | null)?.state);
      return;
    }
    if (change.key.startsWith(KEY_PREFIX.promise)) {
      const p = change.value as PromiseRecord | null;
      if (p === null) {
        // Its task, if any, is still counted until its own removal arrives.
        const slot = this.promises.slotOf(change.key);
        const task = slot === undefined ? NO_STATE : this.promises.taskState(slot);
        if (task !== NO_STATE) this.unplacedTasks.set(change.key.slice(KEY_PREFIX.promise.length), task);
        this.promises.put(change.key, undefined);
        return;
      }
      this.promises.put(change.key, { state: p.state, timeoutAt: p.timeoutAt, tags: p.tags ?? {} });
      if (this.unplacedTasks.size > 0) {
        const id = change.key.slice(KEY_PREFIX.promise.length);
        const task = this.unplacedTasks.get(id);
        if (task !== undefined) {
          this.unplacedTasks.delete(id);
          this.promises.setTaskState(this.promises.slotOf(change.key)!, task);
        }
      }
    } else {
      const s = change.value as ScheduleRecord | null;
      this.schedules.put(change.key, s === null ? undefined : { tags: s.promiseTags ?? {} });
    }
  }

  /** Task `id` is now in `state` (undefined: removed): counted from the state its promise's slot recorded. */
  private applyTask(id: string, state: string | undefined): void {
    const to = this.tasks.code(state);
    const slot = this.promises.slotOf(KEY_PREFIX.promise + id);
    let from: number;
    if (slot === undefined) {
      from = this.unplacedTasks.get(id) ?? NO_STATE;
      if (to === NO_STATE) this.unplacedTasks.delete(id);
      else this.unplacedTasks.set(id, to);
    } else {
      from = this.promises.taskState(slot);
      this.promises.setTaskState(slot, to);
    }
    this.tasks.move(from, to);
  }
}

/** The greatest string below every id that starts with `prefix` (so iteration "after" it starts at the prefix). */
function beforePrefix(prefix: string): string | undefined {
  if (prefix === "") return undefined;
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last === 0) return prefix.slice(0, -1);
  return prefix.slice(0, -1) + String.fromCharCode(last - 1) + "\uffff";
}

function maxString(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}
