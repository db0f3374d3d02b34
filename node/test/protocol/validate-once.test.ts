// The node validates a request before running it and transition() validates
// it on every run; a request already found valid under a config is not
// checked again under that config, and is checked afresh under another.

import { expect, test } from "vitest";
import { defaultProtocolConfig, resolveConfig } from "../../src/protocol/config.ts";
import type { Request } from "../../src/protocol/types.ts";
import { validateRequest } from "../../src/protocol/validate.ts";

const request: Request = { kind: "promise.get", data: { id: "a-rather-long-id" } };

test("a request valid under one config is judged again under a stricter one", () => {
  expect(validateRequest(request, defaultProtocolConfig)).toBeUndefined();
  const strict = resolveConfig({ maxIdLength: 4 });
  expect(validateRequest(request, strict)?.field).toBe("data.id");
  expect(validateRequest(request, defaultProtocolConfig)).toBeUndefined();
});

test("an invalid request is refused every time it is sent", () => {
  const bad = { kind: "promise.get", data: { id: "" } } as Request;
  expect(validateRequest(bad)?.field).toBe("data.id");
  expect(validateRequest(bad)?.field).toBe("data.id");
});
