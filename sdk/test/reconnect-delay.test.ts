import { describe, expect, it } from "vitest";
import { reconnectDelay } from "../src/transport/grpc.ts";

describe("reconnection backoff", () => {
  it("grows from 100 ms, is capped, and is jittered between half and all of its ceiling", () => {
    expect(reconnectDelay(1, 5_000, () => 0)).toBe(50);
    expect(reconnectDelay(1, 5_000, () => 1)).toBe(100);
    expect(reconnectDelay(4, 5_000, () => 1)).toBe(800);
    expect(reconnectDelay(30, 5_000, () => 0)).toBe(2_500);
    expect(reconnectDelay(30, 5_000, () => 1)).toBe(5_000);
  });
});
