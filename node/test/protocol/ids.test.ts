import { describe, expect, test } from "vitest";
import { childId, isDescendantOrSelf, originOf, sameOrigin } from "../../src/protocol/ids.ts";

describe("ids", () => {
  test("originOf splits on the first ':' when there is one", () => {
    expect(originOf("wf:0.1")).toBe("wf");
    expect(originOf("my.app.wf:3")).toBe("my.app.wf");
  });

  test("originOf splits on the first '.' when there is no ':'", () => {
    expect(originOf("wf.0.1")).toBe("wf");
    expect(originOf("wf")).toBe("wf");
  });

  test("childId joins with '.'", () => {
    expect(childId("wf", 0)).toBe("wf.0");
    expect(childId("wf.0", 3)).toBe("wf.0.3");
  });

  test("isDescendantOrSelf accepts both separators and rejects mere string prefixes", () => {
    expect(isDescendantOrSelf("wf", "wf")).toBe(true);
    expect(isDescendantOrSelf("wf.1.2", "wf.1")).toBe(true);
    expect(isDescendantOrSelf("wf:1.2", "wf")).toBe(true);
    expect(isDescendantOrSelf("wf:1.2", "wf:1")).toBe(true);
    expect(isDescendantOrSelf("wf10", "wf1")).toBe(false);
    expect(isDescendantOrSelf("wf", "wf.1")).toBe(false);
  });

  test("sameOrigin holds within a tree, including a dotted root and its ':' children", () => {
    expect(sameOrigin("wf.1", "wf.2.3")).toBe(true);
    expect(sameOrigin("my.app.wf", "my.app.wf:0")).toBe(true);
    expect(sameOrigin("a", "b.1")).toBe(false);
  });
});
