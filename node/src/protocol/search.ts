// Pure helpers with which an engine serves promise.search, task.search and
// schedule.search from a store listing ordered by id: the public view of each
// record, the filters, the limit and the page cursor.

import { defaultProtocolConfig } from "./config.ts";
import type { PromiseRecord, PromiseState, ScheduleRecord, TaskRecord, TaskState } from "./types.ts";

export { projectPromise, publicTask } from "./records.ts";

export interface PromiseFilter {
  state?: PromiseState;
  tags?: Record<string, string>;
  /** An id prefix, or a glob in which `*` matches any run of characters. */
  id?: string;
}

export interface TaskFilter {
  state?: TaskState;
  id?: string;
}

export interface ScheduleFilter {
  /** Matched against the tags of the promises the schedule creates. */
  tags?: Record<string, string>;
  id?: string;
}

/** Match on the view clients see (a projected promise, so lazy timeouts count). */
export function matchPromise(record: PromiseRecord, filter: PromiseFilter): boolean {
  if (filter.state !== undefined && record.state !== filter.state) return false;
  return matchTags(record.tags, filter.tags) && matchId(record.id, filter.id);
}

/** Match on the public task (effective state). */
export function matchTask(record: TaskRecord, filter: TaskFilter): boolean {
  if (filter.state !== undefined && record.state !== filter.state) return false;
  return matchId(record.id, filter.id);
}

export function matchSchedule(record: ScheduleRecord, filter: ScheduleFilter): boolean {
  return matchTags(record.promiseTags, filter.tags) && matchId(record.id, filter.id);
}

/** Every given tag present with exactly that value. */
export function matchTags(tags: Record<string, string>, wanted: Record<string, string> | undefined): boolean {
  if (wanted === undefined) return true;
  for (const [key, value] of Object.entries(wanted)) if (tags[key] !== value) return false;
  return true;
}

/** A pattern without `*` is a prefix; with `*` it is a glob over the whole id. */
export function matchId(id: string, pattern: string | undefined): boolean {
  if (pattern === undefined || pattern === "") return true;
  if (!pattern.includes("*")) return id.startsWith(pattern);
  return globMatch(id, pattern);
}

/**
 * The literal part before the first `*` (or the whole pattern): the key prefix
 * an engine can list to serve an id filter without scanning everything.
 */
export function idListPrefix(pattern: string | undefined): string {
  if (pattern === undefined) return "";
  const star = pattern.indexOf("*");
  return star === -1 ? pattern : pattern.slice(0, star);
}

function globMatch(text: string, pattern: string): boolean {
  const parts = pattern.split("*");
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!text.startsWith(first)) return false;
  let pos = first.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const at = text.indexOf(parts[i]!, pos);
    if (at === -1) return false;
    pos = at + parts[i]!.length;
  }
  return text.length - pos >= last.length && text.endsWith(last);
}

/** The page size of a (validated) search: the default when none is given. */
export function searchLimit(limit?: number): number {
  if (limit === undefined) return defaultProtocolConfig.defaultSearchLimit;
  return Math.min(Math.max(1, Math.floor(limit)), defaultProtocolConfig.maxSearchLimit);
}

/**
 * One page of matches ordered by id: pass up to `limit + 1` of them; the
 * cursor (the last id of the page) is given only when more follow.
 */
export function page<T extends { id: string }>(matches: T[], limit: number): { items: T[]; cursor?: string } {
  if (matches.length <= limit) return { items: matches };
  const items = matches.slice(0, limit);
  return { items, cursor: items[items.length - 1]!.id };
}
