// The runner sends the fenced writes the replay core decides together as one
// task.fence_batch (or, when the root has returned, inside its task.fulfill),
// in local mode and over gRPC to a real node, and a batch refused as a whole
// means what the same refusal of each task.fence means.

import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createMeshNode, ManualClock, type MeshNode } from "@resonate-mesh/node/local";
import type { Kind, RequestOf, Response } from "@resonate-mesh/node/protocol";
import { startServer, type RunningServer } from "@resonate-mesh/node/server";
import { MemoryStore } from "@resonate-mesh/node/store";
import { Resonate, type Context } from "../src/index.ts";
import { GrpcTransport } from "../src/transport/grpc.ts";
import { LocalTransport } from "../src/transport/local.ts";
import { TransportError, type Transport } from "../src/transport/types.ts";
import { CountingTransport, eventually, promiseOf } from "./helpers.ts";

const FAN_OUT = 20;
const SUM = (FAN_OUT * (FAN_OUT - 1)) / 2;

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

const transports: Record<string, () => Transport> = {
  local: () => new LocalTransport(),
  grpc: () => new GrpcTransport({ url: `http://${server.address}`, logger: pino({ level: "silent" }) }),
};

function client<T extends Transport>(transport: T): Resonate {
  const c = new Resonate({ transport, stopGraceMs: 0, group: `batching-${Math.random().toString(36).slice(2)}` });
  cleanups.push(async () => {
    await c.stop();
    await transport.close();
  });
  return c;
}

async function item(_ctx: Context, i: number) {
  return i;
}

/** W2 of the bench: 20 steps spawned one after the other, then summed. */
async function spawned(ctx: Context) {
  const futures = [];
  for (let i = 0; i < FAN_OUT; i++) futures.push(await ctx.run(item, i).spawn());
  let sum = 0;
  for (const f of futures) sum += (await f.result()) as number;
  return sum;
}

/** 20 steps started in one turn. */
async function together(ctx: Context) {
  const values = await Promise.all(Array.from({ length: FAN_OUT }, (_, i) => ctx.run(item, i)));
  return values.reduce((a, b) => a + b, 0);
}

/** Whether a request carries fenced writes: a task.fence_batch, or a task.fulfill with actions. */
function carriesWrites(request: RequestOf<Kind>): boolean {
  return request.kind === "task.fence_batch" || (request.kind === "task.fulfill" && (request as RequestOf<"task.fulfill">).data.actions !== undefined);
}

describe("a fan-out's fenced writes travel in one call, the root's task.fulfill", () => {
  for (const name of Object.keys(transports)) {
    for (const [shape, flow] of [
      ["steps started in one turn", together],
      ["steps spawned one by one", spawned],
    ] as const) {
      test(`${name}: 20 ${shape} make two calls and record every step`, async () => {
        const transport = new CountingTransport(transports[name]!());
        const c = client(transport);
        c.register(flow);
        const id = `${name}-${flow.name}-${Date.now()}`;
        expect(await c.run(id, flow)).toBe(SUM);

        // Every step returns before user code goes quiet and the root goes on at once (speculatively),
        // so all 20 records travel in the fulfill: one call, one commit.
        expect(transport.sent).toEqual(["task.create", `task.fulfill+writes:${FAN_OUT}`]);
        for (let i = 0; i < FAN_OUT; i++) {
          const res = await transport.send({ kind: "promise.get", data: { id: `${id}.${i}` } });
          expect(res.status === 200 && res.data.promise.state).toBe("resolved");
        }
      });
    }
  }
});

/** Halts the task just before its first batch of writes reaches the node, so the fence refuses the whole batch. */
class HaltBeforeFirstBatch extends CountingTransport {
  refused?: Response;
  override async send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    if (!carriesWrites(request) || this.refused !== undefined) return super.send(request);
    const data = (request as RequestOf<"task.fence_batch">).data;
    await this.inner.send({ kind: "task.halt", data: { id: data.id } });
    const res = await super.send(request);
    this.refused = res;
    return res;
  }
}

