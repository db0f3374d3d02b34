// A TypeScript worker for the Python tests: functions Python calls, and
// workflows that call Python functions. Run with tsx from the repo root.

import { appendFileSync, existsSync } from "node:fs";
import { Resonate, type Context } from "@resonate-mesh/sdk";

const group = process.env.TS_GROUP ?? "ts-group";
const pyGroup = process.env.PY_GROUP ?? "py-group";
const countFile = process.env.COUNT_FILE ?? "";

const resonate = new Resonate({ url: process.env.RESONATE_URL, group, ttl: 5_000 });

/** What TypeScript sees: the kind of each value, so a test can tell a bigint from a number. */
function kind(v: unknown): unknown {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "bigint") return "bigint";
  if (Array.isArray(v)) return v.map(kind);
  if (v instanceof Error) return `error ${v.name}: ${v.message}`;
  if (typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, kind(x)]));
  return typeof v;
}

resonate.register(async (_ctx: Context, v: unknown) => v, { name: "tsEcho" });
resonate.register(async (_ctx: Context, v: unknown) => kind(v), { name: "tsKind" });
resonate.register(
  async (_ctx: Context, name: string, message: string) => {
    const err = name === "TypeError" ? new TypeError(message) : new Error(message);
    err.name = name;
    throw err;
  },
  { name: "tsThrow" },
);
resonate.register(
  async (_ctx: Context, x: number) => {
    if (countFile !== "") appendFileSync(countFile, "tsCounted\n");
    return x + 1;
  },
  { name: "tsCounted" },
);
resonate.register(async (_ctx: Context, x: number) => x * 2, { name: "tsDouble" });
/** A step that waits while `hold` exists, so a test can crash a caller while this workflow runs. */
async function waitWhileHeld(_ctx: Context, hold: string): Promise<void> {
  while (existsSync(hold)) await new Promise((r) => setTimeout(r, 50));
}
resonate.register(
  async (ctx: Context, hold: string, x: number) => {
    if (countFile !== "") appendFileSync(countFile, "tsFlow-start\n");
    await ctx.run(waitWhileHeld, hold);
    if (countFile !== "") appendFileSync(countFile, "tsFlow-done\n");
    return x + 1;
  },
  { name: "tsHeldFlow" },
);

resonate.register(
  async (ctx: Context, x: number) => await ctx.rpc<number>("pyDouble", x).target(`poll://any@${pyGroup}`),
  { name: "tsCallsPy" },
);
resonate.register(
  async (ctx: Context, x: number) => await ctx.rpc<number>("tsDouble", x).target(`poll://any@${group}`),
  { name: "tsCallsTs" },
);
resonate.register(
  async (ctx: Context, v: unknown) => {
    const back = await ctx.rpc("pyEcho", v).target(`poll://any@${pyGroup}`);
    return { back, kind: kind(back) };
  },
  { name: "tsEchoesThroughPy" },
);
resonate.register(
  async (ctx: Context, message: string) => {
    try {
      await ctx.rpc("pyFail", message).target(`poll://any@${pyGroup}`);
      return "no error";
    } catch (e) {
      const err = e as Error & { code?: unknown };
      return { name: err.name, message: err.message, isError: err instanceof Error, code: err.code ?? null };
    }
  },
  { name: "tsCatchesPy" },
);

console.log("ts worker ready");
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void resonate.stop().then(() => process.exit(0)));
}
