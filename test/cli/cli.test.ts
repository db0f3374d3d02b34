// The `resonate` CLI against a real node, run the way a user runs it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { addService } from "@resonate-mesh/node/internal-for-tests";
import { PromiseService } from "@resonate-mesh/node/proto";
import { connect, type CliClient } from "@resonate-mesh/node/internal-for-tests";
import { encodeValue } from "@resonate-mesh/node/internal-for-tests";
import { cli, freePort, resonateBin, startNode, type NodeProc } from "../support/node.ts";
import { spawnProcess, stopAll, type RunResult } from "../support/processes.ts";

let node: NodeProc;
let server: string;
/** Setup and checks that are not under test go straight to the node: each CLI run costs a process start. */
let direct: CliClient;

beforeAll(async () => {
  node = await startNode();
  server = node.url;
  direct = connect(server);
});

afterAll(async () => {
  direct?.close();
  await node?.stop();
  await stopAll();
});

const HOUR = 3_600_000;
const createPromise = (id: string, tags: Record<string, string> = {}, param?: unknown) =>
  direct.promiseCreate({ id, timeoutAt: Date.now() + HOUR, tags, param: encodeValue(param) });

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64");
const run = (...args: string[]) => cli([...args, "--server", server]);

/** A failure: the exit code, and stderr is exactly one line starting with "error:". */
function expectError(result: RunResult, code: number, message: RegExp): void {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code, stdout: "" });
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
}

