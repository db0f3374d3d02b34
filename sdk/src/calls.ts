// Comparing a replayed call with the promise it recorded, and describing
// either for a person. Each child's param holds its function name and
// arguments (the official invocation shape), so a replay can tell that the
// code now makes a different call at the same position.

import type { PromiseRecord, Value } from "@resonate-mesh/node/protocol";
import { Tag } from "@resonate-mesh/node/protocol";
import type { Codec } from "./codec.ts";

type CallKind = "run" | "rpc" | "sleep" | "promise";

function kindOf(tags: Record<string, string>): CallKind {
  if (tags[Tag.timer] === "true") return "sleep";
  if (tags[Tag.scope] === "local") return "run";
  if (tags[Tag.target] !== undefined) return "rpc";
  return "promise";
}

function parse(value: Value): { func?: unknown; args?: unknown } | undefined {
  if (value.data === "") return undefined;
  try {
    const json: unknown = JSON.parse(Buffer.from(value.data, "base64").toString("utf8"));
    return json !== null && typeof json === "object" ? (json as { func?: unknown; args?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

/** JSON with object keys sorted, so two encodings of one value compare equal. */
function canonical(json: unknown): string {
  if (Array.isArray(json)) return `[${json.map(canonical).join(",")}]`;
  if (json !== null && typeof json === "object") {
    const keys = Object.keys(json).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((json as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(json) ?? "undefined";
}

export interface CallShape {
  kind: "run" | "rpc" | "detached" | "sleep" | "promise";
}

export function sameCall(spec: CallShape, param: Value, recorded: PromiseRecord, _codec: Codec): boolean {
  const kind = spec.kind === "detached" ? "rpc" : spec.kind;
  if (kindOf(recorded.tags) !== kind) return false;
  // A sleep's length and a latent promise's data may be computed from the clock; only their position counts.
  if (kind === "sleep" || kind === "promise") return true;
  if (recorded.param.data === param.data) return true;
  const a = parse(recorded.param);
  const b = parse(param);
  if (a === undefined || b === undefined) return false;
  return a.func === b.func && canonical(a.args ?? []) === canonical(b.args ?? []);
}

function short(text: string, max = 120): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function describeCall(p: { id: string; param: Value; tags: Record<string, string> }, _codec: Codec): string {
  const kind = kindOf(p.tags);
  const call = parse(p.param);
  const func = typeof call?.func === "string" ? call.func : "?";
  const args = Array.isArray(call?.args) ? call.args.map((a) => short(canonical(a), 60)).join(", ") : "";
  switch (kind) {
    case "sleep":
      return "ctx.sleep(...)";
    case "promise":
      return "ctx.promise()";
    case "run":
      return `ctx.run(${func}${args === "" ? "" : `, ${args}`})`;
    case "rpc":
      return `ctx.rpc("${func}"${args === "" ? "" : `, ${args}`})`;
  }
}
