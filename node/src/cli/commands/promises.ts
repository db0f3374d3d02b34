// `resonate promises get|create|resolve|reject|cancel|search`: durable promises by hand.

import { Command } from "commander";
import type { PromiseRecord, PromiseSearchData, PromiseSettleData } from "../../protocol/types.ts";
import { RefusedError, UsageError } from "../errors.ts";
import {
  encodeValue,
  formatPromise,
  parseDuration,
  parseJsonArg,
  parseTag,
  parseTagsJson,
  promiseTable,
} from "../format.ts";
import { clientAction, clientOptions, collect, examples, parseIntFlag, usageExits, type CommandContext } from "./common.ts";

const SEARCH_STATES = ["pending", "resolved", "rejected", "rejected_canceled", "rejected_timedout"] as const;

export function parseState<S extends string>(text: string | undefined, allowed: readonly S[]): S | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`--state "${text}" is not one of ${allowed.join(", ")}`);
  }
  return text as S;
}

export function tagsFrom(opts: { tag?: string[]; tags?: string }, what = "--tags"): Record<string, string> {
  let tags = opts.tags === undefined ? {} : parseTagsJson(opts.tags, what);
  for (const t of opts.tag ?? []) tags = parseTag(t, tags);
  return tags;
}

function requireId(id: string): string {
  if (id.trim() === "") throw new UsageError("the promise id must not be empty");
  return id;
}

function show(ctx: CommandContext, p: PromiseRecord): void {
  if (ctx.json) ctx.io.json(p);
  else ctx.io.print(formatPromise(p, ctx.now()));
}

/** Print a page of results and, when there is more, how to get the next page. */
export function showPage<T>(
  ctx: CommandContext,
  key: string,
  items: T[],
  cursor: string | undefined,
  render: (items: T[]) => string,
  noun: string,
): void {
  if (ctx.json) {
    ctx.io.json(cursor === undefined ? { [key]: items } : { [key]: items, cursor });
    return;
  }
  ctx.io.print(items.length === 0 ? `no ${noun} found` : render(items));
  if (cursor !== undefined) ctx.io.print(`\nmore: add --cursor ${cursor}`);
}

const PARTICIPLE: Record<PromiseRecord["state"], string> = {
  pending: "pending",
  resolved: "resolved",
  rejected: "rejected",
  rejected_canceled: "canceled",
  rejected_timedout: "timed out",
};

const SETTLE_VERB = { resolved: "resolve", rejected: "reject", rejected_canceled: "cancel" } as const;

function registerSettle(parent: Command, state: PromiseSettleData["state"], description: string, example: string): void {
  const verb = SETTLE_VERB[state];
  const cmd = parent
    .command(verb)
    .description(description)
    .argument("<id>", "the promise id")
    .option("--value <json>", "the value as JSON (encoded like the SDKs)");
  clientOptions(cmd)
    .addHelpText("after", examples(example))
    .action(
      clientAction(async (ctx, id: string) => {
        const opts = cmd.opts() as { value?: string };
        const value = opts.value === undefined ? encodeValue(undefined) : encodeValue(parseJsonArg(opts.value, "--value"));
        const settled = await ctx.client.promiseSettle({ id: requireId(id), state, value });
        show(ctx, settled);
        // Settling is idempotent: an already settled promise comes back as it was.
        if (settled.state !== state) {
          throw new RefusedError(`promise "${id}" was already ${PARTICIPLE[settled.state]}, so it was not ${PARTICIPLE[state]}`);
        }
      }),
    );
}

export function registerPromises(program: Command): Command {
  const promises = program
    .command("promises")
    .alias("promise")
    .description("read, create, settle and search durable promises")
    .addHelpText(
      "after",
      examples(
        "resonate promises get greet-1",
        `resonate promises create approval-1 --timeout 1d --param '{"order":42}'`,
        `resonate promises resolve approval-1 --value '{"approved":true}'`,
        "resonate promises search 'greet-*' --state pending",
      ),
    );

  const get = promises.command("get").description("show one promise, its value decoded").argument("<id>", "the promise id");
  clientOptions(get)
    .addHelpText("after", examples("resonate promises get greet-1", "resonate promises get greet-1 --json"))
    .action(
      clientAction(async (ctx, id: string) => {
        show(ctx, await ctx.client.promiseGet(requireId(id)));
      }),
    );

  const create = promises
    .command("create")
    .description("create a pending promise (an existing id returns the existing promise)")
    .argument("<id>", "the promise id")
    .option("-t, --timeout <duration>", "how long it may stay pending, such as 30s, 1h, 7d", "1h")
    .option("--param <json>", "the param as JSON (encoded like the SDKs)")
    .option("--tag <key=value>", "a tag (repeat for more)", collect)
    .option("--tags <json>", "tags as a JSON object of strings");
  clientOptions(create)
    .addHelpText(
      "after",
      examples(
        "resonate promises create approval-1 --timeout 1d",
        `resonate promises create job-1 --param '{"n":3}' --tag env=dev --tag team=core`,
      ),
    )
    .action(
      clientAction(async (ctx, id: string) => {
        const opts = create.opts() as { timeout: string; param?: string; tag?: string[]; tags?: string };
        const timeout = parseDuration(opts.timeout, "--timeout");
        const param = opts.param === undefined ? encodeValue(undefined) : encodeValue(parseJsonArg(opts.param, "--param"));
        const tags = tagsFrom(opts);
        show(ctx, await ctx.client.promiseCreate({ id: requireId(id), timeoutAt: ctx.now() + timeout, param, tags }));
      }),
    );

  registerSettle(promises, "resolved", "resolve a pending promise with a value", `resonate promises resolve approval-1 --value '{"approved":true}'`);
  registerSettle(promises, "rejected", "reject a pending promise with a value", `resonate promises reject approval-1 --value '"not approved"'`);
  registerSettle(promises, "rejected_canceled", "cancel a pending promise", "resonate promises cancel approval-1");

  const search = promises
    .command("search")
    .description("list promises by id prefix or glob, state and tags, ordered by id")
    .argument("[id]", "an id prefix, or a glob with * (all promises when left out)")
    .option("--state <state>", `one of ${SEARCH_STATES.join(", ")}`)
    .option("--tag <key=value>", "only promises with this tag (repeat for more)", collect)
    .option("--limit <n>", "at most this many (1-1000)", "100")
    .option("--cursor <cursor>", "continue from where the previous page ended");
  clientOptions(search)
    .addHelpText(
      "after",
      examples(
        "resonate promises search",
        "resonate promises search 'factorial-*' --state resolved",
        "resonate promises search --tag resonate:origin=greet-1",
      ),
    )
    .action(
      clientAction(async (ctx, id: string | undefined) => {
        const opts = search.opts() as { state?: string; tag?: string[]; limit: string; cursor?: string };
        const data: PromiseSearchData = { limit: parseIntFlag(opts.limit, "--limit", 1, 1000) };
        const state = parseState(opts.state, SEARCH_STATES);
        if (state !== undefined) data.state = state;
        if (opts.tag !== undefined) data.tags = tagsFrom(opts);
        if (id !== undefined && id !== "" && id !== "*") data.id = id;
        if (opts.cursor !== undefined) data.cursor = opts.cursor;
        const page = await ctx.client.promiseSearch(data);
        showPage(ctx, "promises", page.promises, page.cursor, (ps) => promiseTable(ps, ctx.now()), "promises");
      }),
    );

  usageExits(promises);
  return promises;
}
