// Traces are switched on by the standard OTEL_* variables only.

import { describe, expect, it } from "vitest";
import { tracesRequested } from "../../src/telemetry/tracing.ts";

describe("OTEL_* switch traces on and off", () => {
  it("is off with no OTEL_* variable", () => {
    expect(tracesRequested({})).toBe(false);
  });

  it("is on with an OTLP endpoint, general or for traces", () => {
    expect(tracesRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" })).toBe(true);
    expect(tracesRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:4318/v1/traces" })).toBe(true);
  });

  it("is on with an exporter named, off with none", () => {
    expect(tracesRequested({ OTEL_TRACES_EXPORTER: "otlp" })).toBe(true);
    expect(tracesRequested({ OTEL_TRACES_EXPORTER: "console" })).toBe(true);
    expect(tracesRequested({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" })).toBe(false);
  });

  it("is off when the SDK is disabled, whatever else is set", () => {
    expect(tracesRequested({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" })).toBe(false);
  });
});
