// The gRPC transport across a dropped connection: a TCP proxy between the
// client and the node cuts every connection and refuses new ones for a while.

import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resonate, type Context } from "@resonate-mesh/sdk";
import { freePort, startNode, type NodeProc } from "../support/node.ts";
import { waitFor } from "../support/wait.ts";

class Proxy {
  private readonly sockets = new Set<Socket>();
  private down = false;
  constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<Proxy> {
    const port = await freePort();
    let proxy!: Proxy;
    const server = createServer((client) => {
      if (proxy.down) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort, "127.0.0.1");
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on("error", () => undefined);
        s.on("close", () => {
          proxy.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    proxy = new Proxy(server, port);
    await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
    return proxy;
  }

  /** Cut every connection and refuse new ones. */
  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.down = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((ok) => this.server.close(() => ok()));
  }
}

let node: NodeProc;
let proxy: Proxy;
const clients: Resonate[] = [];

beforeAll(async () => {
  node = await startNode();
  proxy = await Proxy.start(Number(new URL(node.url).port));
});

afterAll(async () => {
  for (const c of clients) await c.stop();
  await proxy?.close();
  await node?.stop();
});

function client(url: string, group: string): Resonate {
  const c = new Resonate({ url, group, stopGraceMs: 0 });
  clients.push(c);
  return c;
}

describe("reconnecting", () => {
  it("delivers a result that settled while the stream was down, by registering its listener again", async () => {
    const waiter = client(`http://127.0.0.1:${proxy.port}`, "rc-waiters");
    const other = client(node.url, "rc-others");
    await other.promises.create("rc-1");
    const result = (await waiter.get<string>("rc-1")).result();
    await new Promise((r) => setTimeout(r, 300));

    proxy.cut();
    await other.promises.resolve("rc-1", "settled during the outage");
    await new Promise((r) => setTimeout(r, 300));
    proxy.restore();

    expect(await result).toBe("settled during the outage");
  });

  it("receives work again once the stream is back", async () => {
    const worker = client(`http://127.0.0.1:${proxy.port}`, "rc-workers");
    async function double(_ctx: Context, n: number) {
      return n * 2;
    }
    worker.register(double);
    const caller = client(node.url, "rc-callers");
    expect(await caller.rpc("rc-2", "double", 1).target("rc-workers")).toBe(2);

    proxy.cut();
    await new Promise((r) => setTimeout(r, 200));
    proxy.restore();
    await waitFor("the worker to be served again", async () => {
      return (await caller.rpc("rc-3", "double", 21).target("rc-workers")) === 42;
    });
  });
});
