// The `resonate` CLI against a real node, run the way a user runs it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, freePort, start, startNode, resonateBin, type CliResult, type NodeProc } from "./harness.ts";

let node: NodeProc;
let server: string;

beforeAll(async () => {
  node = await startNode();
  server = node.url;
});

afterAll(async () => {
  await node?.stop();
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64");
const run = (...args: string[]) => cli([...args, "--server", server]);

/** A failure: the exit code, and stderr is exactly one line starting with "error:". */
function expectError(result: CliResult, code: number, message: RegExp): void {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code, stdout: "" });
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
}

function json<T = any>(result: CliResult): T {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

describe("resonate invoke", () => {
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
    await run("invoke", "task-1", "--func", "f", "--target", "workers");
    const task = json(await run("tasks", "get", "task-1", "--json"));
    expect(task).toMatchObject({ id: "task-1", state: "pending" });
    const promise = json(await run("promises", "get", "task-1", "--json"));
    expect(promise.tags["resonate:target"]).toBe("poll://any@workers");
  });

  it("--delay tags the promise with when it may start", async () => {
    const before = Date.now();
    await run("invoke", "later-1", "--func", "f", "--delay", "1h", "--timeout", "1m");
    const promise = json(await run("promises", "get", "later-1", "--json"));
    const delay = Number(promise.tags["resonate:delay"]);
    expect(delay).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(promise.timeoutAt - delay).toBe(60_000);
  });

  it("invoking an existing id again starts nothing new and says so", async () => {
    await run("invoke", "twice-1", "--func", "f", "--arg", "1");
    const again = await run("invoke", "twice-1", "--func", "f", "--arg", "2");
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("twice-1\n");
    expect(again.stderr).toMatch(/already exists .*nothing new was started/);
  });

  it("--wait prints the value once the promise is resolved", async () => {
    const waiting = start("invoke --wait", process.execPath, [resonateBin, "invoke", "wait-1", "--func", "f", "--wait", "--server", server]);
    await expect.poll(async () => (await run("promises", "get", "wait-1", "--json")).code, { timeout: 15_000 }).toBe(0);
    await run("promises", "resolve", "wait-1", "--value", '{"ok":true}');
    expect(await waiting.exited).toBe(0);
    expect(JSON.parse(waiting.stdout)).toEqual({ ok: true });
  });

  it("--wait on a rejected promise exits 1 with the error", async () => {
    const waiting = start("invoke --wait", process.execPath, [resonateBin, "invoke", "wait-2", "--func", "f", "--wait", "--server", server]);
    await expect.poll(async () => (await run("promises", "get", "wait-2", "--json")).code, { timeout: 15_000 }).toBe(0);
    await run("promises", "reject", "wait-2", "--value", '"no stock"');
    expect(await waiting.exited).toBe(1);
    expect(waiting.stderr.trim()).toBe('error: "wait-2" was rejected: "no stock"');
  });

  it.each([
    [["invoke", "x"], /--func/],
    [["invoke", "x", "--func", "f", "--arg", "World"], /--arg "World" is not valid JSON/],
    [["invoke", "x", "--func", "f", "--timeout", "10"], /--timeout "10" needs a unit/],
    [["invoke", "x", "--func", "f", "--target", "poll://uni@g"], /--target .*needs a pid/],
    [["invoke", "--func", "f"], /missing required argument 'id'/],
    [["invoke", "x", "--func", "f", "--bogus"], /unknown option '--bogus'/],
  ])("%j is a usage error (exit 2, one sentence)", async (args, message) => {
    expectError(await run(...args), 2, message);
  });
});

