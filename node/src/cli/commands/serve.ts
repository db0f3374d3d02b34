// `resonate serve` and `resonate dev`: run a mesh node. Each flag has an
// environment variable (flag > env > default). dev is serve with the defaults
// a laptop wants: the embedded store and loopback only.

import { Command, InvalidArgumentError, Option } from "commander";
import type { Logger } from "pino";
import { DEFAULT_PORT } from "../../api/defaults.ts";
import type { Authenticator } from "../../api/auth.ts";
import { parseRateLimit, type RateLimits } from "../../api/rate.ts";
import { DEFAULT_HEARTBEAT_MS } from "../../mesh/membership.ts";
import type { RunningNode, StoreConfig } from "../../mesh/start.ts";
import { StoreRefusedError } from "../../store/errors.ts";
import { TlsConfigError, type TlsOptions } from "../../api/tls.ts";
import { UsageError, errorLine, exitCodeOf } from "../errors.ts";
import { LOG_LEVELS, createLogger, type LogLevel } from "../logger.ts";
import { examples } from "./common.ts";
import { limitOptions, limitsFrom } from "./limit-flags.ts";

/** The node could not start for a reason the message fully explains (no stack trace needed). */
class StartError extends Error {
  override name = "StartError";
}

export const STORES = ["memory", "jetstream"] as const;
export type StoreName = (typeof STORES)[number];

export interface NodeOptions {
  port: number;
  host: string;
  logLevel: LogLevel;
  store: StoreName;
  debug: boolean;
  authPublicKey?: string;
  authIssuer?: string;
  authAudience?: string;
  rateLimit?: string[];
  /** The jetstream store's options (serve only). */
  nats?: string;
  natsCreds?: string;
  natsCa?: string;
  natsCert?: string;
  natsKey?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  replicas?: 1 | 3;
  partitions?: number;
  natsNamespace?: string;
  meshHeartbeatMs?: number;
  meshExpireMs?: number;
  /** Hidden, for the outbox crash test: SIGKILL this process before it applies its outbox entries. */
  testKillBeforeOutboxApply?: boolean;
}

export const DEFAULT_NATS = "nats://127.0.0.1:4222";

function parseReplicas(text: string): 1 | 3 {
  if (text.trim() !== "1" && text.trim() !== "3") throw new InvalidArgumentError("It must be 1 or 3 (3 for production).");
  return Number(text) as 1 | 3;
}

/** A parser of a whole number from `min` to `max`; anything else is refused with `rule`. */
function wholeNumberFrom(min: number, max: number, rule: string): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) throw new InvalidArgumentError(rule);
    return Number(text);
  };
}

const parsePartitions = wholeNumberFrom(1, 1024, "It must be a whole number from 1 to 1024, the same on every node of a cluster.");
const parseHeartbeat = wholeNumberFrom(50, 60_000, "It must be a whole number of milliseconds from 50 to 60000.");
const parseExpiry = wholeNumberFrom(100, 600_000, "It must be a whole number of milliseconds from 100 to 600000, at least twice --mesh-heartbeat-ms.");
const parsePort = wholeNumberFrom(0, 65_535, "It must be a whole number from 0 to 65535 (0 picks a free port).");

/**
 * Heartbeats and expiry of the mesh, as given (Membership defaults what is
 * not: three heartbeats of expiry); a member must survive one late heartbeat.
 */
function meshConfig(options: NodeOptions): { heartbeatMs?: number; expireMs?: number } | undefined {
  const { meshHeartbeatMs: heartbeatMs, meshExpireMs: expireMs } = options;
  if (heartbeatMs === undefined && expireMs === undefined) return undefined;
  if (options.store !== "jetstream") {
    throw new UsageError("--mesh-heartbeat-ms and --mesh-expire-ms need --store jetstream (a mesh of nodes shares a JetStream cluster)");
  }
  const heartbeat = heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  if (expireMs !== undefined && expireMs < 2 * heartbeat) {
    throw new UsageError(
      `--mesh-expire-ms (${expireMs}) must be at least twice --mesh-heartbeat-ms (${heartbeat}), or one late heartbeat makes a live node leave the mesh`,
    );
  }
  return { heartbeatMs, expireMs };
}

