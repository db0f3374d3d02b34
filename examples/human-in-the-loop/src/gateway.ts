// The HTTP gateway (Node's own `http`, no framework). It holds no state: an
// expense is the durable promise of its workflow, an approval is the latent
// promise the workflow waits on.
//
//   POST /expenses              {"amount": 120, "description": "team lunch", "id"?: "expense-1"}
//                               starts the workflow; 202 {"id", "status": "pending"}
//   GET  /expenses/:id          {"id", "status": "pending" | "approved" | "rejected", "approval"?, "result"?}
//   POST /approvals/:approvalId {"approved": true, "by": "alice"}
//                               settles the approval; the workflow wakes up on a worker

import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Resonate, ResonateError } from "@resonate-mesh/sdk";
import { APPROVAL_FOR, type Decision, type Expense, type Outcome } from "./workflow.ts";

const port = Number(process.env.PORT ?? 3000);
const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001", group: "gateway" });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 64 * 1024) throw new HttpError(413, "the body is larger than 64 KiB");
  }
  let body: unknown;
  try {
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new HttpError(400, "the body is not JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "the body must be a JSON object");
  return body as Record<string, unknown>;
}

const ID = /^[A-Za-z0-9._:-]{1,128}$/;

function isNotFound(err: unknown): boolean {
  return err instanceof ResonateError && err.code === "PROMISE_NOT_FOUND";
}

async function startExpense(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const { amount, description } = body;
  if (typeof amount !== "number" || !(amount > 0)) throw new HttpError(400, "amount must be a number greater than 0");
  if (typeof description !== "string" || description.trim() === "") throw new HttpError(400, "description must be a non-empty string");
  const id = body.id ?? `expense-${randomUUID().slice(0, 8)}`;
  if (typeof id !== "string" || !ID.test(id)) throw new HttpError(400, "id must be 1-128 letters, digits, '.', '_', ':' or '-'");

  const expense: Expense = { amount, description };
  // The id makes this idempotent: posting the same id again is the same expense.
  const handle = await resonate.rpc<Outcome>(id, "approve_expense", expense).target("poll://any@workers").spawn();
  send(res, 202, { id: handle.id, status: "pending", location: `/expenses/${handle.id}` }, { location: `/expenses/${handle.id}` });
}

async function showExpense(res: ServerResponse, id: string): Promise<void> {
  let expense;
  try {
    expense = await resonate.promises.get<Outcome>(id);
  } catch (err) {
    if (isNotFound(err)) throw new HttpError(404, `no expense "${id}"`);
    throw err;
  }
  if (expense.state === "resolved") {
    const result = expense.value!;
    send(res, 200, { id, status: result.status, result });
  } else if (expense.state === "pending") {
    const { promises } = await resonate.promises.search({ tags: { [APPROVAL_FOR]: id }, state: "pending", limit: 1 });
    send(res, 200, { id, status: "pending", approval: promises[0]?.id ?? null });
  } else {
    send(res, 200, { id, status: "failed", error: expense.state });
  }
}

async function decide(req: IncomingMessage, res: ServerResponse, approvalId: string): Promise<void> {
  const body = await readJson(req);
  if (typeof body.approved !== "boolean") throw new HttpError(400, "approved must be true or false");
  if (body.by !== undefined && typeof body.by !== "string") throw new HttpError(400, "by must be a string");

  let approval;
  try {
    approval = await resonate.promises.get(approvalId);
  } catch (err) {
    if (isNotFound(err)) throw new HttpError(404, `no approval "${approvalId}"`);
    throw err;
  }
  // Only approvals go through here, not any promise someone can name.
  const expenseId = approval.tags[APPROVAL_FOR];
  if (expenseId === undefined) throw new HttpError(404, `no approval "${approvalId}"`);
  if (approval.state !== "pending") throw new HttpError(409, `approval "${approvalId}" was already decided`);

  const decision: Decision = body.by === undefined ? { approved: body.approved } : { approved: body.approved, by: body.by as string };
  const settled = await resonate.promises.resolve(approvalId, decision);
  // Settling is idempotent: if someone else decided first, theirs stands.
  const mine = JSON.stringify(settled.value) === JSON.stringify(decision);
  if (!mine) throw new HttpError(409, `approval "${approvalId}" was already decided`);
  send(res, 200, { approval: approvalId, expense: expenseId, ...decision });
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://gateway");
  const expense = /^\/expenses\/([^/]+)$/.exec(url.pathname);
  const approval = /^\/approvals\/([^/]+)$/.exec(url.pathname);
  let handled: Promise<void>;
  if (req.method === "POST" && url.pathname === "/expenses") handled = startExpense(req, res);
  else if (req.method === "GET" && expense) handled = showExpense(res, decodeURIComponent(expense[1]!));
  else if (req.method === "POST" && approval) handled = decide(req, res, decodeURIComponent(approval[1]!));
  else handled = Promise.reject(new HttpError(404, `no route ${req.method} ${url.pathname}`));
  handled.catch((err: unknown) => {
    if (err instanceof HttpError) send(res, err.status, { error: err.message });
    else {
      console.error(`[gateway] ${req.method} ${url.pathname} failed:`, err);
      send(res, 500, { error: err instanceof Error ? err.message : String(err) });
    }
  });
});

server.listen(port, "127.0.0.1", () => console.log(`[gateway] listening on http://127.0.0.1:${port}`));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.close();
    void resonate.stop().then(() => process.exit(0));
  });
}
