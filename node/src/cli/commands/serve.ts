// `resonate serve` and `resonate dev`: run a mesh node. Each flag has an
// environment variable (flag > env > default). dev is serve with the defaults
// a laptop wants: the embedded store and loopback only.

import { Command, InvalidArgumentError, Option } from "commander";
import type { Logger } from "pino";
import { DEFAULT_PORT } from "../../api/defaults.ts";
import type { RunningServer } from "../../api/server.ts";
import type { Store } from "../../store/types.ts";
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
}

function parsePort(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > 65_535) {
    throw new InvalidArgumentError("It must be a whole number from 0 to 65535 (0 picks a free port).");
  }
  return Number(text);
}

function nodeOptions(cmd: Command, defaults: { host: string }): Command {
  return limitOptions(cmd)
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
}

async function openStore(name: StoreName): Promise<Store> {
  if (name === "jetstream") {
    throw new UsageError("the jetstream store is not available in this version yet; use --store memory");
  }
  const { MemoryStore } = await import("../../store/memory.ts");
  return new MemoryStore();
}

/** What the start line says about the store. */
function storeDescription(name: StoreName): string {
  return name === "memory" ? "the embedded in-memory store (its data does not survive a restart)" : `the ${name} store`;
}

/** Start a node and serve until SIGINT or SIGTERM; resolves after a clean stop. */
export async function runNode(command: "serve" | "dev", options: NodeOptions, logger: Logger): Promise<void> {
  // Loaded here, not at the top: client subcommands need none of the server.
  const [{ MeshNode }, { startServer }] = await Promise.all([import("../../mesh/node.ts"), import("../../api/server.ts")]);
  const store = await openStore(options.store);
  const limits = limitsFrom(options as unknown as Record<string, unknown>);
  const node = new MeshNode({ store, logger, limits: limits.node });
  let server: RunningServer;
  try {
    await node.start();
    server = await startServer({
      engine: node,
      port: options.port,
      host: options.host,
      logger,
      envelope: { debug: options.debug },
      limits: limits.server,
    });
  } catch (err) {
    await node.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new StartError(`port ${options.port} is already in use on ${options.host}; stop the other process or pass --port`);
    }
    if ((err as NodeJS.ErrnoException).code === "EADDRNOTAVAIL") {
      throw new StartError(`cannot listen on ${options.host}: no such local address; pass --host with an address of this machine`);
    }
    throw err;
  }
  logger.info(
    { command, address: server.address, store: options.store },
    `resonate ${command} serving gRPC and HTTP on ${server.address} with ${storeDescription(options.store)}`,
  );

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting without waiting for the drain");
        process.exit(1);
      }
      stopping = true;
      const started = Date.now();
      void (async () => {
        try {
          await server.close();
          await node.stop();
          await store.close();
          logger.info({ signal, ms: Date.now() - started }, `resonate ${command} stopped (${signal})`);
        } catch (err) {
          logger.error({ err }, "error while stopping");
          process.exitCode = 1;
        }
        resolve();
      })();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
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
    );
  nodeOptions(cmd, { host: "0.0.0.0" })
    .addHelpText("after", examples("resonate serve --port 8001", "RESONATE_PORT=9000 resonate serve --host 127.0.0.1"))
    .action(action("serve"));
  return cmd;
}

export function registerDev(program: Command): Command {
  const cmd = program
    .command("dev")
    .description("run a node for development: the embedded in-memory store, loopback only, nothing survives a restart");
  nodeOptions(cmd, { host: "127.0.0.1" })
    .addHelpText("after", examples("resonate dev", "resonate dev --port 0 --log-level debug"))
    .action((opts: Omit<NodeOptions, "store">) => action("dev")({ ...opts, store: "memory" }));
  return cmd;
}
