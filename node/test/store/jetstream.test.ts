// The store contract on a real nats-server (one per file), with one and with
// four partitions, and what only the JetStream engine has: its cluster
// metadata, tombstones, subjects, and its refusals.

import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { startNats } from "../../../test/support/nats.ts";
import { useNats } from "../../../test/support/use-nats.ts";
import { StoreRefusedError, StoreUnavailableError } from "../../src/store/errors.ts";
import { JetStreamStore, versionAtLeast, type JetStreamStoreOptions } from "../../src/store/jetstream.ts";
import { ConflictError } from "../../src/store/types.ts";
import { outboxKey, promiseKey, receiptKey } from "../../src/protocol/keys.ts";
import { storeContract } from "./contract.ts";

const nats = useNats();

let namespaces = 0;
/** A store of its own cluster (namespace) on the shared server. */
function open(options: Partial<JetStreamStoreOptions> = {}): Promise<JetStreamStore> {
  return JetStreamStore.open({ servers: nats.url, namespace: `c${++namespaces}`, ...options });
}
/** Another store of the cluster the last open() made (another node). */
function openAgain(options: Partial<JetStreamStoreOptions> = {}): Promise<JetStreamStore> {
  return JetStreamStore.open({ servers: nats.url, namespace: `c${namespaces}`, ...options });
}

storeContract("jetstream (1 partition)", () => open({ partitions: 1 }));
storeContract("jetstream (4 partitions)", () => open({ partitions: 4 }));

