// `resonate tasks get|search`: the tasks that carry targeted promises to workers.

import { Command } from "commander";
import type { TaskState } from "../../protocol/types.ts";
import { UsageError } from "../errors.ts";
import { formatTask, taskTable } from "../format.ts";
import { clientAction, clientOptions, examples, parseIntFlag, usageExits } from "./common.ts";
import { parseState, showPage } from "./promises.ts";

const TASK_STATES: readonly TaskState[] = ["pending", "acquired", "suspended", "halted", "fulfilled"];

export function registerTasks(program: Command): Command {
  const tasks = program
    .command("tasks")
    .alias("task")
    .description("inspect tasks: who holds which execution, at which version")
    .addHelpText("after", examples("resonate tasks get greet-1", "resonate tasks search --state acquired"));

  const get = tasks.command("get").description("show one task (its id is its promise's id)").argument("<id>", "the task id");
  clientOptions(get)
    .addHelpText("after", examples("resonate tasks get greet-1", "resonate tasks get greet-1 --json"))
    .action(
      clientAction(async (ctx, id: string) => {
        if (id.trim() === "") throw new UsageError("the task id must not be empty");
        const task = await ctx.client.taskGet(id);
        if (ctx.json) ctx.io.json(task);
        else ctx.io.print(formatTask(task));
      }),
    );

  const search = tasks
    .command("search")
    .description("list tasks by id prefix or glob and state, ordered by id")
    .argument("[id]", "an id prefix, or a glob with * (all tasks when left out)")
    .option("--state <state>", `one of ${TASK_STATES.join(", ")}`)
    .option("--limit <n>", "at most this many (1-1000)", "100")
    .option("--cursor <cursor>", "continue from where the previous page ended");
  clientOptions(search)
    .addHelpText("after", examples("resonate tasks search", "resonate tasks search 'greet-*' --state pending"))
    .action(
      clientAction(async (ctx, id: string | undefined) => {
        const opts = search.opts() as { state?: string; limit: string; cursor?: string };
        const data: { state?: TaskState; id?: string; limit?: number; cursor?: string } = {
          limit: parseIntFlag(opts.limit, "--limit", 1, 1000),
        };
        const state = parseState(opts.state, TASK_STATES);
        if (state !== undefined) data.state = state;
        if (id !== undefined && id !== "" && id !== "*") data.id = id;
        if (opts.cursor !== undefined) data.cursor = opts.cursor;
        const page = await ctx.client.taskSearch(data);
        showPage(ctx, "tasks", page.tasks, page.cursor, taskTable, "tasks");
      }),
    );

  usageExits(tasks);
  return tasks;
}
