// `resonate invoke`: start a function on a worker by creating its root promise,
// exactly as the SDKs do it (param `{func, args, version}`, the root tags, a target).

import { Command } from "commander";
import { parseAddress, formatAddress } from "../../protocol/address.ts";
import { Tag, type PromiseCreateData, type PromiseRecord } from "../../protocol/types.ts";
import { RefusedError, UsageError } from "../errors.ts";
import { encodeValue, parseDuration, parseJsonArg, renderValue, type InvocationParam } from "../format.ts";
import { clientAction, clientOptions, collect, examples, parseIntFlag, usageExits, type CommandContext } from "./common.ts";

export interface InvokeOptions {
  func?: string;
  arg?: string[];
  jsonArgs?: string;
  target: string;
  timeout: string;
  version: string;
  delay?: string;
  wait?: boolean;
}

/** A target as given (`workers` or a full address) as the address the node routes on. */
export function normalizeTarget(target: string): string {
  const parsed = parseAddress(target);
  if (typeof parsed === "string") throw new UsageError(`--target ${parsed}`);
  return formatAddress(parsed);
}

/** The argument list from `--arg` (repeated) or `--json-args`. */
export function invocationArgs(opts: Pick<InvokeOptions, "arg" | "jsonArgs">): unknown[] {
  if (opts.jsonArgs !== undefined) {
    if (opts.arg !== undefined) throw new UsageError("give the arguments either with --arg or with --json-args, not both");
    const parsed = parseJsonArg(opts.jsonArgs, "--json-args");
    if (!Array.isArray(parsed)) throw new UsageError(`--json-args must be a JSON array, such as '["World", 2]'`);
    return parsed;
  }
  return (opts.arg ?? []).map((a) => parseJsonArg(a, "--arg"));
}

/** The one `promise.create` that `invoke` sends. */
export function invokeRequest(id: string, opts: InvokeOptions, now: number): PromiseCreateData {
  if (id.trim() === "") throw new UsageError("the promise id must not be empty");
  const func = opts.func?.trim();
  if (!func) throw new UsageError("--func names the function to run and must not be empty");
  const param: InvocationParam = {
    func,
    args: invocationArgs(opts),
    version: parseIntFlag(opts.version, "--version", 1, 2 ** 31 - 1)!,
  };
  const timeout = parseDuration(opts.timeout, "--timeout");
  if (timeout <= 0) throw new UsageError("--timeout must be longer than 0ms");
  const delay = opts.delay === undefined ? 0 : parseDuration(opts.delay, "--delay");
  const tags: Record<string, string> = {
    [Tag.target]: normalizeTarget(opts.target),
    [Tag.origin]: id,
    [Tag.branch]: id,
    [Tag.parent]: id,
    [Tag.scope]: "global",
  };
  // The delay defers the first execution; the timeout counts from when it may start.
  if (opts.delay !== undefined) tags[Tag.delay] = String(now + delay);
  return { id, timeoutAt: now + delay + timeout, param: encodeValue(param), tags };
}

/** Print a settled promise's outcome; a rejection is a refusal (exit 1). */
export function reportOutcome(ctx: CommandContext, p: PromiseRecord): void {
  if (ctx.json) ctx.io.json(p);
  else if (p.state === "resolved") ctx.io.print(renderValue(p.value, true));
  switch (p.state) {
    case "resolved":
    case "pending":
      return;
    case "rejected":
      throw new RefusedError(`"${p.id}" was rejected: ${renderValue(p.value)}`);
    case "rejected_canceled":
      throw new RefusedError(`"${p.id}" was canceled`);
    case "rejected_timedout":
      throw new RefusedError(`"${p.id}" timed out before it completed`);
  }
}

export function registerInvoke(program: Command): Command {
  const cmd = program
    .command("invoke")
    .description("start a function on a worker: create its root promise, print the id, and with --wait its result")
    .argument("<id>", "the promise id of this execution; invoking an existing id again starts nothing new")
    .option("-f, --func <name>", "the registered function to run (required)")
    .option("--arg <json>", "an argument as JSON (repeat for more: --arg 1 --arg '\"x\"')", collect)
    .option("--json-args <json>", "all arguments as one JSON array, instead of --arg")
    .option("--target <address>", "where the task goes: a group name or poll://any@group[/pid]", "poll://any@default")
    .option("-t, --timeout <duration>", "how long the execution may take, such as 30s, 1m30s, 1h, 2d", "1h")
    .option("--version <n>", "the function version to run", "1")
    .option("--delay <duration>", "start no earlier than this from now, such as 5s or 10m")
    .option("-w, --wait", "wait for the result and print it");
  clientOptions(cmd)
    .addHelpText(
      "after",
      examples(
        `resonate invoke greet-1 --func greet --arg '"World"'`,
        `resonate invoke greet-2 --func greet --arg '"World"' --wait`,
        `resonate invoke sum-1 --func add --json-args '[1, 2]' --target poll://any@workers --timeout 10m`,
        `resonate invoke report-1 --func report --delay 30s`,
      ),
    )
    .action(
      clientAction(async (ctx, id: string) => {
        const opts = cmd.opts() as InvokeOptions;
        const request = invokeRequest(id, opts, ctx.now());
        const created = await ctx.client.promiseCreate(request);
        if (created.param.data !== request.param!.data) {
          ctx.io.note(`note: "${id}" already exists (${created.state}) with other arguments; nothing new was started`);
        } else if (created.state !== "pending") {
          ctx.io.note(`note: "${id}" already exists (${created.state}); nothing new was started`);
        }
        if (!opts.wait) {
          if (ctx.json) ctx.io.json(created);
          else ctx.io.print(id);
          return;
        }
        reportOutcome(ctx, await ctx.client.promiseWait(id));
      }),
    );
  usageExits(cmd);
  return cmd;
}
