// The JetStream engine's reads on a real nats-server: `getMany` fresh (one
// batched direct get per partition) and cached (the local view, plus this
// store's own writes the view has not applied yet), and `list` scoped to the
// partition of a prefix that names a call tree.

import { describe, expect, it } from "vitest";
import { useNats } from "../../../test/support/use-nats.ts";
import { waitFor } from "../../../test/support/wait.ts";
import { partitionOf } from "../../src/protocol/keys.ts";
import { JetStreamStore, type JetStreamStoreOptions } from "../../src/store/jetstream.ts";

const nats = useNats();

let namespaces = 0;
function open(options: Partial<JetStreamStoreOptions> = {}): Promise<JetStreamStore> {
  return JetStreamStore.open({ servers: nats.url, namespace: `r${++namespaces}`, partitions: 4, ...options });
}

/** Ids whose call trees fall in two different partitions of four. */
function idsInTwoPartitions(): [string, string] {
  const first = "tree-a";
  for (let i = 0; ; i++) {
    const other = `tree-${i}`;
    if (partitionOf(`p/${other}`, 4) !== partitionOf(`p/${first}`, 4)) return [first, other];
  }
}

describe("jetstream getMany, fresh", () => {
  it("answers in the order asked, across partitions, with absent and deleted keys undefined", async () => {
    const store = await open();
    try {
      const [a, b] = idsInTwoPartitions();
      const ra = await store.create(`p/${a}`, { v: "a" });
      const rb = await store.create(`p/${b}.1`, { v: "b" });
      const rd = await store.create(`p/${a}.gone`, { v: "d" });
      await store.commit([{ key: `p/${a}.gone`, value: null, expectedRevision: rd }]);
      const got = await store.getMany([`p/${b}.1`, `p/${a}.missing`, `p/${a}`, `p/${a}.gone`]);
      expect(got).toEqual([
        { key: `p/${b}.1`, value: { v: "b" }, revision: rb },
        undefined,
        { key: `p/${a}`, value: { v: "a" }, revision: ra },
        undefined,
      ]);
    } finally {
      await store.close();
    }
  });

  it("asks JetStream once per partition, however many keys of it are read", async () => {
    const store = await open();
    try {
      const [a, b] = idsInTwoPartitions();
      const keys = [`p/${a}`, `t/${a}`, `p/${a}.1`, `p/${a}.2`, `p/${b}`, `t/${b}`];
      for (const key of keys) await store.create(key, { key });
      const before = store.stats().reads;
      const got = await store.getMany(keys);
      expect(got.map((e) => e?.value)).toEqual(keys.map((key) => ({ key })));
      expect(store.stats().reads - before).toBe(2);
    } finally {
      await store.close();
    }
  });
});

describe("jetstream getMany, cached", () => {
  it("sees this store's own acknowledged writes at once, without a round trip", async () => {
    const store = await open();
    try {
      const before = store.stats().reads;
      const created = await store.create("p/own", { v: 1 });
      expect(await store.getMany(["p/own"], { cached: true })).toEqual([{ key: "p/own", value: { v: 1 }, revision: created }]);
      const updated = await store.update("p/own", { v: 2 }, created);
      expect(await store.getMany(["p/own"], { cached: true })).toEqual([{ key: "p/own", value: { v: 2 }, revision: updated }]);
      await store.commit([{ key: "p/own", value: null, expectedRevision: updated }]);
      expect(await store.getMany(["p/own"], { cached: true })).toEqual([undefined]);
      expect(store.stats().reads).toBe(before);
    } finally {
      await store.close();
    }
  });

  it("sees another store's writes once its view has applied them", async () => {
    const a = await open();
    const b = await JetStreamStore.open({ servers: nats.url, namespace: `r${namespaces}`, partitions: 4 });
    try {
      const revision = await a.create("p/theirs", { v: 1 });
      const seen = await waitFor("b's view to apply a's write", async () => (await b.getMany(["p/theirs"], { cached: true }))[0], 20_000, 10);
      expect(seen).toEqual({ key: "p/theirs", value: { v: 1 }, revision });
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe("jetstream list", () => {
  it("lists a call tree's records including this store's writes committed just before", async () => {
    const store = await open();
    try {
      for (let i = 0; i < 5; i++) await store.create(`p/wf.${i}`, { i });
      await store.create("p/wf:x", { i: "x" });
      const listed = await store.list({ prefix: "p/wf." });
      expect(listed.map((e) => e.key)).toEqual(["p/wf.0", "p/wf.1", "p/wf.2", "p/wf.3", "p/wf.4"]);
    } finally {
      await store.close();
    }
  });
});
