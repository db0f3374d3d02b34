// `resonate token create`: mint a JWT for development, signed with a private
// key whose public half the node verifies with (--auth-public-key). The
// algorithm follows the key: RSA -> RS256, P-256 -> ES256, Ed25519 -> EdDSA.
// Production tokens come from the operator's identity provider; the claims
// are the same (`prefix`, `role`).

import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { errorLine, exitCodeOf, UsageError } from "../errors.ts";
import { parseDuration } from "../format.ts";
import { examples } from "./common.ts";

export interface TokenOptions {
  privateKey: string;
  prefix?: string;
  role?: string;
  ttl: string;
  issuer?: string;
  audience?: string;
  subject?: string;
}

/** The JWS algorithm of a private key, or a sentence saying which keys work. */
export function algorithmOf(key: KeyObject): "RS256" | "ES256" | "EdDSA" {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return "RS256";
    case "ec":
      if (key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
        throw new UsageError(`the EC key uses curve ${key.asymmetricKeyDetails?.namedCurve ?? "unknown"}; ES256 needs P-256 (prime256v1)`);
      }
      return "ES256";
    case "ed25519":
      return "EdDSA";
    default:
      throw new UsageError(`a ${key.asymmetricKeyType ?? "secret"} key cannot sign tokens; use an RSA, P-256 or Ed25519 private key`);
  }
}

export async function createToken(options: TokenOptions, now = Date.now()): Promise<string> {
  if (options.prefix === undefined && options.role !== "admin") {
    throw new UsageError("give --prefix P (the ids the token may name) or --role admin (everything)");
  }
  if (options.prefix === "") throw new UsageError("--prefix must not be empty; use --role admin for a token that may name every id");
  const ttlMs = parseDuration(options.ttl, "--ttl");
  if (ttlMs < 1_000) throw new UsageError(`--ttl must be at least 1s, got ${options.ttl}`);
  let text: string;
  try {
    text = readFileSync(options.privateKey, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read --private-key ${options.privateKey}: ${(err as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (err) {
    throw new UsageError(`--private-key ${options.privateKey} is not a PEM private key: ${(err as Error).message}`);
  }
  const alg = algorithmOf(key);
  const { SignJWT } = await import("jose");
  const claims: Record<string, string> = {};
  if (options.prefix !== undefined) claims.prefix = options.prefix;
  if (options.role !== undefined) claims.role = options.role;
  const seconds = Math.floor(now / 1000);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg, typ: "JWT" })
    .setIssuedAt(seconds)
    .setExpirationTime(seconds + Math.ceil(ttlMs / 1000));
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  if (options.subject !== undefined) jwt = jwt.setSubject(options.subject);
  return await jwt.sign(key);
}

export function registerToken(program: Command): Command {
  const token = program.command("token").description("bearer tokens for nodes started with --auth-public-key");
  token
    .command("create")
    .description("mint a signed JWT for development and print it on stdout")
    .requiredOption("--private-key <file>", "PEM private key (RSA, P-256 or Ed25519) whose public key the node verifies with")
    .option("--prefix <prefix>", "the token may only name ids starting with this (a tenant's namespace)")
    .addOption(new Option("--role <role>", "admin: the token may do anything").choices(["admin"]))
    .option("--ttl <duration>", "how long the token is valid", "1h")
    .option("--issuer <iss>", "the iss claim (when the node checks --auth-issuer)")
    .option("--audience <aud>", "the aud claim (when the node checks --auth-audience)")
    .option("--subject <sub>", "the sub claim: who the token is for")
    .addHelpText(
      "after",
      examples(
        "openssl genpkey -algorithm ed25519 -out key.pem && openssl pkey -in key.pem -pubout -out key.pub.pem",
        "resonate serve --auth-public-key key.pub.pem",
        "resonate token create --private-key key.pem --prefix tenant-a/ --ttl 24h",
        "resonate token create --private-key key.pem --role admin",
      ),
    )
    .action(async (options: TokenOptions) => {
      try {
        process.stdout.write(`${await createToken(options)}\n`);
      } catch (err) {
        process.stderr.write(`${errorLine(err)}\n`);
        process.exitCode = exitCodeOf(err);
      }
    });
  return token;
}
