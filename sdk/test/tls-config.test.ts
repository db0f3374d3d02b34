// The SDK's TLS configuration: PEM contents given in code, or file names in
// RESONATE_CA_FILE / RESONATE_CERT_FILE / RESONATE_KEY_FILE, refused with a
// sentence naming the variable when unusable.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config.ts";

const dir = mkdtempSync(join(tmpdir(), "resonate-sdk-tls-"));
const caFile = join(dir, "ca.pem");
writeFileSync(caFile, "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n");

describe("TLS configuration", () => {
  it("reads the CA named by RESONATE_CA_FILE", () => {
    const config = resolveConfig({}, { RESONATE_URL: "https://node:8001", RESONATE_CA_FILE: caFile });
    expect(String(config.tls.ca)).toContain("BEGIN CERTIFICATE");
  });

  it("prefers the PEM given in code over the environment", () => {
    const config = resolveConfig({ tls: { ca: "in code" } }, { RESONATE_CA_FILE: caFile });
    expect(config.tls.ca).toBe("in code");
  });

  it("names the variable of a file that cannot be read", () => {
    const missing = join(dir, "missing.pem");
    expect(() => resolveConfig({}, { RESONATE_CA_FILE: missing })).toThrow(`RESONATE_CA_FILE ${missing} cannot be read: no such file`);
  });

  it("refuses a client certificate without its key", () => {
    expect(() => resolveConfig({}, { RESONATE_CERT_FILE: caFile })).toThrow(/RESONATE_CERT_FILE and RESONATE_KEY_FILE go together/);
  });
});