function json<T = any>(result: RunResult): T {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

describe.concurrent("resonate invoke", () => {
  it("creates the root promise with the SDK's param and tags and prints the id", async () => {
    const result = await run("invoke", "greet-1", "--func", "greet", "--arg", '"World"');
    expect(result).toEqual({ code: 0, stdout: "greet-1\n", stderr: "" });

    const promise = json(await run("promises", "get", "greet-1", "--json"));
    expect(promise.state).toBe("pending");
    expect(promise.param.data).toBe(b64({ func: "greet", args: ["World"], version: 1 }));
    expect(promise.tags).toMatchObject({
      "resonate:target": "poll://any@default",
      "resonate:origin": "greet-1",
      "resonate:branch": "greet-1",
      "resonate:parent": "greet-1",
      "resonate:scope": "global",
    });
  });

  it("the targeted promise gets a pending task", async () => {
    expect((await run("invoke", "task-1", "--func", "f", "--target", "workers")).code).toBe(0);
    expect(await direct.taskGet("task-1")).toMatchObject({ id: "task-1", state: "pending" });
    expect((await direct.promiseGet("task-1")).tags["resonate:target"]).toBe("poll://any@workers");
  });

  it("--delay tags the promise with when it may start", async () => {
    const before = Date.now();
    expect((await run("invoke", "later-1", "--func", "f", "--delay", "1h", "--timeout", "1m")).code).toBe(0);
    const promise = await direct.promiseGet("later-1");
    const delay = Number(promise.tags["resonate:delay"]);
    expect(delay).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(promise.timeoutAt - delay).toBe(60_000);
  });

  it("invoking an existing id again starts nothing new and says so", async () => {
    expect((await run("invoke", "twice-1", "--func", "f", "--arg", "1")).code).toBe(0);
    const again = await run("invoke", "twice-1", "--func", "f", "--arg", "2");
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("twice-1\n");
    expect(again.stderr).toMatch(/already exists .*nothing new was started/);
  });

  it("--wait prints the value once the promise is resolved", async () => {
    const waiting = spawnProcess("invoke --wait", process.execPath, [resonateBin, "invoke", "wait-1", "--func", "f", "--wait", "--server", server]);
    await expect.poll(() => direct.promiseGet("wait-1").then(() => true, () => false), { timeout: 15_000 }).toBe(true);
    await direct.promiseSettle({ id: "wait-1", state: "resolved", value: encodeValue({ ok: true }) });
    expect(await waiting.exited).toBe(0);
    expect(JSON.parse(waiting.stdout)).toEqual({ ok: true });
  });

  it("--wait on a rejected promise exits 1 with the error", async () => {
    const waiting = spawnProcess("invoke --wait", process.execPath, [resonateBin, "invoke", "wait-2", "--func", "f", "--wait", "--server", server]);
    await expect.poll(() => direct.promiseGet("wait-2").then(() => true, () => false), { timeout: 15_000 }).toBe(true);
    await direct.promiseSettle({ id: "wait-2", state: "rejected", value: encodeValue("no stock") });
    expect(await waiting.exited).toBe(1);
    expect(waiting.stderr.trim()).toBe('error: "wait-2" was rejected: "no stock"');
  });

  it.each([
    [["invoke", "x"], /--func/],
    [["invoke", "x", "--func", "f", "--arg", "World"], /--arg "World" is not valid JSON/],
    [["invoke", "x", "--func", "f", "--timeout", "10"], /--timeout "10" needs a unit/],
    [["invoke", "--func", "f"], /missing required argument 'id'/],
    [["invoke", "x", "--func", "f", "--bogus"], /unknown option '--bogus'/],
  ])("%j is a usage error (exit 2, one sentence)", async (args, message) => {
    expectError(await run(...args), 2, message);
  });
});

describe.concurrent("resonate promises", () => {
  it("create, get and resolve print the promise for people, values decoded", async () => {
    const created = await run("promises", "create", "p-1", "--timeout", "1h", "--param", '{"n":1}', "--tag", "env=dev");
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^id +p-1$/m);
    expect(created.stdout).toMatch(/^state +pending$/m);
    expect(created.stdout).toMatch(/^param +\{"n":1\}$/m);
    expect(created.stdout).toMatch(/env=dev/);

    const resolved = await run("promises", "resolve", "p-1", "--value", '"done"');
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toMatch(/^state +resolved$/m);
    expect(resolved.stdout).toMatch(/^value +"done"$/m);

    expect((await run("promises", "get", "p-1")).stdout).toMatch(/^value +"done"$/m);
  });

  it("the value is encoded like the SDK: base64 of the JSON", async () => {
    await createPromise("p-2");
    const settled = json(await run("promises", "reject", "p-2", "--value", '{"reason":"x"}', "--json"));
    expect(settled).toMatchObject({ id: "p-2", state: "rejected", value: { data: b64({ reason: "x" }) } });
  });

  it("cancel cancels", async () => {
    await createPromise("p-3");
    expect(json(await run("promises", "cancel", "p-3", "--json")).state).toBe("rejected_canceled");
  });

  it("settling a promise that is already settled otherwise is refused (exit 1)", async () => {
    await createPromise("p-4");
    await direct.promiseSettle({ id: "p-4", state: "rejected" });
    const again = await run("promises", "resolve", "p-4");
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe('error: promise "p-4" was already rejected, so it was not resolved');
  });

  it("search finds by id glob and state, as a table or JSON", async () => {
    await createPromise("s-a");
    await createPromise("s-b");
    await direct.promiseSettle({ id: "s-b", state: "resolved" });
    const table = await run("promises", "search", "s-*");
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID +STATE +FUNC +CREATED$/);
    expect(table.stdout).toMatch(/^s-a +pending/m);
    expect(table.stdout).toMatch(/^s-b +resolved/m);

    const pending = json(await run("promises", "search", "s-*", "--state", "pending", "--json"));
    expect(pending.promises.map((p: { id: string }) => p.id)).toEqual(["s-a"]);
  });

  it("search pages with --limit and --cursor", async () => {
    for (const id of ["pg-1", "pg-2", "pg-3"]) await createPromise(id);
    const first = json(await run("promises", "search", "pg-", "--limit", "2", "--json"));
    expect(first.promises.map((p: { id: string }) => p.id)).toEqual(["pg-1", "pg-2"]);
    const second = json(await run("promises", "search", "pg-", "--limit", "2", "--cursor", first.cursor, "--json"));
    expect(second.promises.map((p: { id: string }) => p.id)).toEqual(["pg-3"]);
  });

  it("an unknown id is not found (exit 1)", async () => {
    expectError(await run("promises", "get", "nope"), 1, /^error: promise "nope" not found$/);
    expectError(await run("promises", "resolve", "nope"), 1, /^error: promise "nope" not found$/);
  });

  it.each([
    [["promises", "search", "--state", "done"], /--state "done" is not one of/],
    [["promises", "resolve", "x", "--value", "{"], /--value "\{" is not valid JSON/],
    [["promises", "frobnicate"], /unknown command 'frobnicate'/],
  ])("%j is a usage error (exit 2)", async (args, message) => {
    expectError(await run(...args), 2, message);
  });
});

describe.concurrent("resonate tasks", () => {
  it("get and search show tasks", async () => {
    await createPromise("t-1", { "resonate:target": "poll://any@nobody-listens" });
    expect((await run("tasks", "get", "t-1")).stdout).toMatch(/^state +pending$/m);
    const found = json(await run("tasks", "search", "t-", "--state", "pending", "--json"));
    expect(found.tasks.map((t: { id: string }) => t.id)).toContain("t-1");
    expect((await run("tasks", "search", "t-")).stdout).toMatch(/^t-1 +pending +\d+/m);
  });

  it("an unknown task or schedule is not found (exit 1)", async () => {
    expectError(await run("tasks", "get", "nope"), 1, /^error: task "nope" not found$/);
    expectError(await run("schedules", "get", "nope"), 1, /^error: schedule "nope" not found$/);
  });
});

