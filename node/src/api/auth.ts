// Bearer-token authentication and scoping, as the Resonate server does it,
// for every adapter (gRPC unary and streams, the JSON envelope, SSE).
//
// A token is a JWT signed with a private key the node never sees; the node
// verifies it with the public key (RS256, ES256 or EdDSA) from a PEM file or
// a JWKS file, reloaded when the file changes, and checks the issuer and
// audience when configured. Claims: `role: "admin"` may do anything;
// otherwise `prefix` scopes the token to the ids starting with it (the rule,
// over every id a request names, is protocol/touches.ts). No or a bad token
// is 401; out of scope is 403. Refusals happen before the engine runs, so a
// refused request writes nothing.

import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { createLocalJWKSet, errors as joseErrors, importJWK, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Logger } from "pino";
import { scopeRequest } from "../protocol/touches.ts";
import { RateLimiter, type RateLimits } from "./rate.ts";
import type { Message, ProtocolError, Request } from "../protocol/types.ts";

export interface AuthOptions {
  /** PEM public key (SPKI or certificate), a JWK, or a JWKS (`{"keys": [...]}`). */
  publicKeyFile: string;
  /** Required `iss` claim, when set. */
  issuer?: string;
  /** Required `aud` claim (one of), when set. */
  audience?: string;
  logger?: Logger;
  /** How often the key file is checked for changes (ms). Default 1000. */
  reloadIntervalMs?: number;
  /** Requests per second per token, by role (see rate.ts); absent: unlimited. */
  rateLimits?: RateLimits;
}

/** Who a verified token speaks for. */
export interface Principal {
  /** `role: "admin"`: every request, unscoped. */
  admin: boolean;
  /** The `prefix` claim every id must start with; undefined for admin, or a token without one. */
  prefix: string | undefined;
  subject: string | undefined;
  /** The `role` claim as given ("" when absent): what the rate limit is looked up by. */
  role: string;
}

/** The principal of a node without authentication: may do anything. */
export const OPEN: Principal = { admin: true, prefix: undefined, subject: undefined, role: "admin" };

export const ALGORITHMS = ["RS256", "ES256", "EdDSA", "Ed25519"];

/** The key file could not be used; the message says which file and why. */
export class AuthConfigError extends Error {
  override name = "AuthConfigError";
}

type VerifyKey = KeyObject | Awaited<ReturnType<typeof importJWK>> | JWTVerifyGetKey;

const CACHE_LIMIT = 10_000;
const CACHE_TTL_MS = 60_000;

interface Cached {
  principal: Principal;
  /** When to verify again: the earlier of `exp` and a minute from caching. */
  until: number;
}

/**
 * Verifies bearer tokens against the configured key. Verified tokens are
 * remembered (up to their expiry, at most a minute, forgotten when the key
 * changes), so a worker's steady stream of calls costs one signature check a
 * minute, not one per call.
 */
export class Authenticator {
  private key: VerifyKey;
  private readonly cache = new Map<string, Cached>();
  private readonly options: AuthOptions;
  private readonly limiter: RateLimiter | undefined;

  private constructor(options: AuthOptions, key: VerifyKey) {
    this.options = options;
    this.key = key;
    this.limiter = options.rateLimits === undefined ? undefined : new RateLimiter(options.rateLimits);
  }

  /** Load the key (throws AuthConfigError naming the file) and start watching the file. */
  static async open(options: AuthOptions): Promise<Authenticator> {
    const auth = new Authenticator(options, await loadKey(options.publicKeyFile));
    watchFile(options.publicKeyFile, { persistent: false, interval: options.reloadIntervalMs ?? 1_000 }, (now, before) => {
      if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
      void auth.reload();
    });
    return auth;
  }

  /** Read the key file again; a broken file leaves the previous key in force. */
  async reload(): Promise<void> {
    try {
      this.key = await loadKey(this.options.publicKeyFile);
      this.cache.clear();
      this.options.logger?.info({ file: this.options.publicKeyFile }, "auth public key reloaded");
    } catch (err) {
      this.options.logger?.error(
        { file: this.options.publicKeyFile, err: (err as Error).message },
        "auth public key file changed but cannot be used; the previous key stays in force",
      );
    }
  }

