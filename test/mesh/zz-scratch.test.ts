import { it } from "vitest";
import { JetStreamStore } from "@resonate-mesh/node/store";
import { startNatsCluster } from "../support/nats-cluster.ts";
import pino from "pino";

it("scratch: view after a server dies", async () => {
  const cluster = await startNatsCluster(3);
  const logger = pino({ level: "info" });
  const store = await JetStreamStore.open({ servers: cluster.urls, replicas: 3, partitions: 2, namespace: "scr", logger } as any);
  let seen = 0;
  store.watch("p/", () => seen++);
  const commit = async (i: number) => {
    for (let t = 0; t < 40; t++) {
      try { await store.commit([{ key: `p/k${i}`, expectedRevision: 0, value: { id: `k${i}` } } as any]); return; }
      catch (e) { console.log("commit", i, String(e).slice(0, 150)); await new Promise(r => setTimeout(r, 500)); }
    }
  };
  for (let i = 0; i < 10; i++) await commit(i);
  console.log("seen before", seen);
  await cluster.servers[0]!.crash();
  const t = Date.now();
  for (let i = 10; i < 20; i++) await commit(i);
  console.log("committed after kill in", Date.now() - t);
  for (let k = 0; k < 30 && seen < 20; k++) await new Promise(r => setTimeout(r, 1000));
  console.log("seen after", seen, "after", Date.now() - t);
  await store.close();
  await cluster.stop();
}, 200_000);
