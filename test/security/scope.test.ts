// A token's `prefix` claim holds every id a request names to that prefix.
// The cases are generated from the protocol's own list (protocol/touches.ts):
// for each request kind, each field that names an id is set, in turn, to an
// id outside the prefix, and the request must be refused with 403 /
// PERMISSION_DENIED naming the field and the prefix, on gRPC and on the JSON
// envelope, and write nothing. BASELINE is typed over every Kind, so a new
// request kind does not compile until it is given a case here.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromProtocolRequest, protoFieldPath } from "@resonate-mesh/node/client";
import { KINDS, TOUCHING_KINDS, touchedIds, type Kind, type Request, type RequestOf, type TouchMode } from "@resonate-mesh/node/protocol";
import { stopAll } from "../support/processes.ts";
import { FAR, keyDir, keyPair, mint, startSecureNode, type SecureNode } from "./support.ts";

const lineage = (root: string) => ({
  "resonate:origin": root,
  "resonate:branch": root,
  "resonate:parent": root,
  "resonate:prefix": root,
});

/** One in-scope request of every kind for a token with prefix "a/", naming every id field the kind has. */
const BASELINE: { [K in Kind]: RequestOf<K> } = {
  "promise.get": { kind: "promise.get", data: { id: "a/p" } },
  "promise.create": { kind: "promise.create", data: { id: "a/root.9", timeoutAt: FAR, tags: lineage("a/root") } },
  "promise.settle": { kind: "promise.settle", data: { id: "a/p", state: "resolved" } },
  "promise.register_callback": { kind: "promise.register_callback", data: { awaited: "a/root.1", awaiter: "a/root" } },
  "promise.register_listener": { kind: "promise.register_listener", data: { awaited: "a/p", address: "poll://any@listeners" } },
  "promise.search": { kind: "promise.search", data: { id: "a/" } },
  "task.get": { kind: "task.get", data: { id: "a/root" } },
  "task.create": {
    kind: "task.create",
    data: {
      pid: "w1",
      ttl: 60_000,
      action: { kind: "promise.create", data: { id: "a/here", timeoutAt: FAR, tags: { "resonate:target": "poll://any@nobody", ...lineage("a/here") } } },
    },
  },
  "task.acquire": { kind: "task.acquire", data: { id: "a/root", version: 1, pid: "w1", ttl: 60_000 } },
  "task.release": { kind: "task.release", data: { id: "a/root", version: 1 } },
  "task.suspend": {
    kind: "task.suspend",
    data: { id: "a/root", version: 1, actions: [{ kind: "promise.register_callback", data: { awaited: "a/root.1", awaiter: "a/root" } }] },
  },
  "task.fulfill": {
    kind: "task.fulfill",
    data: {
      id: "a/root",
      version: 1,
      action: { kind: "promise.settle", data: { id: "a/root", state: "resolved" } },
      actions: [{ kind: "promise.create", data: { id: "a/root.4", timeoutAt: FAR, tags: lineage("a/root") } }],
    },
  },
  "task.fence": {
    kind: "task.fence",
    data: { id: "a/root", version: 1, action: { kind: "promise.create", data: { id: "a/root.2", timeoutAt: FAR, tags: lineage("a/root") } } },
  },
  "task.fence_batch": {
    kind: "task.fence_batch",
    data: {
      id: "a/root",
      version: 1,
      actions: [
        { kind: "promise.create", data: { id: "a/root.3", timeoutAt: FAR, tags: lineage("a/root") } },
        { kind: "promise.settle", data: { id: "a/root.2", state: "resolved" } },
      ],
    },
  },
  "task.heartbeat": { kind: "task.heartbeat", data: { pid: "w1", tasks: [{ id: "a/root", version: 1 }, { id: "a/other", version: 1 }] } },
  "task.halt": { kind: "task.halt", data: { id: "a/root" } },
  "task.continue": { kind: "task.continue", data: { id: "a/root" } },
  "task.search": { kind: "task.search", data: { id: "a/" } },
  "schedule.get": { kind: "schedule.get", data: { id: "a/s" } },
  "schedule.create": {
    kind: "schedule.create",
    data: { id: "a/s2", cron: "0 0 1 1 *", promiseId: "{{.id}}-{{.timestamp}}", promiseTimeout: 60_000, promiseTags: { "resonate:target": "poll://any@nobody" } },
  },
  "schedule.delete": { kind: "schedule.delete", data: { id: "a/s" } },
  "schedule.search": { kind: "schedule.search", data: { id: "a/" } },
};

const OUTSIDE: Record<TouchMode, string> = { id: "b/secret", filter: "b/", template: "b/{{.id}}-{{.timestamp}}" };

