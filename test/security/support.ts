// What the security tests share: key pairs written to a temporary directory,
// tokens minted with jose (valid ones and every kind of wrong one), a real
// `resonate dev` process started with --auth-public-key, and a client for
// each transport that carries a token (gRPC unary, Poll, Watch, the JSON
// envelope with head.auth or the Authorization header, SSE).

import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { exportJWK, SignJWT, type JWTPayload } from "jose";
import { fromProtocolRequest, fromServiceError, rpcOf, toProtocolResponse } from "@resonate-mesh/node/client";
import { createClient, type ServiceClient } from "@resonate-mesh/node/internal-for-tests";
import { PromiseService, TaskService } from "@resonate-mesh/node/proto";
import type { Kind, PromiseRecord, Request, Response, ScheduleRecord, TaskRecord } from "@resonate-mesh/node/protocol";
import { envelopeOf } from "../envelope/helpers.ts";
import { tempFile } from "../support/files.ts";
import { startNode, type NodeProc } from "../support/node.ts";

export const ISSUER = "https://issuer.test";
export const AUDIENCE = "resonate-mesh";
/** 2100-01-01: far enough that no promise of these tests times out. */
export const FAR = 4_102_444_800_000;

export type Alg = "RS256" | "ES256" | "EdDSA";

export interface KeyPair {
  alg: Alg;
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Files: the private key (PKCS#8 PEM) and the public key (SPKI PEM). */
  privateFile: string;
  publicFile: string;
}

export function keyPair(dir: string, alg: Alg, name: string = alg): KeyPair {
  const { privateKey, publicKey } =
    alg === "RS256"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : alg === "ES256"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : generateKeyPairSync("ed25519");
  const privateFile = join(dir, `${name}.key.pem`);
  const publicFile = join(dir, `${name}.pub.pem`);
  writeFileSync(privateFile, privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(publicFile, publicKey.export({ type: "spki", format: "pem" }));
  return { alg, kid: name, privateKey, publicKey, privateFile, publicFile };
}

/** A JWKS file with the public keys of `pairs`, each under its kid. */
export async function writeJwks(file: string, pairs: KeyPair[]): Promise<string> {
  const keys = await Promise.all(pairs.map(async (p) => ({ ...(await exportJWK(p.publicKey)), kid: p.kid, alg: p.alg, use: "sig" })));
  writeFileSync(file, JSON.stringify({ keys }, null, 2));
  return file;
}

export interface MintOptions {
  claims?: JWTPayload;
  /** Seconds from now; default 3600. */
  expiresIn?: number;
  /** Seconds from now for nbf, when set. */
  notBefore?: number;
  issuer?: string | null;
  audience?: string | null;
  kid?: boolean;
}

/** A token signed with `pair`, with the issuer and audience the test nodes check unless told otherwise. */
export async function mint(pair: KeyPair, options: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(options.claims ?? {})
    .setProtectedHeader({ alg: pair.alg, typ: "JWT", ...(options.kid === false ? {} : { kid: pair.kid }) })
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600));
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(now + options.notBefore);
  const issuer = options.issuer === undefined ? ISSUER : options.issuer;
  const audience = options.audience === undefined ? AUDIENCE : options.audience;
  if (issuer !== null) jwt = jwt.setIssuer(issuer);
  if (audience !== null) jwt = jwt.setAudience(audience);
  return await jwt.sign(pair.privateKey);
}

/** An unsigned token (`alg: none`) with these claims: must never be accepted. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: "none", typ: "JWT" })}.${part({ iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 3600, ...claims })}.`;
}

/** A temporary directory for keys, removed after the file's tests. */
export function keyDir(): string {
  return dirname(tempFile("keys"));
}

/** `resonate dev` requiring tokens verified with `keyFile`, and checking issuer and audience. */
export async function startSecureNode(keyFile: string, extraArgs: string[] = []): Promise<SecureNode> {
  const node = await startNode({
    args: ["--auth-public-key", keyFile, "--auth-issuer", ISSUER, "--auth-audience", AUDIENCE, ...extraArgs],
  });
  return new SecureNode(node);
}

type AnyClient = Record<string, (...args: unknown[]) => any> & { close(): void };

/** A result of opening a stream: it was accepted (the node sent headers or a message), or refused with a code. */
export type StreamOutcome = { ok: true } | { ok: false; code: grpc.status; details: string };

export class SecureNode {
  private readonly clients = new Map<string, AnyClient>();
  readonly url: string;
  readonly address: string;