  close(): void {
    unwatchFile(this.options.publicKeyFile);
    this.cache.clear();
  }

  /**
   * Admit one request (or stream) carrying `token` (raw, no `Bearer `): its
   * principal, or the 401 (no or bad token) or 429 (over its rate) to answer.
   */
  async admit(token: string | undefined): Promise<Principal | ProtocolError> {
    const principal = await this.verify(token);
    if (this.limiter === undefined || !isPrincipal(principal)) return principal;
    return this.limiter.take(token!, principal.role) ?? principal;
  }

  /** Prometheus text for what this authenticator refused (rate limits). */
  metricsText(): string {
    return this.limiter?.metricsText() ?? "";
  }

  private async verify(token: string | undefined): Promise<Principal | ProtocolError> {
    if (token === undefined || token === "") return unauthenticated(MISSING);
    const now = Date.now();
    const cached = this.cache.get(token);
    if (cached !== undefined) {
      if (cached.until > now) return cached.principal;
      this.cache.delete(token);
    }
    let payload: JWTPayload;
    try {
      const verifyOptions = {
        algorithms: ALGORITHMS,
        ...(this.options.issuer !== undefined ? { issuer: this.options.issuer } : {}),
        ...(this.options.audience !== undefined ? { audience: this.options.audience } : {}),
      };
      ({ payload } = await jwtVerify(token, this.key as never, verifyOptions));
    } catch (err) {
      return unauthenticated(`the bearer token was refused: ${reasonOf(err, this.options)}`);
    }
    const principal = principalOf(payload);
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    const exp = typeof payload.exp === "number" ? payload.exp * 1000 : Infinity;
    this.cache.set(token, { principal, until: Math.min(exp, now + CACHE_TTL_MS) });
    return principal;
  }
}

/** The node's metrics plus what the authenticator counts. */
export function withAuthMetrics<M extends { render(): Promise<string> }>(metrics: M, auth: Authenticator | undefined): M {
  if (auth === undefined) return metrics;
  return { ...metrics, render: async () => (await metrics.render()) + auth.metricsText() };
}

// ---------------------------------------------------------------- authorization

/**
 * The request a principal may run: itself, a search narrowed to the
 * principal's prefix, or the 403 naming the first id out of scope.
 */
export function authorize(principal: Principal, request: Request): Request | ProtocolError {
  if (principal.admin) return request;
  if (principal.prefix === undefined) return noScope();
  return scopeRequest(request, principal.prefix);
}

/**
 * May a worker stream of this principal receive `message`? Workers of
 * different tenants may share a group name; each gets only its own tenant's
 * executes and unblocks.
 */
export function mayReceive(principal: Principal, message: Message): boolean {
  if (principal.admin) return true;
  if (principal.prefix === undefined) return false;
  const id = message.kind === "execute" ? message.task.id : message.promise.id;
  return id.startsWith(principal.prefix);
}

/** A principal that may open a worker stream (every scoped or admin token); else the 403. */
export function mayPoll(principal: Principal): ProtocolError | undefined {
  return principal.admin || principal.prefix !== undefined ? undefined : noScope();
}

function noScope(): ProtocolError {
  return {
    status: 403,
    code: "PERMISSION_DENIED",
    message: `this token has neither role "admin" nor a "prefix" claim, so it may name no ids; mint one with --prefix or --role admin`,
  };
}

// ---------------------------------------------------------------- tokens on the wire

/** The token of an `authorization` value: `Bearer <token>` (any case), or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  return m ? m[1] : undefined;
}

/** The envelope's `head.auth` (a raw token, as the official SDKs send it; `Bearer ` tolerated). */
export function envelopeToken(head: unknown): string | undefined {
  if (typeof head !== "object" || head === null) return undefined;
  const auth = (head as Record<string, unknown>)["auth"];
  if (typeof auth !== "string" || auth === "") return undefined;
  return bearerToken(auth) ?? auth;
}

export function isPrincipal(value: Principal | ProtocolError): value is Principal {
  return "admin" in value;
}

export function isRequest(value: Request | ProtocolError): value is Request {
  return "kind" in value;
}

// ---------------------------------------------------------------- internals

