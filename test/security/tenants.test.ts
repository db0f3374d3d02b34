// Two tenants on one node, kept apart by their tokens' prefixes: workers of
// tenant a (prefix "a/") and tenant b (prefix "b/") share one group name and
// run workflows with the same ids side by side through our SDK (`token` and
// `prefix` set, the workers through RESONATE_TOKEN and RESONATE_PREFIX).
// Each tenant's work runs only on its own workers, and neither sees nor
// touches the other's promises, search included.

import { Resonate } from "@resonate-mesh/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lines, tempFile } from "../support/files.ts";
import { stopAll, type Proc } from "../support/processes.ts";
import { startWorker } from "../sdk/harness.ts";
import { FAR, keyDir, keyPair, mint, startSecureNode, type SecureNode } from "./support.ts";

const ORDERS = ["order-1", "order-2", "order-3", "order-4"];

let node: SecureNode;
let admin: string;
const tenants: Record<"a" | "b", { token: string; client: Resonate; effects: string; worker?: Proc }> = {} as never;

beforeAll(async () => {
  const pair = keyPair(keyDir(), "EdDSA");
  node = await startSecureNode(pair.publicFile);
  admin = await mint(pair, { claims: { role: "admin" } });
  for (const name of ["a", "b"] as const) {
    const token = await mint(pair, { claims: { prefix: `${name}/` } });
    const effects = tempFile(`effects-${name}.txt`);
    const client = new Resonate({ url: node.url, token, prefix: `${name}/`, group: `clients-${name}` });
    tenants[name] = { token, client, effects };
  }
  // Both tenants' workers in the same group: routing, not the group name, keeps them apart.
  const [wa, wb] = await Promise.all(
    (["a", "b"] as const).map((name) =>
      startWorker(node.url, { GROUP: "workers", EFFECTS: tenants[name].effects, RESONATE_TOKEN: tenants[name].token, RESONATE_PREFIX: `${name}/` }),
    ),
  );
  tenants.a.worker = wa;
  tenants.b.worker = wb;
});

afterAll(async () => {
  await Promise.all([tenants.a?.client.stop(), tenants.b?.client.stop()]);
  await node?.stop();
  await stopAll();
});

describe("two tenants with the same workflow ids", () => {
  it("each run their own workflows side by side, with their own results", async () => {
    const results = await Promise.all(
      ORDERS.flatMap((id) => [
        tenants.a.client.rpc<string>(id, "pipeline", `apple-${id}`).target("workers"),
        tenants.b.client.rpc<string>(id, "pipeline", `banana-${id}`).target("workers"),
      ]),
    );
    expect(results).toEqual(ORDERS.flatMap((id) => [`charged apple-${id}; shipped apple-${id}`, `charged banana-${id}; shipped banana-${id}`]));
  });

  it("run each tenant's steps only on that tenant's worker", () => {
    for (const name of ["a", "b"] as const) {
      const steps = lines(tenants[name].effects).filter((l) => l.startsWith("charge "));
      expect(steps.length).toBeGreaterThanOrEqual(ORDERS.length);
      expect(steps.filter((l) => !l.startsWith(`charge ${name}/`))).toEqual([]);
    }
  });

  it("keep both records under their prefixes, as the admin sees", async () => {
    for (const id of ORDERS) {
      const a = await node.grpc({ kind: "promise.get", data: { id: `a/${id}` } }, admin);
      const b = await node.grpc({ kind: "promise.get", data: { id: `b/${id}` } }, admin);
      expect(a).toMatchObject({ status: 200, data: { promise: { state: "resolved" } } });
      expect(b).toMatchObject({ status: 200, data: { promise: { state: "resolved" } } });
    }
  });

  it("show each tenant only its own promises in a search", async () => {
    for (const name of ["a", "b"] as const) {
      const { promises } = await tenants[name].client.promises.search({ limit: 1000 });
      expect(promises.map((p) => p.id)).toEqual(expect.arrayContaining(ORDERS.map((id) => `${name}/${id}`)));
      expect(promises.filter((p) => !p.id.startsWith(`${name}/`))).toEqual([]);
    }
  });

  it("refuse a tenant's token any request on the other's ids", async () => {
    const theirs = "b/order-1";
    const requests = [
      { kind: "promise.get", data: { id: theirs } },
      { kind: "promise.settle", data: { id: theirs, state: "rejected_canceled" } },
      { kind: "promise.register_listener", data: { awaited: theirs, address: "poll://any@workers" } },
      { kind: "promise.search", data: { id: "b/" } },
      { kind: "task.get", data: { id: theirs } },
      { kind: "task.search", data: { id: "b/" } },
    ] as const;
    for (const request of requests) {
      expect(await node.grpc(request, tenants.a.token)).toMatchObject({ status: 403 });
      expect((await node.envelope(request, tenants.a.token)).status).toBe(403);
    }
    expect(await node.watch(theirs, tenants.a.token)).toMatchObject({ ok: false });
  });

  it("namespace the ids a client names, so a name the other tenant uses is not theirs", async () => {
    await tenants.b.client.promises.create("shared-name", { timeoutAt: FAR });
    await expect(tenants.a.client.promises.get("shared-name")).rejects.toThrow(/a\/shared-name/);
  });
});
