// An expense that needs a person's approval before it is paid.
//
// `ctx.promise()` makes a latent durable promise: nothing runs it, someone
// outside settles it by its id. The workflow asks for approval (here: prints
// the link an email would carry), then awaits the promise. While it waits it
// is suspended on the node: no worker holds it, so it can wait for days and
// survive any number of worker crashes. Resolving the promise wakes it up on
// whichever worker is alive.

import type { Context } from "@resonate-mesh/sdk";

export interface Expense {
  amount: number;
  description: string;
}

export interface Decision {
  approved: boolean;
  by?: string;
}

export interface Outcome {
  id: string;
  status: "approved" | "rejected";
  by: string | null;
  paid: number;
}

/** The tag the gateway finds an expense's pending approval by. */
export const APPROVAL_FOR = "approval-for";

export async function approveExpense(ctx: Context, expense: Expense): Promise<Outcome> {
  // spawn() creates the promise on the node now, so it exists before anyone is told its id.
  const approval = await ctx.promise<Decision>({ data: { expense }, tags: { [APPROVAL_FOR]: ctx.id } }).spawn();

  // A durable step: on a replay it is not run again, so the email goes out once.
  await ctx.run(requestApproval, ctx.id, approval.id, expense);

  const decision = await approval.result();
  if (!decision.approved) return { id: ctx.id, status: "rejected", by: decision.by ?? null, paid: 0 };

  const paid = await ctx.run(pay, ctx.id, expense);
  return { id: ctx.id, status: "approved", by: decision.by ?? null, paid };
}

/** Stands in for an email to the approver. */
async function requestApproval(_ctx: Context, id: string, approvalId: string, expense: Expense): Promise<void> {
  const gateway = process.env.GATEWAY_URL ?? "http://localhost:3000";
  console.log(`[${id}] approval needed for ${expense.amount} (${expense.description}); approval id ${approvalId}`);
  console.log(`[${id}]   approve: curl -X POST ${gateway}/approvals/${approvalId} -d '{"approved":true,"by":"you"}'`);
}

/** Stands in for the payment system. */
async function pay(_ctx: Context, id: string, expense: Expense): Promise<number> {
  console.log(`[${id}] paying ${expense.amount}`);
  return expense.amount;
}
