// `resonate dev` keeps a bounded history by default (settled promises for an
// hour after they settle); `resonate serve` keeps every promise unless told.
import { describe, expect, it } from "vitest";
import { buildProgram } from "@resonate-mesh/node/internal-for-tests";

function retentionDefault(command: string): unknown {
  const cmd = buildProgram().commands.find((c) => c.name() === command)!;
  return cmd.options.find((o) => o.long === "--retention-ms")!.defaultValue;
}

describe("retention defaults", () => {
  it("resonate dev removes settled promises an hour after they settled unless told otherwise", () => {
    expect(retentionDefault("dev")).toBe(3_600_000);
  });

  it("resonate serve keeps every promise unless told otherwise", () => {
    expect(retentionDefault("serve")).toBe(0);
  });
});