/** `request` with the field at dotted `path` (`data.actions[0].data.awaited`, `data.tags["k"]`) set to `value`. */
function withField(request: Request, path: string, value: string): Request {
  const copy = structuredClone(request) as unknown as Record<string, unknown>;
  const keys = [...path.matchAll(/\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\["([^"]+)"\]/g)].map((m) => m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
  let at: any = copy;
  for (const key of keys.slice(0, -1)) at = at[key];
  at[keys[keys.length - 1]!] = value;
  return copy as unknown as Request;
}

const cases = KINDS.flatMap((kind) =>
  touchedIds(BASELINE[kind]).map((touched) => ({ kind, field: touched.field, mode: touched.mode, request: withField(BASELINE[kind], touched.field, OUTSIDE[touched.mode]) })),
);

let node: SecureNode;
let admin: string;
let tenantA: string;
let before: Awaited<ReturnType<SecureNode["snapshot"]>>;

beforeAll(async () => {
  const pair = keyPair(keyDir(), "ES256");
  node = await startSecureNode(pair.publicFile);
  admin = await mint(pair, { claims: { role: "admin" } });
  tenantA = await mint(pair, { claims: { prefix: "a/" } });
  // Records of both tenants, written with the admin token.
  const seed: Request[] = [
    { kind: "promise.create", data: { id: "a/p", timeoutAt: FAR } },
    { kind: "promise.create", data: { id: "a/root", timeoutAt: FAR, tags: { "resonate:target": "poll://any@nobody", ...lineage("a/root") } } },
    { kind: "promise.create", data: { id: "a/root.1", timeoutAt: FAR, tags: lineage("a/root") } },
    { kind: "promise.create", data: { id: "b/secret", timeoutAt: FAR, tags: { "resonate:target": "poll://any@nobody", ...lineage("b/secret") } } },
    { kind: "schedule.create", data: { id: "a/s", cron: "0 0 1 1 *", promiseId: "{{.id}}-{{.timestamp}}", promiseTimeout: 60_000, promiseTags: { "resonate:target": "poll://any@nobody" } } },
    { kind: "schedule.create", data: { id: "b/secret", cron: "0 0 1 1 *", promiseId: "{{.id}}-{{.timestamp}}", promiseTimeout: 60_000, promiseTags: { "resonate:target": "poll://any@nobody" } } },
  ];
  for (const request of seed) expect(await node.grpc(request, admin)).toMatchObject({ status: 200 });
  before = await node.snapshot(admin);
});

afterAll(async () => {
  await node?.stop();
  await stopAll();
});

describe("the list of ids a request names", () => {
  it("covers every request kind", () => {
    expect([...TOUCHING_KINDS].sort()).toEqual([...KINDS].sort());
    expect(Object.keys(BASELINE).sort()).toEqual([...KINDS].sort());
  });

  it.each(KINDS.map((kind) => ({ kind })))("names at least one id of $kind", ({ kind }) => {
    expect(touchedIds(BASELINE[kind]).length).toBeGreaterThan(0);
  });
});

describe("an id outside the token's prefix", () => {
  it.each(cases)("in $field of $kind is refused over gRPC with PERMISSION_DENIED naming it", async ({ request, field }) => {
    const answer = await node.grpc(request, tenantA);
    expect(answer.status).toBe(403);
    if (!("error" in answer)) throw new Error("expected a refusal");
    expect(answer.error.code).toBe("PERMISSION_DENIED");
    // gRPC names fields as the protobuf messages do (`action.id`, `tasks[1].id`, `promise_id`).
    const protoField = protoFieldPath(request.kind, field, fromProtocolRequest(request) as never);
    expect(answer.error.field).toBe(protoField);
    expect(answer.error.message).toContain(protoField);
    expect(answer.error.message).toContain(`"a/"`);
  });

  it.each(cases)("in $field of $kind is refused over the JSON envelope with 403 naming it", async ({ request, field }) => {
    const answer = await node.envelope(request, tenantA);
    expect(answer.status).toBe(403);
    expect(answer.body.data).toContain(field);
    expect(answer.body.data).toContain(`"a/"`);
  });

  it("wrote nothing, as an admin token reads back", async () => {
    expect(await node.snapshot(admin)).toEqual(before);
  });
});

describe("a search by a scoped token", () => {
  const searches = [
    { kind: "promise.search", key: "promises" },
    { kind: "task.search", key: "tasks" },
    { kind: "schedule.search", key: "schedules" },
  ] as const;

  it.each(searches)("$kind without an id filter is narrowed to the prefix", async ({ kind, key }) => {
    const everything = (await node.grpc({ kind, data: {} } as Request, admin)) as any;
    expect(everything.data[key].some((r: { id: string }) => r.id.startsWith("b/"))).toBe(true);
    for (const answer of [await node.grpc({ kind, data: {} } as Request, tenantA), await node.envelope({ kind, data: {} } as Request, tenantA)]) {
      const records = ("body" in answer ? answer.body.data : (answer as any).data)[key] as { id: string }[];
      expect(records.length).toBeGreaterThan(0);
      expect(records.filter((r) => !r.id.startsWith("a/"))).toEqual([]);
    }
  });

  it.each(searches)("$kind with a glob inside the prefix is served", async ({ kind }) => {
    expect((await node.grpc({ kind, data: { id: "a/*" } } as Request, tenantA)).status).toBe(200);
  });

  it.each(searches)("$kind with a glob that reaches outside the prefix is refused", async ({ kind }) => {
    const answer = await node.grpc({ kind, data: { id: "*secret" } } as Request, tenantA);
    expect(answer.status).toBe(403);
  });
});

describe("every baseline request, in scope", () => {
  it.each(KINDS.map((kind) => ({ kind })))("$kind passes the scope check", async ({ kind }) => {
    const answer = await node.grpc(BASELINE[kind], tenantA);
    expect([401, 403]).not.toContain(answer.status);
  });
});
