// `resonate schedules create|get|delete|search`: cron schedules whose ticks are promises.

import { Command } from "commander";
import { Tag } from "../../protocol/types.ts";
import { UsageError } from "../errors.ts";
import {
  encodeValue,
  formatSchedule,
  parseDuration,
  parseJsonArg,
  scheduleTable,
  type InvocationParam,
} from "../format.ts";
import { clientAction, clientOptions, collect, examples, parseIntFlag, usageExits } from "./common.ts";
import { invocationArgs, normalizeTarget } from "./invoke.ts";
import { showPage, tagsFrom } from "./promises.ts";

interface CreateOptions {
  cron?: string;
  promiseId: string;
  promiseTimeout: string;
  promiseParam?: string;
  promiseTag?: string[];
  promiseTags?: string;
  func?: string;
  arg?: string[];
  jsonArgs?: string;
  target?: string;
  version: string;
}

function requireId(id: string): string {
  if (id.trim() === "") throw new UsageError("the schedule id must not be empty");
  return id;
}

export function registerSchedules(program: Command): Command {
  const schedules = program
    .command("schedules")
    .alias("schedule")
    .description("create, read, delete and search cron schedules; each tick creates a promise")
    .addHelpText(
      "after",
      examples(
        `resonate schedules create nightly --cron '0 3 * * *' --func report --target poll://any@workers`,
        "resonate schedules get nightly",
        "resonate schedules delete nightly",
      ),
    );

  const create = schedules
    .command("create")
    .description("create a schedule; with --func each tick invokes that function on a worker")
    .argument("<id>", "the schedule id")
    .option("--cron <expr>", "when to tick, a cron expression such as '*/5 * * * *' (required)")
    .option("--promise-id <template>", "id of each tick's promise; {{.id}} and {{.timestamp}} are filled in", "{{.id}}.{{.timestamp}}")
    .option("--promise-timeout <duration>", "how long each tick's promise may stay pending", "1h")
    .option("--promise-param <json>", "each tick's param as JSON (instead of --func)")
    .option("--promise-tag <key=value>", "a tag on each tick's promise (repeat for more)", collect)
    .option("--promise-tags <json>", "tags on each tick's promise as a JSON object")
    .option("-f, --func <name>", "the registered function each tick runs")
    .option("--arg <json>", "an argument for --func as JSON (repeat for more)", collect)
    .option("--json-args <json>", "all arguments for --func as one JSON array")
    .option("--target <address>", "where each tick's task goes (with --func): a group or poll://any@group", undefined)
    .option("--version <n>", "the function version (with --func)", "1");
  clientOptions(create)
    .addHelpText(
      "after",
      examples(
        `resonate schedules create every-minute --cron '* * * * *' --func tick --arg '"hello"' --target workers`,
        `resonate schedules create reminder --cron '0 9 * * 1' --promise-param '{"msg":"standup"}' --promise-timeout 1h`,
      ),
    )
    .action(
      clientAction(async (ctx, id: string) => {
        const opts = create.opts() as CreateOptions;
        const cron = opts.cron?.trim();
        if (!cron) throw new UsageError("--cron is required, such as --cron '*/5 * * * *'");
        const promiseTimeout = parseDuration(opts.promiseTimeout, "--promise-timeout");
        const promiseTags = tagsFrom({ tag: opts.promiseTag, tags: opts.promiseTags }, "--promise-tags");
        let promiseParam = encodeValue(undefined);
        if (opts.func !== undefined) {
          if (opts.promiseParam !== undefined) throw new UsageError("give either --func or --promise-param, not both");
          const param: InvocationParam = {
            func: opts.func,
            args: invocationArgs(opts),
            version: parseIntFlag(opts.version, "--version", 1, 2 ** 31 - 1)!,
          };
          promiseParam = encodeValue(param);
          promiseTags[Tag.target] = normalizeTarget(opts.target ?? "poll://any@default");
        } else {
          if (opts.arg !== undefined || opts.jsonArgs !== undefined) throw new UsageError("--arg and --json-args need --func");
          if (opts.promiseParam !== undefined) promiseParam = encodeValue(parseJsonArg(opts.promiseParam, "--promise-param"));
          if (opts.target !== undefined) promiseTags[Tag.target] = normalizeTarget(opts.target);
        }
        const schedule = await ctx.client.scheduleCreate({
          id: requireId(id),
          cron,
          promiseId: opts.promiseId,
          promiseTimeout,
          promiseParam,
          promiseTags,
        });
        if (ctx.json) ctx.io.json(schedule);
        else ctx.io.print(formatSchedule(schedule, ctx.now()));
      }),
    );

  const get = schedules.command("get").description("show one schedule").argument("<id>", "the schedule id");
  clientOptions(get)
    .addHelpText("after", examples("resonate schedules get nightly"))
    .action(
      clientAction(async (ctx, id: string) => {
        const schedule = await ctx.client.scheduleGet(requireId(id));
        if (ctx.json) ctx.io.json(schedule);
        else ctx.io.print(formatSchedule(schedule, ctx.now()));
      }),
    );

  const del = schedules
    .command("delete")
    .description("delete a schedule; promises it already created stay")
    .argument("<id>", "the schedule id");
  clientOptions(del)
    .addHelpText("after", examples("resonate schedules delete nightly"))
    .action(
      clientAction(async (ctx, id: string) => {
        await ctx.client.scheduleDelete(requireId(id));
        if (ctx.json) ctx.io.json({ id, deleted: true });
        else ctx.io.print(`deleted schedule "${id}"`);
      }),
    );

  const search = schedules
    .command("search")
    .description("list schedules by id prefix or glob and tags, ordered by id")
    .argument("[id]", "an id prefix, or a glob with * (all schedules when left out)")
    .option("--tag <key=value>", "only schedules with this tag (repeat for more)", collect)
    .option("--limit <n>", "at most this many (1-1000)", "100")
    .option("--cursor <cursor>", "continue from where the previous page ended");
  clientOptions(search)
    .addHelpText("after", examples("resonate schedules search", "resonate schedules search 'nightly-*'"))
    .action(
      clientAction(async (ctx, id: string | undefined) => {
        const opts = search.opts() as { tag?: string[]; limit: string; cursor?: string };
        const data: { tags?: Record<string, string>; id?: string; limit?: number; cursor?: string } = {
          limit: parseIntFlag(opts.limit, "--limit", 1, 1000),
        };
        if (opts.tag !== undefined) data.tags = tagsFrom(opts);
        if (id !== undefined && id !== "" && id !== "*") data.id = id;
        if (opts.cursor !== undefined) data.cursor = opts.cursor;
        const page = await ctx.client.scheduleSearch(data);
        showPage(ctx, "schedules", page.schedules, page.cursor, (s) => scheduleTable(s, ctx.now()), "schedules");
      }),
    );

  usageExits(schedules);
  return schedules;
}
