// What the TLS tests share: certificates made with the openssl CLI in a
// temporary directory (a CA, a node certificate for localhost/127.0.0.1, client
// certificates), a `resonate dev` process serving TLS, and the certificate a
// TLS endpoint presents right now.

import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { dirname, join } from "node:path";
import tls from "node:tls";
import { tempFile } from "../support/files.ts";
import { freePort, resonateBin, type NodeProc } from "../support/node.ts";
import { spawnProcess } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export interface Ca {
  certFile: string;
  keyFile: string;
}

export interface Cert {
  certFile: string;
  keyFile: string;
}

/** A directory for one test file's certificates. */
export function certDir(): string {
  return dirname(tempFile("certs"));
}

/** A self-signed CA (EC P-256, valid 2 days). */
export function makeCa(dir: string, name: string): Ca {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", `/CN=${name}`]);
  return { certFile, keyFile };
}

/**
 * A leaf certificate signed by `ca`: for a server, its names are localhost,
 * 127.0.0.1 and ::1; for a client, `clientAuth` usage.
 */
export function issue(dir: string, ca: Ca, name: string, use: "server" | "client" = "server"): Cert {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile, "-out", csr, "-subj", `/CN=${name}`]);
  writeFileSync(
    ext,
    use === "server"
      ? "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n"
      : "extendedKeyUsage=clientAuth\n",
  );
  openssl(["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial", "-out", certFile, "-days", "2", "-extfile", ext]);
  return { certFile, keyFile };
}

/** The SHA-256 fingerprint of a PEM certificate file. */
export function fingerprintOf(certFile: string): string {
  return createHash("sha256").update(new X509Certificate(readFileSync(certFile)).raw).digest("hex");
}

/** The SHA-256 fingerprint of the certificate `port` presents now. */
export async function servedFingerprint(port: number, ca: Ca): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca: readFileSync(ca.certFile), servername: "localhost", ALPNProtocols: ["http/1.1"] }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert === undefined) reject(new Error("no certificate"));
      else resolve(createHash("sha256").update(cert.raw).digest("hex"));
    });
    socket.once("error", reject);
  });
}

/**
 * `resonate dev --port <free port> --tls-cert ... [args]`, ready once GET
 * https://.../ready answers 200 (presenting `client` when the node requires it).
 */
export async function startTlsNode(server: Cert, ca: Ca, options: { args?: string[]; env?: NodeJS.ProcessEnv; client?: Cert } = {}): Promise<NodeProc> {
  const port = await freePort();
  const proc = spawnProcess(
    "node",
    process.execPath,
    [resonateBin, "dev", "--port", String(port), "--tls-cert", server.certFile, "--tls-key", server.keyFile, ...(options.args ?? [])],
    { env: options.env },
  );
  const url = `https://127.0.0.1:${port}`;
  await waitFor(
    () => `the TLS node to be ready on ${url}\n${proc.printed()}`,
    async () => {
      if (!proc.running) throw new Error(`the node exited early:\n${proc.printed()}`);
      return (await httpsGet(port, "/ready", ca, options.client).catch(() => undefined))?.status === 200;
    },
    30_000,
  );
  return { url, port, address: `127.0.0.1:${port}`, proc, stop: () => proc.stop("SIGTERM") };
}

/** GET `path` over TLS (HTTP/1.1), trusting `ca`, presenting `client` if given. */
export async function httpsGet(port: number, path: string, ca: Ca, client?: Cert): Promise<{ status: number; body: string }> {
  return await new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        path,
        ca: readFileSync(ca.certFile),
        servername: "localhost",
        agent: false,
        ...(client !== undefined ? { cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) } : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}
