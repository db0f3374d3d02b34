// TLS on the one port. The listener (server.ts) hands every connection that
// opens with a TLS record to this terminator; once the handshake is done the
// decrypted socket goes to gRPC or to the HTTP/1.1 side by its ALPN protocol.
//
// Which protocol: a client offering only `h2` (grpc-js, grpc-go, grpcurl,
// grpcio) is gRPC; a client offering `http/1.1` as well (curl, browsers) gets
// HTTP/1.1, because the HTTP side (envelope, SSE, probes, metrics) speaks
// HTTP/1.1 and an h2 request that is not gRPC would reach grpc-js and be
// answered 415. The certificate, key and client CA are PEM files, read again
// when they change (the new context serves new connections; open ones keep
// theirs).

import { readFileSync, unwatchFile, watchFile } from "node:fs";
import http2 from "node:http2";
import type net from "node:net";
import tls from "node:tls";
import type { Logger } from "pino";

export interface TlsOptions {
  /** PEM certificate chain the node presents (`--tls-cert`). */
  certFile: string;
  /** PEM private key of that certificate (`--tls-key`). */
  keyFile: string;
  /** PEM CA bundle: when set, clients must present a certificate it signed (`--tls-client-ca`). */
  clientCaFile?: string;
  /** How often the files are checked for changes (default 1 s). */
  reloadIntervalMs?: number;
  /** A connection that has not finished its handshake after this long is closed (default 10 s). */
  handshakeTimeoutMs?: number;
}

/** A TLS file that cannot be read or used; the message names the file and the flag. */
export class TlsConfigError extends Error {
  override name = "TlsConfigError";
  readonly code = "TLS_CONFIG";
}

/** The protocol a finished handshake chose: gRPC (h2) or the HTTP/1.1 side. */
export type Negotiated = "grpc" | "http1";

/** Does this first byte open a TLS handshake (a TLS record of type handshake, 0x16)? */
export function isTlsRecordStart(byte: number): boolean {
  return byte === 0x16;
}

/** The server's ALPN choice: h2 only for clients that cannot speak HTTP/1.1 (gRPC clients). */
export function chooseAlpn(offered: readonly string[]): string | undefined {
  if (offered.includes("http/1.1")) return "http/1.1";
  if (offered.includes("h2")) return "h2";
  // A client that offers neither gets no ALPN answer and is treated as HTTP/1.1.
  return undefined;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
    throw new TlsConfigError(`${flag} ${file} cannot be read: ${reason}`);
  }
}

/** Read the files and check they make a context; throws TlsConfigError with the sentence to act on. */
export function loadTlsFiles(options: TlsOptions): Pick<tls.SecureContextOptions, "cert" | "key" | "ca"> {
  const cert = readPem(options.certFile, "--tls-cert");
  const key = readPem(options.keyFile, "--tls-key");
  const ca = options.clientCaFile === undefined ? undefined : readPem(options.clientCaFile, "--tls-client-ca");
  const files = { cert, key, ...(ca !== undefined ? { ca } : {}) };
  try {
    tls.createSecureContext(files);
    return files;
  } catch (err) {
    const reason = (err as Error).message;
    if (/key values mismatch/i.test(reason)) {
      throw new TlsConfigError(`--tls-key ${options.keyFile} is not the private key of --tls-cert ${options.certFile}`);
    }
    throw new TlsConfigError(
      `the TLS files cannot be used (--tls-cert ${options.certFile}, --tls-key ${options.keyFile}` +
        `${options.clientCaFile !== undefined ? `, --tls-client-ca ${options.clientCaFile}` : ""}): ${reason}; they must be PEM`,
    );
  }
}

export interface TlsTerminator {
  /** Start the handshake on a socket whose first byte is a TLS record (unread bytes put back). */
  accept(socket: net.Socket): void;
  /** Read the files again now; a broken set leaves the previous context in force. */
  reload(): void;
  close(): void;
}

/**
 * Terminate TLS for sockets handed over by the listener. `onSecure` receives
 * each socket after a successful handshake with the protocol it chose.
 */
export function createTlsTerminator(
  options: TlsOptions,
  onSecure: (socket: tls.TLSSocket, protocol: Negotiated) => void,
  logger?: Logger,
): TlsTerminator {
  const mutual = options.clientCaFile !== undefined;
  const server = tls.createServer({
    ...loadTlsFiles(options),
    requestCert: mutual,
    rejectUnauthorized: mutual,
    handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
    ALPNCallback: ({ protocols }) => chooseAlpn(protocols),
  });
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    onSecure(socket, socket.alpnProtocol === "h2" ? "grpc" : "http1");
  });
  // Failed handshakes (wrong CA on the client, no client certificate, a scanner) are the client's
  // problem, told to it by the TLS alert; the node notes them at debug level only.
  server.on("tlsClientError", (err, socket) => {
    logger?.debug({ err: err.message, remote: socket.remoteAddress }, "TLS handshake failed");
    socket.destroy();
  });

  const files = [options.certFile, options.keyFile, ...(mutual ? [options.clientCaFile as string] : [])];
  const reload = () => {
    try {
      server.setSecureContext(loadTlsFiles(options));
      logger?.info({ cert: options.certFile }, "TLS certificate reloaded");
    } catch (err) {
      logger?.error({ err: (err as Error).message }, "TLS files changed but cannot be used; the previous certificate stays in force");
    }
  };
  // One reload per burst of changes: replacing cert and key fires twice, and in between they do not match.
  let pending: NodeJS.Timeout | undefined;
  const interval = options.reloadIntervalMs ?? 1_000;
  for (const file of files) {
    watchFile(file, { persistent: false, interval }, (now, before) => {
      if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
      clearTimeout(pending);
      pending = setTimeout(reload, Math.min(interval, 200));
      pending.unref();
    });
  }

  return {
    accept: (socket) => server.emit("connection", socket),
    reload,
    close: () => {
      clearTimeout(pending);
      for (const file of files) unwatchFile(file);
    },
  };
}

const TLS_ONLY = "this node accepts TLS connections only: connect with https:// (and the CA that signed its certificate)";

/**
 * A cleartext HTTP/2 (gRPC) client of a TLS node: every call it makes is
 * answered UNAUTHENTICATED with the sentence, then the connection closes, so
 * the client shows a reason instead of a dropped connection.
 */
export function refusePlaintextGrpc(socket: net.Socket): void {
  const session = http2.performServerHandshake(socket, { settings: { maxConcurrentStreams: 8 } });
  session.on("error", () => socket.destroy());
  // Not closed after the first answer: a GOAWAY makes clients that retry (grpcurl) report "the connection is
  // draining" instead of the sentence. An idle session is closed instead.
  session.setTimeout(5_000, () => session.destroy());
  session.on("stream", (stream) => {
    stream.on("error", () => undefined);
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", "grpc-status": "16", "grpc-message": encodeURIComponent(TLS_ONLY) },
      { endStream: true },
    );
  });
}

/** The sentence a cleartext HTTP/1.1 client of a TLS node reads (400). */
export const PLAINTEXT_HTTP_REFUSAL = `${TLS_ONLY}; this request came in cleartext`;