function nodeOptions(cmd: Command, defaults: { host: string }): Command {
  limitOptions(cmd)
    .addOption(
      new Option("-p, --port <port>", "port for gRPC and HTTP (0 picks a free port)")
        .env("RESONATE_PORT")
        .argParser(parsePort)
        .default(DEFAULT_PORT),
    )
    .addOption(new Option("--host <host>", "interface to listen on").env("RESONATE_HOST").default(defaults.host))
    .addOption(
      new Option("--log-level <level>", "least severe log level shown")
        .env("RESONATE_LOG_LEVEL")
        .choices(LOG_LEVELS)
        .default("info"),
    )
    .addOption(
      new Option("--debug", "accept the debug.* requests of the Resonate JSON protocol (for test harnesses)")
        .env("RESONATE_DEBUG")
        .default(false),
    );
  return tlsOptions(authOptions(cmd));
}

// ---------------------------------------------------------------- TLS

function tlsOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--tls-cert <file>", "serve TLS only, with this PEM certificate chain (reloaded on change)").env("RESONATE_TLS_CERT"))
    .addOption(new Option("--tls-key <file>", "PEM private key of --tls-cert (reloaded on change)").env("RESONATE_TLS_KEY"))
    .addOption(
      new Option("--tls-client-ca <file>", "require client certificates signed by this PEM CA (mTLS; reloaded on change)").env("RESONATE_TLS_CLIENT_CA"),
    );
}

function tlsConfig(options: NodeOptions): TlsOptions | undefined {
  if (options.tlsCert === undefined && options.tlsKey === undefined) {
    if (options.tlsClientCa !== undefined) throw new UsageError("--tls-client-ca needs --tls-cert and --tls-key (client certificates are checked over TLS)");
    return undefined;
  }
  if (options.tlsCert === undefined || options.tlsKey === undefined) {
    throw new UsageError("--tls-cert and --tls-key go together: the certificate the node presents and its private key");
  }
  return { certFile: options.tlsCert, keyFile: options.tlsKey, ...(options.tlsClientCa !== undefined ? { clientCaFile: options.tlsClientCa } : {}) };
}

// ---------------------------------------------------------------- authentication

function authOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--auth-public-key <file>", "require JWT bearer tokens verified with this PEM public key or JWKS file (reloaded on change)")
        .env("RESONATE_AUTH_PUBLIC_KEY"),
    )
    .addOption(new Option("--auth-issuer <iss>", "require this issuer (iss claim) in tokens").env("RESONATE_AUTH_ISSUER"))
    .addOption(new Option("--auth-audience <aud>", "require this audience (aud claim) in tokens").env("RESONATE_AUTH_AUDIENCE"))
    .addOption(
      new Option("--rate-limit <rate>", "requests per second per token: RATE for every role, ROLE=RATE for one (repeatable; env: comma-separated)")
        .env("RESONATE_RATE_LIMIT")
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), ...value.split(",")]),
    );
}