describe("resonate promises", () => {
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
    await run("promises", "create", "p-2");
    const settled = json(await run("promises", "reject", "p-2", "--value", '{"reason":"x"}', "--json"));
    expect(settled).toMatchObject({ id: "p-2", state: "rejected", value: { data: b64({ reason: "x" }) } });
  });

  it("cancel cancels", async () => {
    await run("promises", "create", "p-3");
    expect(json(await run("promises", "cancel", "p-3", "--json")).state).toBe("rejected_canceled");
  });

  it("settling a promise that is already settled otherwise is refused (exit 1)", async () => {
    await run("promises", "create", "p-4");
    await run("promises", "reject", "p-4");
    const again = await run("promises", "resolve", "p-4");
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe('error: promise "p-4" was already rejected, so it was not resolved');
  });

  it("search finds by id glob and state, as a table or JSON", async () => {
    await run("promises", "create", "s-a");
    await run("promises", "create", "s-b");
    await run("promises", "resolve", "s-b");
    const table = await run("promises", "search", "s-*");
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID +STATE +FUNC +CREATED$/);
    expect(table.stdout).toMatch(/^s-a +pending/m);
    expect(table.stdout).toMatch(/^s-b +resolved/m);

    const pending = json(await run("promises", "search", "s-*", "--state", "pending", "--json"));
    expect(pending.promises.map((p: { id: string }) => p.id)).toEqual(["s-a"]);
  });

  it("search pages with --limit and --cursor", async () => {
    for (const id of ["pg-1", "pg-2", "pg-3"]) await run("promises", "create", id);
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
    [["promises", "search", "--limit", "0"], /--limit must be between 1 and 1000/],
    [["promises", "create", "x", "--tag", "novalue"], /--tag "novalue" is not of the form key=value/],
    [["promises", "resolve", "x", "--value", "{"], /--value "\{" is not valid JSON/],
    [["promises", "frobnicate"], /unknown command 'frobnicate'/],
  ])("%j is a usage error (exit 2)", async (args, message) => {
    expectError(await run(...args), 2, message);
  });
});

describe("resonate tasks", () => {
  it("get and search show tasks", async () => {
    await run("invoke", "t-1", "--func", "f", "--target", "nobody-listens");
    expect((await run("tasks", "get", "t-1")).stdout).toMatch(/^state +pending$/m);
    const found = json(await run("tasks", "search", "t-", "--state", "pending", "--json"));
    expect(found.tasks.map((t: { id: string }) => t.id)).toContain("t-1");
    expect((await run("tasks", "search", "t-")).stdout).toMatch(/^t-1 +pending +\d+/m);
  });

  it("an unknown task is not found (exit 1)", async () => {
    expectError(await run("tasks", "get", "nope"), 1, /^error: task "nope" not found$/);
  });
});

describe("resonate schedules", () => {
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
    expectError(await run("schedules", "get", "nightly"), 1, /^error: schedule "nightly" not found$/);
  });

  it("a cron that does not parse is refused as bad input (exit 2)", async () => {
    const result = await run("schedules", "create", "bad", "--cron", "not a cron");
    expectError(result, 2, /cron/);
  });

  it("--cron is required", async () => {
    expectError(await run("schedules", "create", "x"), 2, /--cron is required/);
  });
});

describe("resonate tree", () => {
  it("shows an execution's promises along resonate:parent with funcs, states and durations", async () => {
    const tags = (parent: string) => ["--tag", "resonate:origin=wf", "--tag", `resonate:parent=${parent}`];
    await run("promises", "create", "wf", "--param", '{"func":"workflow","args":[],"version":1}', ...tags("wf"));
    await run("promises", "create", "wf.1", "--param", '{"func":"step","args":[1],"version":1}', ...tags("wf"));
    await run("promises", "create", "wf.2", "--param", '{"func":"child","args":[],"version":1}', ...tags("wf"));
    await run("promises", "create", "wf.2.1", "--param", '{"func":"leaf","args":[],"version":1}', ...tags("wf.2"));
    await run("promises", "create", "other", ...["--tag", "resonate:origin=other"]);
    await run("promises", "resolve", "wf.1", "--value", "1");

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

describe("connection and help", () => {
  it("an unreachable node is one sentence naming it (exit 1)", async () => {
    const port = await freePort();
    const result = await cli(["promises", "get", "x", "--server", `http://127.0.0.1:${port}`]);
    expectError(result, 1, new RegExp(`^error: cannot reach the node at http://127\\.0\\.0\\.1:${port} \\(connection refused\\); is it running\\?$`));
  });

  it("RESONATE_SERVER picks the node when --server is not given", async () => {
    const result = await cli(["promises", "get", "greet-1", "--json"], { env: { RESONATE_SERVER: server } });
    expect(json(result).id).toBe("greet-1");
  });

  it("a malformed --server is a usage error", async () => {
    expectError(await cli(["promises", "get", "x", "--server", "ftp://x"]), 2, /--server "ftp:\/\/x" must start with http/);
  });

  it.each([[[]], [["invoke"]], [["promises"]], [["promises", "search"]], [["schedules", "create"]], [["tasks"]], [["tree"]]])(
    "resonate %j --help describes the command with examples",
    async (args) => {
      const result = await cli([...args, "--help"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: resonate/);
      if (args.length > 0) expect(result.stdout).toMatch(/Examples:\n {2}resonate /);
    },
  );
});
