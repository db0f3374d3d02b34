// Serves promise.search, task.search and schedule.search from a store listing
// in key (= id) order, with the protocol's filters and views. An id filter
// narrows the listing to its literal prefix; everything else is a scan of the
// kind's keys, read in pages and stopped as soon as a page is full.

import type { ProtocolConfig } from "../protocol/config.ts";
import {
  idListPrefix,
  matchPromise,
  matchSchedule,
  matchTask,
  page,
  projectPromise,
  publicTask,
  searchLimit,
} from "../protocol/search.ts";
import type {
  PromiseRecord,
  Request,
  RequestOf,
  Response,
  ScheduleRecord,
  StoredPromise,
  StoredTask,
  TaskRecord,
} from "../protocol/types.ts";
import type { Entry, Store } from "../store/types.ts";
import type { IndexPage, SearchView } from "./search-view.ts";
import { KEY_PREFIX, promiseKey } from "../protocol/keys.ts";

export type SearchRequest = RequestOf<"promise.search" | "task.search" | "schedule.search">;

export function isSearch(request: Request): request is SearchRequest {
  return request.kind === "promise.search" || request.kind === "task.search" || request.kind === "schedule.search";
}

/** Candidates a search walks at most per request (it then answers a short page with a cursor). */
function maxScan(limit: number): number {
  return Math.max(2_000, 20 * (limit + 1));
}

/** Answer a (validated) search request; from the indexes of `view` when it is loaded. */
export async function search(
  store: Store,
  request: SearchRequest,
  now: number,
  _config: ProtocolConfig,
  view?: SearchView,
): Promise<Response> {
  // The indexes as of every change this node has made, its own latest commits included.
  if (view?.isReady) store.deliverChanges?.();
  if (view?.isReady && request.kind === "promise.search") {
    const { data } = request;
    const limit = searchLimit(data.limit);
    const found = view.promises.query({ state: data.state, tags: data.tags, id: data.id, cursor: data.cursor || undefined, limit, now }, maxScan(limit));
    const records = await readPage(store, KEY_PREFIX.promise, found, limit);
    const promises = records
      .map((v) => projectPromise(v as StoredPromise, now))
      .filter((p) => matchPromise(p, { state: data.state, tags: data.tags, id: data.id }));
    return { kind: request.kind, status: 200, data: withCursor({ promises }, cursorOf(found, limit)) };
  }
  if (view?.isReady && request.kind === "schedule.search") {
    const { data } = request;
    const limit = searchLimit(data.limit);
    const found = view.schedules.query({ tags: data.tags, id: data.id, cursor: data.cursor || undefined, limit, now }, maxScan(limit));
    const records = await readPage(store, KEY_PREFIX.schedule, found, limit);
    const schedules = (records as ScheduleRecord[]).filter((s) => matchSchedule(s, { tags: data.tags, id: data.id }));
    return { kind: request.kind, status: 200, data: withCursor({ schedules }, cursorOf(found, limit)) };
  }
  switch (request.kind) {
    case "promise.search": {
      const { data } = request;
      const found = await collect<PromiseRecord>(store, KEY_PREFIX.promise, data.id, data.cursor, searchLimit(data.limit), async (entries) =>
        entries
          .map((e) => projectPromise(e.value as StoredPromise, now))
          .filter((p) => matchPromise(p, { state: data.state, tags: data.tags, id: data.id })),
      );
      const { items, cursor } = page(found, searchLimit(data.limit));
      return { kind: request.kind, status: 200, data: withCursor({ promises: items }, cursor) };
    }
    case "task.search": {
      const { data } = request;
      const found = await collect<TaskRecord>(store, KEY_PREFIX.task, data.id, data.cursor, searchLimit(data.limit), async (entries) => {
        // A task's effective state depends on its promise (settled means fulfilled).
        const promises = await Promise.all(entries.map((e) => store.get(promiseKey((e.value as StoredTask).id))));
        return entries
          .map((e, i) => publicTask(e.value as StoredTask, promises[i]?.value as StoredPromise | undefined, now))
          .filter((t) => matchTask(t, { state: data.state, id: data.id }));
      });
      const { items, cursor } = page(found, searchLimit(data.limit));
      return { kind: request.kind, status: 200, data: withCursor({ tasks: items }, cursor) };
    }
    case "schedule.search": {
      const { data } = request;
      const found = await collect<ScheduleRecord>(store, KEY_PREFIX.schedule, data.id, data.cursor, searchLimit(data.limit), async (entries) =>
        entries.map((e) => e.value as ScheduleRecord).filter((s) => matchSchedule(s, { tags: data.tags, id: data.id })),
      );
      const { items, cursor } = page(found, searchLimit(data.limit));
      return { kind: request.kind, status: 200, data: withCursor({ schedules: items }, cursor) };
    }
  }
}

/**
 * Up to `limit + 1` matches after `cursor`, in id order: the extra one tells
 * the page that more follow.
 */
async function collect<T>(
  store: Store,
  kindPrefix: string,
  idPattern: string | undefined,
  cursor: string | undefined,
  limit: number,
  select: (entries: Entry[]) => Promise<T[]>,
): Promise<T[]> {
  const prefix = kindPrefix + idListPrefix(idPattern);
  const chunk = Math.min(1000, Math.max(64, (limit + 1) * 2));
  const out: T[] = [];
  let after = cursor === undefined || cursor === "" ? undefined : kindPrefix + cursor;
  for (;;) {
    const entries = await store.list({ prefix, after, limit: chunk });
    for (const match of await select(entries)) {
      out.push(match);
      if (out.length > limit) return out;
    }
    if (entries.length < chunk) return out;
    after = entries[entries.length - 1]!.key;
  }
}

/** The records of a page's ids (at most `limit`), read now (a record removed meanwhile is left out). */
async function readPage(store: Store, kindPrefix: string, found: IndexPage, limit: number): Promise<unknown[]> {
  const entries = await Promise.all(found.ids.slice(0, limit).map((id) => store.get(kindPrefix + id)));
  return entries.flatMap((e) => (e === undefined ? [] : [e.value]));
}

/** More follow when the page overflowed, or when the walk stopped at its bound. */
function cursorOf(found: IndexPage, limit: number): string | undefined {
  if (found.ids.length > limit) return found.ids[limit - 1];
  return found.stoppedAfter;
}

function withCursor<D extends object>(data: D, cursor: string | undefined): D & { cursor?: string } {
  return cursor === undefined ? data : { ...data, cursor };
}