const MISSING =
  "this node requires a bearer token: send the metadata or header `authorization: Bearer <token>` (or head.auth in a JSON envelope)";

function unauthenticated(message: string): ProtocolError {
  return { status: 401, code: "UNAUTHENTICATED", message };
}

function principalOf(payload: JWTPayload): Principal {
  const prefix = typeof payload["prefix"] === "string" && payload["prefix"] !== "" ? payload["prefix"] : undefined;
  return {
    admin: payload["role"] === "admin",
    prefix,
    subject: typeof payload.sub === "string" ? payload.sub : undefined,
    role: typeof payload["role"] === "string" ? payload["role"] : "",
  };
}

function reasonOf(err: unknown, options: AuthOptions): string {
  if (err instanceof joseErrors.JWTExpired) {
    return `it expired${typeof err.payload.exp === "number" ? ` at ${new Date(err.payload.exp * 1000).toISOString()}` : ""}`;
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "nbf":
        return `it is not valid yet${typeof err.payload.nbf === "number" ? ` (not before ${new Date(err.payload.nbf * 1000).toISOString()})` : ""}`;
      case "iat":
        return "its issued-at time (iat) is in the future";
      case "iss":
        return `its issuer (iss) ${JSON.stringify(err.payload.iss ?? null)} is not "${options.issuer}"`;
      case "aud":
        return `its audience (aud) ${JSON.stringify(err.payload.aud ?? null)} does not include "${options.audience}"`;
      default:
        return `its ${err.claim} claim is invalid (${err.reason})`;
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) {
    return `its algorithm is not accepted; sign it with one of ${ALGORITHMS.slice(0, 3).join(", ")}`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "its signature does not match the node's public key";
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "no key of the node's JWKS matches it (check its kid and alg)";
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) return "it is not a well-formed JWT";
  if (err instanceof joseErrors.JOSEError) return `${err.message}`;
  // A key that does not fit the algorithm (an RSA key for an ES256 token) surfaces as a TypeError.
  if (err instanceof TypeError) return `its algorithm does not fit the node's public key (${err.message})`;
  return "it could not be verified";
}

async function loadKey(file: string): Promise<VerifyKey> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new AuthConfigError(`cannot read the auth public key file ${file}: ${(err as Error).message}`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      throw new AuthConfigError(`the auth public key file ${file} looks like JSON but is not valid JSON: ${(err as Error).message}`);
    }
    const obj = json as { keys?: unknown; kty?: unknown; d?: unknown };
    if (Array.isArray(obj.keys)) {
      if (obj.keys.some((k) => typeof k === "object" && k !== null && "d" in k)) {
        throw new AuthConfigError(`the JWKS in ${file} contains a private key; give the node public keys only`);
      }
      try {
        return createLocalJWKSet(json as { keys: JWK[] });
      } catch (err) {
        throw new AuthConfigError(`the JWKS in ${file} cannot be used: ${(err as Error).message}`);
      }
    }
    if (typeof obj.kty === "string") {
      if (obj.d !== undefined) throw new AuthConfigError(`the JWK in ${file} is a private key; give the node the public key`);
      try {
        const jwk = json as JWK;
        return await importJWK(jwk, jwk.alg ?? algorithmOfJwk(jwk));
      } catch (err) {
        throw new AuthConfigError(`the JWK in ${file} cannot be used: ${(err as Error).message}`);
      }
    }
    throw new AuthConfigError(`the auth public key file ${file} is JSON but neither a JWKS ({"keys": [...]}) nor a JWK`);
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(trimmed)) {
    throw new AuthConfigError(`${file} holds a private key; give the node the public key (openssl pkey -in key.pem -pubout)`);
  }
  try {
    const key = createPublicKey(trimmed);
    const type = key.asymmetricKeyType;
    if (type !== "rsa" && type !== "ec" && type !== "ed25519") {
      throw new Error(`a ${type} key; use an RSA (RS256), P-256 (ES256) or Ed25519 (EdDSA) key`);
    }
    return key;
  } catch (err) {
    throw new AuthConfigError(`the auth public key file ${file} is not a usable PEM public key: ${(err as Error).message}`);
  }
}

function algorithmOfJwk(jwk: JWK): string {
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "EC") return "ES256";
  return "EdDSA";
}