describe.concurrent("resonate schedules", () => {
  it("create, get, search and delete", async () => {
    const created = await run("schedules", "create", "nightly", "--cron", "0 3 * * *", "--func", "report", "--target", "workers");
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^cron +0 3 \* \* \*$/m);
    expect(created.stdout).toMatch(/resonate:target=poll:\/\/any@workers/);

    const got = json(await run("schedules", "get", "nightly", "--json"));
    expect(got).toMatchObject({ id: "nightly", cron: "0 3 * * *", promiseId: "{{.id}}.{{.timestamp}}", promiseTimeout: 3_600_000 });
    expect(got.promiseParam.data).toBe(b64({ func: "report", args: [], version: 1 }));

    expect((await run("schedules", "search")).stdout).toMatch(/^nightly +0 3 \* \* \*/m);

    expect(await run("schedules", "delete", "nightly")).toMatchObject({ code: 0, stdout: 'deleted schedule "nightly"\n' });
    await expect(direct.scheduleGet("nightly")).rejects.toThrow('schedule "nightly" not found');
  });

  it("a cron that does not parse is refused as bad input (exit 2)", async () => {
    const result = await run("schedules", "create", "bad", "--cron", "not a cron");
    expectError(result, 2, /cron/);
  });

  it("--cron is required", async () => {
    expectError(await run("schedules", "create", "x"), 2, /--cron is required/);
  });
});

describe.concurrent("resonate tree", () => {
  it("shows an execution's promises along resonate:parent with funcs, states and durations", async () => {
    const tags = (parent: string) => ({ "resonate:origin": "wf", "resonate:parent": parent });
    const invocation = (func: string) => ({ func, args: [], version: 1 });
    await createPromise("wf", tags("wf"), invocation("workflow"));
    await createPromise("wf.1", tags("wf"), invocation("step"));
    await createPromise("wf.2", tags("wf"), invocation("child"));
    await createPromise("wf.2.1", tags("wf.2"), invocation("leaf"));
    await createPromise("other", { "resonate:origin": "other" });
    await direct.promiseSettle({ id: "wf.1", state: "resolved", value: encodeValue(1) });

    const result = await run("tree", "wf");
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^wf +workflow +pending +\S+ so far$/);
    expect(lines[1]).toMatch(/^├── wf\.1 +step +resolved +\d+(\.\d+)?m?s$/);
    expect(lines[2]).toMatch(/^└── wf\.2 +child +pending /);
    expect(lines[3]).toMatch(/^ {4}└── wf\.2\.1 +leaf +pending /);

    const tree = json(await run("tree", "wf", "--json"));
    expect(tree).toMatchObject({
      id: "wf",
      func: "workflow",
      children: [
        { id: "wf.1", func: "step", state: "resolved", children: [] },
        { id: "wf.2", children: [{ id: "wf.2.1", func: "leaf" }] },
      ],
    });
  });

  it("the tree of an unknown id is not found (exit 1)", async () => {
    expectError(await run("tree", "nope"), 1, /^error: promise "nope" not found$/);
  });
});

describe.concurrent("connection and help", () => {
  it("an unreachable node is one sentence naming it (exit 1)", async () => {
    const port = await freePort();
    const result = await cli(["promises", "get", "x", "--server", `http://127.0.0.1:${port}`]);
    expectError(result, 1, new RegExp(`^error: cannot reach the node at http://127\\.0\\.0\\.1:${port} \\(connection refused\\); is it running\\?$`));
  });

  it("--server is also accepted before the subcommand, as a global flag", async () => {
    await createPromise("global-1");
    const result = await cli(["--server", server, "promises", "get", "global-1", "--json"], { env: { RESONATE_SERVER: "http://127.0.0.1:1" } });
    expect(json(result).id).toBe("global-1");
  });

  it("RESONATE_SERVER picks the node when --server is not given", async () => {
    await createPromise("env-1");
    const result = await cli(["promises", "get", "env-1", "--json"], { env: { RESONATE_SERVER: server } });
    expect(json(result).id).toBe("env-1");
  });

  it("--token goes out as authorization: Bearer metadata", async () => {
    // A stand-in node that records what it was sent.
    const seen: string[] = [];
    const fake = new grpc.Server();
    const notFound = (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<never>) => {
      seen.push(String(call.metadata.get("authorization")[0]));
      done({ code: grpc.status.NOT_FOUND, details: "not found" });
    };
    const unused = notFound as never;
    addService(fake, PromiseService, {
      get: notFound as never,
      create: unused,
      settle: unused,
      registerCallback: unused,
      registerListener: unused,
      search: unused,
      watch: unused,
    });
    const port = await new Promise<number>((ok, fail) =>
      fake.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? fail(err) : ok(p))),
    );
    try {
      const flag = await cli(["promises", "get", "x", "--server", `http://127.0.0.1:${port}`, "--token", "s3cret"]);
      expectError(flag, 1, /not found/);
      const env = await cli(["promises", "get", "x", "--server", `http://127.0.0.1:${port}`], { env: { RESONATE_TOKEN: "from-env" } });
      expectError(env, 1, /not found/);
      expect(seen).toEqual(["Bearer s3cret", "Bearer from-env"]);
    } finally {
      fake.forceShutdown();
    }
  });

  it("a malformed --server is a usage error", async () => {
    expectError(await cli(["promises", "get", "x", "--server", "ftp://x"]), 2, /--server "ftp:\/\/x" must start with http/);
  });

  it.each([[[]], [["invoke"]]])("resonate %j --help prints usage and exits 0", async (args) => {
    const result = await cli([...args, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: resonate/);
  });

});
