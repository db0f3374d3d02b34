// Issue 14, item 7: a web page cannot drive a node. Cross-site requests (an
// Origin that is not allowed), DNS rebinding (a foreign Host on a node bound
// to loopback) and non-JSON posts (the "simple requests" a page can send
// without asking) are refused before anything is read or written.

import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type NodeProc } from "../support/node.ts";
import { stopAll } from "../support/processes.ts";

let node: NodeProc;
let allowing: NodeProc;

beforeAll(async () => {
  [node, allowing] = await Promise.all([startNode(), startNode({ args: ["--allow-origin", "http://localhost:3000"] })]);
});

afterAll(async () => {
  await stopAll();
});

/** A raw HTTP/1.1 request (fetch would not let a test set Host). */
function send(target: NodeProc, method: string, path: string, headers: Record<string, string>, body = ""): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: target.port, method, path, headers: { "content-length": String(Buffer.byteLength(body)), ...headers } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const create = (id: string) =>
  JSON.stringify({ kind: "promise.create", head: { corrId: "c1", version: "2026-04-01" }, data: { id, timeoutAt: 4_102_444_800_000, param: {}, tags: {} } });

async function exists(target: NodeProc, id: string): Promise<boolean> {
  const res = await send(target, "POST", "/", { "content-type": "application/json" }, JSON.stringify({ kind: "promise.get", head: { corrId: "g", version: "2026-04-01" }, data: { id } }));
  return res.status === 200;
}

describe("requests from web pages", () => {
  it("refuses a text/plain POST from a foreign origin with a foreign Host, and creates nothing", async () => {
    const res = await send(node, "POST", "/", { "content-type": "text/plain", origin: "http://evil.example", host: "evil.example" }, create("evil-1"));
    expect(res.status).toBe(403);
    expect(await exists(node, "evil-1")).toBe(false);
  });

  it("refuses a JSON POST whose Origin is not allowed, naming the origin and the flag", async () => {
    const res = await send(node, "POST", "/", { "content-type": "application/json", origin: "http://evil.example" }, create("evil-2"));
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text).data).toMatch(/"http:\/\/evil\.example" are refused.*--allow-origin/);
    expect(await exists(node, "evil-2")).toBe(false);
  });

  it("refuses a foreign Host on a node listening on loopback (DNS rebinding), on every path", async () => {
    for (const path of ["/", "/health", "/metrics", "/poll/g/p"]) {
      const res = await send(node, path === "/" ? "POST" : "GET", path, { "content-type": "application/json", host: "rebind.example:8001" }, path === "/" ? create("evil-3") : "");
      expect(res.status, path).toBe(403);
      expect(res.text, path).toMatch(/not a loopback name/);
    }
    expect(await exists(node, "evil-3")).toBe(false);
  });

  it("serves loopback Host names", async () => {
    for (const host of [`localhost:${node.port}`, `127.0.0.1:${node.port}`, `[::1]:${node.port}`, "localhost"]) {
      expect((await send(node, "GET", "/health", { host })).status, host).toBe(200);
    }
  });

  it("refuses a POST / that is not declared application/json with 415, creating nothing", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", ""]) {
      const headers: Record<string, string> = type === "" ? {} : { "content-type": type };
      const res = await send(node, "POST", "/", headers, create("plain-1"));
      expect(res.status, type).toBe(415);
      expect(JSON.parse(res.text).data, type).toMatch(/content-type: application\/json/);
    }
    expect(await exists(node, "plain-1")).toBe(false);
  });

  it("accepts application/json with parameters", async () => {
    const res = await send(node, "POST", "/", { "content-type": "application/json; charset=utf-8" }, create("json-1"));
    expect(res.status).toBe(200);
  });

  it("serves an origin allowed with --allow-origin, and only that one", async () => {
    const ok = await send(allowing, "POST", "/", { "content-type": "application/json", origin: "http://localhost:3000" }, create("allowed-1"));
    expect(ok.status).toBe(200);
    const other = await send(allowing, "POST", "/", { "content-type": "application/json", origin: "http://localhost:4000" }, create("allowed-2"));
    expect(other.status).toBe(403);
  });

  it("counts refusals in resonate_server_refused_total", async () => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    expect(text).toMatch(/resonate_server_refused_total\{reason="access"\} [1-9]/);
  });
});
