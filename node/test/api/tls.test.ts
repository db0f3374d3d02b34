// The pure parts of TLS on the one port: which protocol ALPN picks, how a TLS
// connection is told from its first byte, and the sentences for unusable files.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseAlpn, isTlsRecordStart, loadTlsFiles, TlsConfigError } from "../../src/api/tls.ts";

describe("ALPN", () => {
  it("gives h2 (gRPC) to a client that offers only h2", () => {
    expect(chooseAlpn(["h2"])).toBe("h2");
    expect(chooseAlpn(["grpc-exp", "h2"])).toBe("h2");
  });

  it("gives HTTP/1.1 to a client that also offers it, as curl and browsers do", () => {
    expect(chooseAlpn(["h2", "http/1.1"])).toBe("http/1.1");
    expect(chooseAlpn(["http/1.1"])).toBe("http/1.1");
  });

  it("answers no protocol to a client that offers neither", () => {
    expect(chooseAlpn(["spdy/3"])).toBeUndefined();
  });
});

describe("first bytes", () => {
  it("tell a TLS handshake record (0x16) from cleartext HTTP/1.1 and the HTTP/2 preface", () => {
    expect(isTlsRecordStart(0x16)).toBe(true);
    expect(isTlsRecordStart("G".charCodeAt(0))).toBe(false);
    expect(isTlsRecordStart("P".charCodeAt(0))).toBe(false);
  });
});

describe("TLS files", () => {
  const dir = mkdtempSync(join(tmpdir(), "resonate-tls-"));

  it("a missing certificate file is named with its flag", () => {
    const missing = join(dir, "missing.pem");
    expect(() => loadTlsFiles({ certFile: missing, keyFile: missing })).toThrow(new TlsConfigError(`--tls-cert ${missing} cannot be read: no such file`));
  });

  it("files that are not PEM are refused with a sentence naming them", () => {
    const junk = join(dir, "junk.pem");
    writeFileSync(junk, "not a certificate");
    expect(() => loadTlsFiles({ certFile: junk, keyFile: junk })).toThrow(/the TLS files cannot be used \(--tls-cert .*junk\.pem, --tls-key .*junk\.pem\).*they must be PEM/);
  });
});