function rateLimits(specs: string[] | undefined): RateLimits | undefined {
  if (specs === undefined || specs.length === 0) return undefined;
  let limits: RateLimits = {};
  for (const spec of specs) {
    try {
      limits = parseRateLimit(spec, limits);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return limits;
}

async function openAuth(options: NodeOptions, logger: Logger): Promise<Authenticator | undefined> {
  if (options.authPublicKey === undefined) {
    if (options.authIssuer !== undefined || options.authAudience !== undefined || options.rateLimit !== undefined) {
      throw new UsageError("--auth-issuer, --auth-audience and --rate-limit need --auth-public-key (the key that verifies the tokens)");
    }
    return undefined;
  }
  const { Authenticator, AuthConfigError } = await import("../../api/auth.ts");
  try {
    return await Authenticator.open({
      publicKeyFile: options.authPublicKey,
      ...(options.authIssuer !== undefined ? { issuer: options.authIssuer } : {}),
      ...(options.authAudience !== undefined ? { audience: options.authAudience } : {}),
      ...(options.rateLimit !== undefined ? { rateLimits: rateLimits(options.rateLimit) } : {}),
      logger,
    });
  } catch (err) {
    if (err instanceof AuthConfigError) throw new UsageError(err.message);
    throw err;
  }
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** Said once at start-up: who may call this node. */
function logAuth(command: "serve" | "dev", options: NodeOptions, auth: Authenticator | undefined, logger: Logger): void {
  if (auth !== undefined) {
    const checks = [options.authIssuer && `issuer "${options.authIssuer}"`, options.authAudience && `audience "${options.authAudience}"`].filter(Boolean);
    logger.info(
      { auth: options.authPublicKey },
      `requests need a bearer token verified with ${options.authPublicKey}${checks.length > 0 ? ` (${checks.join(", ")})` : ""}`,
    );
  } else if (command === "serve" && !isLoopback(options.host)) {
    logger.warn(
      { host: options.host },
      `authentication is off and ${options.host} is not a loopback address: anyone who can reach this port may do anything; pass --auth-public-key`,
    );
  } else {
    logger.info("authentication is off: every client may do anything (pass --auth-public-key to require tokens)");
  }
}

/** What the start line says about the store. */
function storeDescription(options: NodeOptions): string {
  return options.store === "memory"
    ? "the embedded in-memory store (its data does not survive a restart)"
    : `the jetstream store at ${options.nats ?? DEFAULT_NATS}`;
}

function storeConfig(options: NodeOptions): StoreConfig {
  if (options.store === "memory") return { kind: "memory" };
  return {
    kind: "jetstream",
    servers: options.nats ?? DEFAULT_NATS,
    credsFile: options.natsCreds,
    ...(options.natsCa !== undefined || options.natsCert !== undefined || options.natsKey !== undefined
      ? { tls: { caFile: options.natsCa, certFile: options.natsCert, keyFile: options.natsKey } }
      : {}),
    replicas: options.replicas,
    partitions: options.partitions,
    namespace: options.natsNamespace,
  };
}

/** Start a node and serve until SIGINT or SIGTERM; resolves after a clean stop. */
export async function runNode(command: "serve" | "dev", options: NodeOptions, logger: Logger): Promise<void> {
  // Loaded here, not at the top: client subcommands need none of the server.
  const { startNode } = await import("../../mesh/start.ts");
  const auth = await openAuth(options, logger);
  const limits = limitsFrom(options as unknown as Record<string, unknown>);
  const tls = tlsConfig(options);
  const mesh = meshConfig(options);
  if ((options.natsCert === undefined) !== (options.natsKey === undefined)) {
    throw new UsageError("--nats-cert and --nats-key go together: the client certificate for NATS and its private key");
  }
  let running: RunningNode;
  try {
    running = await startNode({
      ...(tls !== undefined ? { tls } : {}),
      store: storeConfig(options),
      ...(mesh !== undefined ? { mesh } : {}),
      port: options.port,
      host: options.host,
      logger,
      limits: limits.node,
      server: { envelope: { debug: options.debug }, auth, limits: limits.server },
      ...(options.testKillBeforeOutboxApply === true ? { faults: { beforeOutboxApply: () => process.kill(process.pid, "SIGKILL") } } : {}),
    });
  } catch (err) {
    auth?.close();
    if (err instanceof TlsConfigError) throw new UsageError(err.message);
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new StartError(`port ${options.port} is already in use on ${options.host}; stop the other process or pass --port`);
    }
    if ((err as NodeJS.ErrnoException).code === "EADDRNOTAVAIL") {
      throw new StartError(`cannot listen on ${options.host}: no such local address; pass --host with an address of this machine`);
    }
    throw err;
  }
  const server = running.server;
  logger.info(
    { command, address: server.address, store: options.store },
    `resonate ${command} serving gRPC and HTTP${server.secure ? " over TLS" : ""} on ${server.address} with ${storeDescription(options)}`,
  );
  // A store that will never work with this node (NATS too old, another partition count) ends it.
  const refused = running.ready.then(
    () => undefined,
    (err: unknown) => err,
  );
  logAuth(command, options, auth, logger);

  const failure = await new Promise<unknown>((resolve) => {
    let stopping = false;
    void refused.then(async (err) => {
      if (err === undefined || stopping) return;
      stopping = true;
      await running.close().catch(() => undefined);
      auth?.close();
      resolve(err);
    });
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting without waiting for the drain");
        process.exit(1);
      }
      stopping = true;
      const started = Date.now();
      void (async () => {
        try {
          await running.close();
          auth?.close();
          logger.info({ signal, ms: Date.now() - started }, `resonate ${command} stopped (${signal})`);
        } catch (err) {
          logger.error({ err }, "error while stopping");
          process.exitCode = 1;
        }
        resolve(undefined);
      })();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  if (failure !== undefined) {
    throw failure instanceof StoreRefusedError ? new StartError(failure.message) : failure;
  }
}

function action(command: "serve" | "dev") {
  return async (opts: NodeOptions) => {
    const logger = createLogger(opts.logLevel);
    try {
      await runNode(command, opts, logger);
    } catch (err) {
      if (err instanceof UsageError) process.stderr.write(`${errorLine(err)}\n`);
      else if (err instanceof StartError) logger.error(err.message);
      else logger.error({ err }, errorLine(err).replace(/^error: /, ""));
      process.exitCode = exitCodeOf(err);
    }
  };
}

export function registerServe(program: Command): Command {
  const cmd = program
    .command("serve")
    .description("run a mesh node: gRPC and HTTP (Resonate JSON protocol) on one port")
    .addOption(
      new Option("--store <store>", "where records are kept")
        .env("RESONATE_STORE")
        .choices(STORES)
        .default("memory"),
    )
    .addOption(new Option("--nats <urls>", `NATS servers of one cluster, comma-separated (jetstream store; default ${DEFAULT_NATS})`).env("RESONATE_NATS"))
    .addOption(new Option("--nats-creds <file>", "NATS credentials file (jetstream store)").env("RESONATE_NATS_CREDS"))
    .addOption(new Option("--nats-ca <file>", "PEM CA of the NATS servers' certificates; connect with TLS (jetstream store)").env("RESONATE_NATS_CA"))
    .addOption(new Option("--nats-cert <file>", "PEM client certificate for NATS servers that verify clients (jetstream store)").env("RESONATE_NATS_CERT"))
    .addOption(new Option("--nats-key <file>", "PEM private key of --nats-cert (jetstream store)").env("RESONATE_NATS_KEY"))
    .addOption(
      new Option("--replicas <n>", "stream replicas of a new cluster: 1, or 3 for production (jetstream store)")
        .env("RESONATE_REPLICAS")
        .argParser(parseReplicas),
    )
    .addOption(
      new Option("--partitions <n>", "partitions of a new cluster, fixed at creation; every node must agree (jetstream store; default 8)")
        .env("RESONATE_PARTITIONS")
        .argParser(parsePartitions),
    )
    .addOption(
      new Option("--nats-namespace <name>", "names the cluster's streams, so clusters can share NATS (jetstream store; default resonate)").env(
        "RESONATE_NATS_NAMESPACE",
      ),
    )
    .addOption(
      new Option("--mesh-heartbeat-ms <ms>", `how often this node announces itself to the mesh (jetstream store; default ${DEFAULT_HEARTBEAT_MS})`)
        .env("RESONATE_MESH_HEARTBEAT_MS")
        .argParser(parseHeartbeat),
    )
    .addOption(
      new Option(
        "--mesh-expire-ms <ms>",
        "a node not heard from for this long has left the mesh and its partitions move to the others (jetstream store; default 3 heartbeats)",
      )
        .env("RESONATE_MESH_EXPIRE_MS")
        .argParser(parseExpiry),
    )
    // The outbox crash test's node dies in the window the outbox exists for (test/mesh/outbox-crash.test.ts).
    .addOption(new Option("--test-kill-before-outbox-apply", "crash tests only: SIGKILL before applying outbox entries").hideHelp());
  nodeOptions(cmd, { host: "0.0.0.0" })
    .addHelpText(
      "after",
      examples(
        "resonate serve --port 8001",
        "RESONATE_PORT=9000 resonate serve --host 127.0.0.1",
        "resonate serve --store jetstream --nats nats://h1:4222,nats://h2:4222 --replicas 3",
        "resonate serve --tls-cert node.pem --tls-key node-key.pem",
      ),
    )
    .action(action("serve"));
  return cmd;
}

/** `resonate dev` removes settled promises (and their tasks) this long after they settled, by default. */
export const DEV_RETENTION_MS = 60 * 60_000;

export function registerDev(program: Command): Command {
  const cmd = program
    .command("dev")
    .description("run a node for development: the embedded in-memory store, loopback only, nothing survives a restart");
  nodeOptions(cmd, { host: "127.0.0.1" });
  // A development node keeps a bounded history (serve keeps every promise unless told otherwise).
  cmd.options.find((o) => o.long === "--retention-ms")?.default(DEV_RETENTION_MS);
  cmd
    .addHelpText("after", examples("resonate dev", "resonate dev --port 0 --log-level debug"))
    .action((opts: Omit<NodeOptions, "store">) => action("dev")({ ...opts, store: "memory" }));
  return cmd;
}