describe("jetstream store specifics", () => {
  it("a second store on the cluster sees the first one's records, by get and by list", async () => {
    const a = await open({ partitions: 4 });
    const b = await openAgain({ partitions: 4 });
    try {
      const revision = await a.create("p/x.1", { v: 1 });
      expect(await b.get("p/x.1")).toEqual({ key: "p/x.1", value: { v: 1 }, revision });
      const reopened = await openAgain({ partitions: 4 });
      expect((await reopened.list({ prefix: "p/" })).map((e) => e.key)).toEqual(["p/x.1"]);
      await reopened.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a node started with another partition count refuses with a sentence naming both counts", async () => {
    const a = await open({ partitions: 4 });
    try {
      const err = await openAgain({ partitions: 8 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreRefusedError);
      expect((err as StoreRefusedError).code).toBe("PARTITION_MISMATCH");
      expect((err as Error).message).toMatch(/created with 4 partitions.*started with 8.*--partitions 4/);
    } finally {
      await a.close();
    }
  });

  it("a promise and its task are one subject: writing both is one message, not an atomic batch", async () => {
    const store = await open({ partitions: 4 });
    try {
      expect(store.locate("t/wf.1").subject).toBe(store.locate("p/wf.1").subject);
      const r1 = await store.create("p/wf.1", { promise: 1 });
      await store.commit([
        { key: "p/wf.1", value: { promise: 2 }, expectedRevision: r1 },
        { key: "t/wf.1", value: { task: 1 }, expectedRevision: 0 },
      ]);
      const [p, t] = await store.getMany(["p/wf.1", "t/wf.1"]);
      expect(p?.revision).toBe(r1 + 1);
      expect(t).toEqual({ key: "t/wf.1", value: { task: 1 }, revision: r1 + 1 });
      const jsm = await jetstreamManager(store.connection);
      const info = await jsm.streams.info(store.locate("p/wf.1").stream);
      expect(info.state.messages).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("a store whose view has not seen another's write to a promise creates its task all the same, and its stale update of the promise conflicts", async () => {
    const a = await open({ partitions: 4 });
    const b = await openAgain({ partitions: 4 });
    try {
      const r1 = await a.create("p/shared", { promise: 1 });
      const seen = await b.get("p/shared");
      await a.update("p/shared", { promise: 2 }, r1);
      // Whether or not b's view has caught up: a refusal against an older unit goes again against the unit as it is.
      await b.commit([{ key: "t/shared", value: { task: 1 }, expectedRevision: 0 }]);
      expect((await a.get("p/shared"))?.value).toEqual({ promise: 2 });
      expect((await a.get("t/shared"))?.value).toEqual({ task: 1 });
      await expect(b.update("p/shared", { promise: 3 }, seen!.revision)).rejects.toBeInstanceOf(ConflictError);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a cluster whose metadata names no layout (made before the promise and its task shared a message) is refused, naming both layouts", async () => {
    const namespace = `c${++namespaces}`;
    const a = await JetStreamStore.open({ servers: nats.url, namespace, partitions: 1 });
    const meta = `${namespace.toUpperCase()}_META`;
    const jsm = await jetstreamManager(a.connection);
    const m = await jsm.direct.getMessage(meta, { last_by_subj: `${namespace}.meta.cluster` });
    const { layout: _, ...older } = m!.json<Record<string, unknown>>();
    await a.connection.request(`${namespace}.meta.cluster`, JSON.stringify(older));
    await a.close();
    const err = await JetStreamStore.open({ servers: nats.url, namespace, partitions: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreRefusedError);
    expect((err as StoreRefusedError).code).toBe("LAYOUT_MISMATCH");
    expect((err as Error).message).toMatch(/stores records in layout 1 and this node in layout 2.*another --nats-namespace/);
  });

  it("ids with any character are stored and listed under their own key", async () => {
    const store = await open({ partitions: 4 });
    try {
      const ids = ["a.b:c", "star*", "gt>", "with space", "ünï😀", "", "a.*.>"];
      for (const id of ids) await store.create(`p/${id}`, { id });
      for (const id of ids) expect((await store.get(`p/${id}`))?.value).toEqual({ id });
      expect((await store.list({ prefix: "p/" })).map((e) => e.key).sort()).toEqual(ids.map((id) => `p/${id}`).sort());
    } finally {
      await store.close();
    }
  });

  it("a key deleted by another store can be created again by this one (the tombstone is learned from the refusal)", async () => {
    const a = await open({ partitions: 1 });
    const b = await openAgain({ partitions: 1 });
    try {
      const r = await a.create("s/x", { v: 1 });
      await a.commit([{ key: "s/x", value: null, expectedRevision: r }]);
      await b.create("s/x", { v: 2 });
      expect((await a.get("s/x"))?.value).toEqual({ v: 2 });
      await expect(a.create("s/x", { v: 3 })).rejects.toBeInstanceOf(ConflictError);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a commit that spans partitions is refused before anything is written (effects across partitions go through the outbox)", async () => {
    const store = await open({ partitions: 4 });
    try {
      // Roots chosen to land in different partitions.
      const roots = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"];
      const byPartition = new Map<number, string>();
      for (const r of roots) byPartition.set(store.locate(`p/${r}`).partition, r);
      const [x, y] = [...byPartition.values()];
      await expect(
        store.commit([
          { key: `p/${x}`, value: { v: 1 }, expectedRevision: 0 },
          { key: `p/${y}`, value: { v: 2 }, expectedRevision: 0 },
        ]),
      ).rejects.toThrow(/spans partitions .*outbox/);
      expect(await store.get(`p/${x}`)).toBeUndefined();
      expect(await store.get(`p/${y}`)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it("outbox entries live in their cause's partition and receipts in their target's, read back under their keys", async () => {
    const store = await open({ partitions: 4 });
    try {
      const entry = outboxKey(3, "cause.root", "n1-0");
      const receipt = receiptKey(entry);
      expect(store.locate(entry).partition).toBe(store.locate(promiseKey("cause.root")).partition);
      expect(store.locate(receipt).partition).toBe(3);
      await store.commit([
        { key: promiseKey("cause.root"), value: { v: 1 }, expectedRevision: 0 },
        { key: entry, value: { e: 1 }, expectedRevision: 0 },
      ]);
      await store.create(receipt, { r: 1 });
      expect((await store.get(entry))?.value).toEqual({ e: 1 });
      expect((await store.list({ prefix: "o/" })).map((e) => e.key)).toEqual([entry]);
      expect((await store.list({ prefix: "r/" })).map((e) => e.key)).toEqual([receipt]);
      expect((await store.list({ prefix: "p/" })).map((e) => e.key)).toEqual([promiseKey("cause.root")]);
    } finally {
      await store.close();
    }
  });

  it("a change this store commits reaches its watchers as soon as a reader asks for it (deliverChanges, sync)", async () => {
    const store = await open({ partitions: 4 });
    try {
      const seen: string[] = [];
      const unwatch = store.watch("p/", (change) => seen.push(`${change.key}@${change.revision}`));
      const created = await store.create("p/own.1", { v: 1 });
      store.deliverChanges();
      expect(seen).toEqual([`p/own.1@${created}`]);
      const updated = await store.update("p/own.1", { v: 2 }, created);
      await store.sync();
      expect(seen).toEqual([`p/own.1@${created}`, `p/own.1@${updated}`]);
      unwatch();
    } finally {
      await store.close();
    }
  });

  it("a change this store commits reaches its watchers unasked within two turns of the event loop", async () => {
    const store = await open({ partitions: 4 });
    try {
      const seen: string[] = [];
      const unwatch = store.watch("p/", (change) => seen.push(`${change.key}@${change.revision}`));
      const created = await store.create("p/own.2", { v: 1 });
      for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(seen).toEqual([`p/own.2@${created}`]);
      unwatch();
    } finally {
      await store.close();
    }
  });

  it("a commit to a partition whose stream is gone fails at once as unavailable, saying no stream takes it", async () => {
    const store = await open({ partitions: 1, timeoutMs: 60_000 });
    const admin = await jetstreamManager(store.connection);
    try {
      await admin.streams.delete(`C${namespaces}_P0`);
      const err = await store.create("p/orphan", { v: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toMatch(/no JetStream stream takes .*pt\.orphan.*no responders/);
    } finally {
      await store.close();
    }
  });

  it("a commit JetStream does not answer within timeoutMs fails as unavailable, its outcome unknown", async () => {
    const own = await startNats();
    const store = await JetStreamStore.open({ servers: own.url, namespace: "silent", partitions: 1, timeoutMs: 1_000 });
    try {
      await own.crash();
      const err = await store.create("p/unanswered", { v: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toMatch(/outcome is unknown.*no answer within 1000 ms/);
    } finally {
      // Back where the store reconnects, so it closes cleanly.
      const again = await startNats({ port: own.port, storeDir: own.storeDir });
      await store.close();
      await again.stop();
    }
  }, 30_000);

  it("a server without JetStream is refused as unavailable with a sentence saying to enable it", async () => {
    const plain = await startNats({ jetstream: false });
    try {
      const err = await JetStreamStore.open({ servers: plain.url, timeoutMs: 2_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).message).toMatch(/JetStream is not enabled.*-js/);
    } finally {
      await plain.stop();
    }
  });

  it("an unreachable server is unavailable, naming the address", async () => {
    const err = await JetStreamStore.open({ servers: "nats://127.0.0.1:1", timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/cannot connect to NATS at nats:\/\/127.0.0.1:1/);
  });

  it("bad options are refused before connecting", async () => {
    await expect(JetStreamStore.open({ servers: nats.url, partitions: 0 })).rejects.toThrow(/partitions must be a whole number from 1/);
    await expect(JetStreamStore.open({ servers: nats.url, replicas: 2 as 1 })).rejects.toThrow(/replicas must be 1 or 3, got 2/);
  });

  it("server versions before 2.12 are too old", () => {
    expect(versionAtLeast("2.14.9", "2.12.0")).toBe(true);
    expect(versionAtLeast("2.12.0", "2.12.0")).toBe(true);
    expect(versionAtLeast("2.11.9", "2.12.0")).toBe(false);
    expect(versionAtLeast("2.9.10", "2.12.0")).toBe(false);
    expect(versionAtLeast("unknown", "2.12.0")).toBe(false);
  });
});
