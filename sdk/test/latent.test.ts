// Latent promises with ids of their own: outside code that knows the business
// key (an order, an expense) settles them without asking the workflow for an id.

import { describe, expect, it } from "vitest";
import type { Context } from "../src/index.ts";
import { local, peer, taskState } from "./helpers.ts";

describe("latent promises with an explicit id", () => {
  it("a workflow suspends on ctx.promise({ id }) and resumes when that id is resolved", async () => {
    const client = local();
    const gateway = peer(client, { group: "gateway" });
    async function expense(ctx: Context, order: string) {
      const approved = await ctx.promise<boolean>({ id: `approval-${order}` });
      return approved ? `${order} paid` : `${order} refused`;
    }
    client.register(expense);
    const handle = await client.run("expense-7", expense, "o-7").spawn();
    await taskState(client, "expense-7", "suspended");
    expect((await gateway.promises.get("approval-o-7")).pending).toBe(true);
    await gateway.promises.resolve("approval-o-7", true);
    expect(await handle.result()).toBe("o-7 paid");
  });

  it("an explicit id keeps the ids of the calls after it where they were", async () => {
    const client = local();
    async function step(_ctx: Context) {
      return "done";
    }
    async function flow(ctx: Context) {
      const latent = await ctx.promise<string>({ id: "external-key" }).spawn();
      await ctx.run(step);
      return latent.id;
    }
    client.register(flow);
    const handle = await client.run("keyed", flow).spawn();
    await taskState(client, "keyed", "suspended");
    expect((await client.promises.get("keyed.1")).value).toBe("done");
    await client.promises.resolve("external-key", "ok");
    expect(await handle.result()).toBe("external-key");
  });
});
