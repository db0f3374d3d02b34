// `resonate tree <id>`: the call graph of one execution, from the promises that
// share its `resonate:origin`, linked along `resonate:parent`.

import { Command } from "commander";
import type { PromiseRecord } from "../../protocol/types.ts";
import { Tag } from "../../protocol/types.ts";
import type { CliClient } from "../client.ts";
import { UsageError } from "../errors.ts";
import { buildTree, formatTree, funcOf, type TreeNode } from "../format.ts";
import { clientAction, clientOptions, examples, usageExits } from "./common.ts";

/** Past this many promises the tree is cut short rather than flooding the terminal. */
const MAX_PROMISES = 10_000;

/** Every promise of the execution rooted at `id` (the root read directly, so an untagged root still shows). */
export async function executionPromises(client: CliClient, id: string): Promise<{ promises: PromiseRecord[]; truncated: boolean }> {
  const root = await client.promiseGet(id);
  const found = new Map<string, PromiseRecord>([[root.id, root]]);
  let cursor: string | undefined;
  do {
    const page = await client.promiseSearch({ tags: { [Tag.origin]: id }, limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const p of page.promises) found.set(p.id, p);
    cursor = page.cursor;
  } while (cursor !== undefined && found.size < MAX_PROMISES);
  return { promises: [...found.values()], truncated: cursor !== undefined };
}

interface JsonNode {
  id: string;
  func: string | null;
  state: PromiseRecord["state"];
  createdAt: number;
  settledAt: number | null;
  children: JsonNode[];
}

function toJsonNode(node: TreeNode): JsonNode {
  const p = node.promise;
  return {
    id: p.id,
    func: funcOf(p) ?? null,
    state: p.state,
    createdAt: p.createdAt,
    settledAt: p.settledAt ?? null,
    children: node.children.map(toJsonNode),
  };
}

export function registerTree(program: Command): Command {
  const cmd = program
    .command("tree")
    .description("show the call graph of an execution as a tree, with states and durations")
    .argument("<id>", "the root promise id of the execution (the id given to invoke or run)");
  clientOptions(cmd)
    .addHelpText(
      "after",
      examples("resonate tree greet-1", "resonate tree factorial-5 --json") +
        "\nEach line is one durable call: its promise id, the function it ran (sleep for a timer),\nits state, and how long it took (or has been pending so far).\n",
    )
    .action(
      clientAction(async (ctx, id: string) => {
        if (id.trim() === "") throw new UsageError("the promise id must not be empty");
        const { promises, truncated } = await executionPromises(ctx.client, id);
        const tree = buildTree(id, promises)!;
        if (ctx.json) ctx.io.json(toJsonNode(tree));
        else ctx.io.print(formatTree(tree, ctx.now()));
        if (truncated) ctx.io.note(`note: only the first ${MAX_PROMISES} promises of "${id}" are shown`);
      }),
    );
  usageExits(cmd);
  return cmd;
}