  constructor(readonly proc: NodeProc) {
    this.url = proc.url;
    this.address = proc.address;
  }

  private client(service: { typeName: string }): AnyClient {
    let client = this.clients.get(service.typeName);
    if (client === undefined) this.clients.set(service.typeName, (client = createClient(service as never, this.address) as unknown as AnyClient));
    return client;
  }

  /** One protocol request over gRPC with `token` as `authorization: Bearer` metadata; errors as protocol responses. */
  async grpc<K extends Kind>(request: Extract<Request, { kind: K }> | Request, token?: string): Promise<Response<K>> {
    const { service, method } = rpcOf(request.kind);
    const call = this.client(service)[method.localName]!;
    try {
      const message = await call(fromProtocolRequest(request as never), { metadata: metadataOf(token) });
      return toProtocolResponse(request.kind, message as never) as Response<K>;
    } catch (error) {
      const e = fromServiceError(error as grpc.ServiceError);
      return { kind: request.kind, status: e.status, error: e } as Response<K>;
    }
  }

  /** One request as a JSON envelope; the token in head.auth (as the official SDKs send it) or the Authorization header. */
  async envelope(request: Request | { kind: string; data: unknown }, token?: string, via: "head" | "header" = "head"): Promise<{ status: number; body: any }> {
    const envelope = envelopeOf(request) as { head: Record<string, unknown> };
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token !== undefined && via === "head") envelope.head.auth = token;
    if (token !== undefined && via === "header") headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${this.url}/`, { method: "POST", headers, body: JSON.stringify(envelope) });
    return { status: res.status, body: JSON.parse(await res.text()) };
  }

  /** Open TaskService.Poll and see whether the node accepts it. */
  async poll(group: string, pid: string, token?: string): Promise<StreamOutcome> {
    const stream = this.client(TaskService).poll!({ group, pid }, { metadata: metadataOf(token) }) as grpc.ClientReadableStream<unknown>;
    return await streamOutcome(stream, "metadata");
  }

  /** Open PromiseService.Watch on `id` and see whether the node sends its record. */
  async watch(id: string, token?: string): Promise<StreamOutcome> {
    const stream = this.client(PromiseService).watch!({ id }, { metadata: metadataOf(token) }) as grpc.ClientReadableStream<unknown>;
    return await streamOutcome(stream, "data");
  }

  /** GET /poll/:group/:pid with `Authorization: Bearer`; the status, and the body when refused. */
  async sse(group: string, pid: string, token?: string): Promise<{ status: number; body: string }> {
    const controller = new AbortController();
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const res = await fetch(`${this.url}/poll/${group}/${pid}`, { headers, signal: controller.signal });
    const body = res.status === 200 ? "" : await res.text();
    controller.abort();
    return { status: res.status, body };
  }

  /** Everything the node holds, read with an admin token: to show a refused request wrote nothing. */
  async snapshot(admin: string): Promise<{ promises: PromiseRecord[]; tasks: TaskRecord[]; schedules: ScheduleRecord[] }> {
    const all = async <T>(kind: "promise.search" | "task.search" | "schedule.search", key: string): Promise<T[]> => {
      const out: T[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const answer = (await this.grpc({ kind, data: { limit: 1000, ...(cursor ? { cursor } : {}) } } as Request, admin)) as any;
        if (!("data" in answer)) throw new Error(`${kind} with the admin token failed: ${answer.error.message}`);
        out.push(...answer.data[key]);
        cursor = answer.data.cursor;
        if (!cursor) break;
      }
      return out;
    };
    return {
      promises: await all<PromiseRecord>("promise.search", "promises"),
      tasks: await all<TaskRecord>("task.search", "tasks"),
      schedules: await all<ScheduleRecord>("schedule.search", "schedules"),
    };
  }

  async stop(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    await this.proc.stop();
  }
}

function metadataOf(token: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

async function streamOutcome(stream: grpc.ClientReadableStream<unknown>, accepted: "metadata" | "data"): Promise<StreamOutcome> {
  const outcome = await new Promise<StreamOutcome>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, code: grpc.status.DEADLINE_EXCEEDED, details: "no answer within 15 s" }), 15_000);
    stream.once(accepted, () => {
      clearTimeout(timer);
      resolve({ ok: true });
    });
    stream.once("error", (err: grpc.ServiceError) => {
      clearTimeout(timer);
      resolve({ ok: false, code: err.code, details: err.details });
    });
  });
  stream.on("error", () => undefined);
  stream.cancel();
  return outcome;
}
