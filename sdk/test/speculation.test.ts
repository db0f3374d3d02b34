// Speculative continuation (sdk/CORE.md rule 11) against a real node over
// gRPC, through a transport that holds back the node's answers to fenced
// writes or writes behind the worker's back: the awaiter of a finished step
// goes on before the step's write is acknowledged, the next step starts only
// after it is, and a write recorded otherwise drops what ran on it.

import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createMeshNode, ManualClock, type MeshNode } from "@resonate-mesh/node/local";
import type { Kind, PromiseCreateRequest, RequestOf, Response } from "@resonate-mesh/node/protocol";
import { startServer, type RunningServer } from "@resonate-mesh/node/server";
import { MemoryStore } from "@resonate-mesh/node/store";
import { defaultCodec } from "../src/codec.ts";
import { Resonate, type Context } from "../src/index.ts";
import { GrpcTransport } from "../src/transport/grpc.ts";
import { CountingTransport, promiseOf } from "./helpers.ts";

let node: MeshNode;
let server: RunningServer;

beforeAll(async () => {
  node = createMeshNode({ store: new MemoryStore(), clock: new ManualClock(Date.now()) });
  server = await startServer({ engine: node, port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  await server.close();
  await node.stop();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function client(transport: CountingTransport): Resonate {
  const c = new Resonate({ transport, stopGraceMs: 0, group: `speculation-${Math.random().toString(36).slice(2)}` });
  cleanups.push(async () => {
    await c.stop();
    await transport.close();
  });
  return c;
}

const grpc = () => new GrpcTransport({ url: `http://${server.address}`, logger: pino({ level: "silent" }) });

/** The ids of the promises a request writes under the fence (a fence, a batch, a fulfill's actions). */
function fencedIds(request: RequestOf<Kind>): string[] {
  switch (request.kind) {
    case "task.fence":
      return [(request as RequestOf<"task.fence">).data.action.data.id];
    case "task.fence_batch":
      return (request as RequestOf<"task.fence_batch">).data.actions.map((a) => a.data.id);
    case "task.fulfill":
      return ((request as RequestOf<"task.fulfill">).data.actions ?? []).map((a) => a.data.id);
    default:
      return [];
  }
}

/** Holds each answer to fenced writes for `holdMs` before the worker sees it, and logs when it lets it through. */
class SlowAcks extends CountingTransport {
  constructor(
    inner: GrpcTransport,
    private readonly log: string[],
    private readonly holdMs: number,
  ) {
    super(inner);
  }
  override async send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    const ids = fencedIds(request);
    if (request.kind === "promise.get") this.log.push(`get ${(request as RequestOf<"promise.get">).data.id}`);
    const res = await super.send(request);
    if (ids.length === 0) return res;
    await new Promise((r) => setTimeout(r, this.holdMs));
    this.log.push(...ids.map((id) => `ack ${id}`));
    return res;
  }
}

describe("a step's awaiter goes on before the write; the next step waits for it", () => {
  test("the root sees a step's value before its write is acknowledged, and the next step starts only after", async () => {
    const log: string[] = [];
    const transport = new SlowAcks(grpc(), log, 100);
    const c = client(transport);
    async function step(ctx: Context, n: number) {
      log.push(`start ${ctx.id}`);
      return n + 1;
    }
    async function flow(ctx: Context) {
      const a = await ctx.run(step, 1);
      log.push(`root saw ${a}`);
      const b = await ctx.run(step, a);
      log.push(`root saw ${b}`);
      return b;
    }
    c.register(flow);
    const id = `gate-${Date.now()}`;
    expect(await c.run(id, flow)).toBe(3);

    expect(log).toEqual([
      `start ${id}.0`,
      "root saw 2", // speculatively: the write of .0 is not acknowledged yet
      `ack ${id}.0`,
      `start ${id}.1`, // only once it is
      "root saw 3",
      `ack ${id}.1`, // carried by the root's fulfill
    ]);
    expect(transport.sent).toEqual(["task.create", `task.fence:promise.create:${id}.0`, "task.fulfill+writes:1"]);
  });

  test("a read waits for the acknowledgement too: a step under an id outside the branch is read after it", async () => {
    const log: string[] = [];
    const transport = new SlowAcks(grpc(), log, 50);
    const c = client(transport);
    const foreign = `elsewhere-${Date.now()}`;
    async function step(_ctx: Context, n: number) {
      return n + 1;
    }
    async function flow(ctx: Context) {
      const a = await ctx.run(step, 1);
      return await ctx.run(step, a).id(foreign);
    }
    c.register(flow);
    const id = `read-gate-${Date.now()}`;
    expect(await c.run(id, flow)).toBe(3);
    expect(log.slice(0, 2)).toEqual([`ack ${id}.0`, `get ${foreign}`]);
  });
});

/**
 * Before the first fenced write of `target` reaches the node, records `target`
 * itself (unfenced, with the same call but another value), as if someone else
 * had: the node then answers the worker's create with that record.
 */
class WritesFirst extends CountingTransport {
  private done = false;
  constructor(
    inner: GrpcTransport,
    private readonly target: string,
    private readonly value: unknown,
  ) {
    super(inner);
  }
  override async send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    if (!this.done && request.kind === "task.fence") {
      const action = (request as RequestOf<"task.fence">).data.action;
      if (action.kind === "promise.create" && action.data.id === this.target) {
        this.done = true;
        const data: PromiseCreateRequest["data"] = {
          ...action.data,
          settled: { state: "resolved", value: defaultCodec.encode(this.value) },
        };
        const res = await this.inner.send({ kind: "promise.create", data });
        if (res.status !== 200) throw new Error(`could not write ${this.target} first: ${res.status}`);
      }
    }
    return super.send(request);
  }
}

describe("a write recorded otherwise drops what ran on it", () => {
  test("the attempt replays from the record: every later step ran on the recorded value, never on the dropped one", async () => {
    const id = `disagree-${Date.now()}`;
    const transport = new WritesFirst(grpc(), `${id}.0`, 41);
    const c = client(transport);
    const started: string[] = [];
    async function step(ctx: Context, n: number) {
      started.push(`${ctx.id}(${n})`);
      return n + 1;
    }
    async function flow(ctx: Context) {
      const a = await ctx.run(step, 1); // computes 2 here; 41 is what gets recorded
      return await ctx.run(step, a);
    }
    c.register(flow);
    expect(await c.run(id, flow)).toBe(42);

    // .0 ran once (the replay takes its record); .1 never started on the value that was dropped.
    expect(started).toEqual([`${id}.0(1)`, `${id}.1(41)`]);
    expect((await promiseOf(c, `${id}.1`)).state).toBe("resolved");
    expect(defaultCodec.decode((await promiseOf(c, id)).value)).toBe(42);
  });
});

describe("a malformed write carried by the fulfill", () => {
  test("refuses only itself: the writes are sent again alone, in order, then the fulfill without them", async () => {
    const transport = new CountingTransport(grpc());
    const c = client(transport);
    const tooLong = "x".repeat(2_000);
    let refused: unknown;
    async function step(_ctx: Context, n: number) {
      return n + 1;
    }
    async function flow(ctx: Context) {
      const a = await ctx.run(step, 1);
      // Spawned and not awaited: its create is still unsent when the root returns, so it rides the fulfill.
      ctx
        .detached("nobody", a)
        .id(tooLong)
        .spawn()
        .catch((error: { code?: string }) => (refused = error.code));
      return a;
    }
    c.register(flow);
    const id = `malformed-fulfill-${Date.now()}`;
    expect(await c.run(id, flow)).toBe(2);

    expect(transport.sent).toEqual([
      "task.create",
      "task.fulfill+writes:2",
      `task.fence:promise.create:${id}.0`,
      `task.fence:promise.create:${tooLong}`,
      "task.fulfill",
    ]);
    expect(refused).toBe("SERVER_ERROR");
    expect((await promiseOf(c, `${id}.0`)).state).toBe("resolved");
    expect((await promiseOf(c, id)).state).toBe("resolved");
  });
});