describe("a batch refused as a whole", () => {
  for (const name of Object.keys(transports)) {
    test(`${name}: a fence refusal loses the attempt, writes nothing, and the next attempt runs the steps`, async () => {
      const transport = new HaltBeforeFirstBatch(transports[name]!());
      const c = client(transport);
      let runs = 0;
      async function counted(_ctx: Context, i: number) {
        runs++;
        return i;
      }
      async function flow(ctx: Context) {
        const values = await Promise.all(Array.from({ length: FAN_OUT }, (_, i) => ctx.run(counted, i)));
        return values.reduce((a, b) => a + b, 0);
      }
      c.register(flow);
      const id = `${name}-halted-${Date.now()}`;
      const handle = await c.run(id, flow).spawn();

      const refused = await eventually(() => transport.refused, 10_000);
      // The writes rode the root's fulfill: refused together, nothing of it is written, the root included.
      expect(refused).toMatchObject({ kind: "task.fulfill", status: 409 });
      for (const i of [0, FAN_OUT - 1]) {
        expect((await transport.send({ kind: "promise.get", data: { id: `${id}.${i}` } })).status).toBe(404);
      }
      expect((await promiseOf(c, id)).state).toBe("pending");
      expect(runs).toBe(FAN_OUT);

      expect((await transport.send({ kind: "task.continue", data: { id } })).status).toBe(200);
      expect(await handle.result()).toBe(SUM);
      expect(runs).toBe(2 * FAN_OUT);
    });
  }
});

/** Fails the first batch of writes without it reaching the node, with `failure`. */
class DropFirstBatch extends CountingTransport {
  dropped = false;
  constructor(
    inner: Transport,
    private readonly failure: Error,
  ) {
    super(inner);
  }
  override async send<K extends Kind>(request: RequestOf<K>): Promise<Response<K>> {
    if (!carriesWrites(request) || this.dropped) return super.send(request);
    this.dropped = true;
    throw this.failure;
  }
}

describe("a batch the transport did not deliver", () => {
  async function fanOutCounting(transport: DropFirstBatch) {
    const c = client(transport);
    let runs = 0;
    async function counted(_ctx: Context, i: number) {
      runs++;
      return i;
    }
    async function flow(ctx: Context) {
      const values = await Promise.all(Array.from({ length: FAN_OUT }, (_, i) => ctx.run(counted, i)));
      return values.reduce((a, b) => a + b, 0);
    }
    c.register(flow);
    const result = await c.run(`dropped-${Math.random().toString(36).slice(2)}`, flow);
    return { result, runs };
  }

  test("node unavailable: the batch is sent again and every step ran once", async () => {
    const transport = new DropFirstBatch(new LocalTransport(), new TransportError("connection dropped"));
    const { result, runs } = await fanOutCounting(transport);
    expect(transport.dropped).toBe(true);
    expect(result).toBe(SUM);
    expect(runs).toBe(FAN_OUT);
  });

  test("any other failure fails the attempt like a failed task.fence: the task is released and runs again", async () => {
    const transport = new DropFirstBatch(new LocalTransport(), new Error("the transport broke"));
    const { result, runs } = await fanOutCounting(transport);
    expect(transport.dropped).toBe(true);
    expect(result).toBe(SUM);
    expect(runs).toBe(2 * FAN_OUT);
    expect(transport.count("task.release")).toBe(1);
  });
});

describe("a batch refused for one malformed write", () => {
  test("only that write's step fails, as it would alone; the others are recorded", async () => {
    const transport = new CountingTransport(new LocalTransport());
    const c = client(transport);
    const tooLong = "x".repeat(2_000);
    async function flow(ctx: Context) {
      const good = Array.from({ length: FAN_OUT - 1 }, (_, i) => ctx.run(item, i));
      const bad = ctx.run(item, 100).id(tooLong);
      const [values, refused] = await Promise.all([
        Promise.all(good),
        Promise.resolve(bad).then(
          () => "recorded",
          (error: { code?: string }) => error.code,
        ),
      ]);
      return { sum: values.reduce((a, b) => a + b, 0), refused };
    }
    c.register(flow);
    const id = `malformed-${Date.now()}`;
    const result = await c.run(id, flow);

    // Speculating, the refused write rode a batch refused as a whole, and what ran on its value was
    // dropped; the replay (not speculating) sent it alone, so only that step failed.
    expect(result).toEqual({ sum: ((FAN_OUT - 1) * (FAN_OUT - 2)) / 2, refused: "SERVER_ERROR" });
    expect(transport.sent.at(-2)).toMatch(new RegExp(`^task.fence:promise.create:${tooLong}$`));
    for (let i = 0; i < FAN_OUT - 1; i++) expect((await promiseOf(c, `${id}.${i}`)).state).toBe("resolved");
  });
});
