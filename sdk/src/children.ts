// What a child call is stored as: its param (the official invocation shape,
// so a replay can compare the call) and its tags (lineage, scope, routing).

import type { Value } from "@resonate-mesh/node/protocol";
import { Tag } from "@resonate-mesh/node/protocol";
import type { Codec } from "./codec.ts";
import type { ChildSpec } from "./execution.ts";
import type { ChildHeaders } from "./core/types.ts";

export function paramOf(spec: ChildSpec & ChildHeaders, codec: Codec): Value {
  const param = invocationOf(spec, codec);
  return spec.headers === undefined ? param : { ...param, headers: { ...param.headers, ...spec.headers } };
}

function invocationOf(spec: ChildSpec, codec: Codec): Value {
  switch (spec.kind) {
    case "run":
    case "rpc":
    case "detached": {
      const invocation: Record<string, unknown> = { func: spec.name, args: spec.args, version: spec.version };
      if (spec.kind !== "run" && spec.retry !== undefined) invocation.retry = spec.retry.encode();
      return codec.encode(invocation, "", spec.id);
    }
    case "sleep":
      return codec.encode({ func: "resonate:sleep", args: [spec.ms] }, "", spec.id);
    case "promise":
      return codec.encode({ func: "resonate:promise", args: spec.data === undefined ? [] : [spec.data] }, "", spec.id);
  }
}

export interface Lineage {
  originId: string;
  /** The root's branch: local children join it, so they come back in its preload. */
  branchId: string;
  parentId: string;
  /** Timers carry a target so the node times them out actively. */
  timerTarget: string;
}

export function childTags(spec: ChildSpec, lineage: Lineage): Record<string, string> {
  // Every local step takes this path: one literal with constant keys (the Tag values), no spreads.
  if (spec.kind === "run") {
    return {
      "resonate:origin": lineage.originId,
      "resonate:parent": lineage.parentId,
      "resonate:scope": "local",
      "resonate:branch": lineage.branchId,
    } satisfies Record<(typeof Tag)["origin" | "parent" | "scope" | "branch"], string>;
  }
  const base = { [Tag.origin]: lineage.originId, [Tag.parent]: lineage.parentId };
  switch (spec.kind) {
    case "rpc":
    case "detached":
      return { ...(spec.tags ?? {}), ...base, [Tag.scope]: "global", [Tag.branch]: spec.id, [Tag.target]: spec.target };
    case "sleep":
      return { ...base, [Tag.scope]: "global", [Tag.branch]: spec.id, [Tag.target]: lineage.timerTarget, [Tag.timer]: "true" };
    case "promise":
      return { ...(spec.tags ?? {}), ...base, [Tag.scope]: "global", [Tag.branch]: spec.id };
  }
}
