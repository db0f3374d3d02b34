// What every client subcommand shares: the connection flags, `--json`, the
// exit-code discipline (2 for usage errors, including commander's own), and the
// wrapper that turns any failure into one sentence on stderr.

import { Command, Option } from "commander";
import type { CliClient } from "../client.ts";
import { errorLine, exitCodeOf, ExitCode, UsageError } from "../errors.ts";
import { toJson } from "../format.ts";

export const DEFAULT_SERVER = "http://localhost:8001";

export interface Io {
  /** A line (or block) for people on stdout. */
  print(text: string): void;
  /** A note for people on stderr, never part of the command's output. */
  note(text: string): void;
  /** Machine-readable output: one JSON document on stdout. */
  json(value: unknown): void;
}

export const stdio: Io = {
  print: (text) => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  note: (text) => void process.stderr.write(`${text}\n`),
  json: (value) => void process.stdout.write(`${toJson(value)}\n`),
};

export interface CommandContext {
  client: CliClient;
  /** `--json` was given. */
  json: boolean;
  io: Io;
  now: () => number;
}

/** `--server`, `--token` and `--json` on a command that talks to a node. */
export function clientOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("-S, --server <url>", "the node to talk to").env("RESONATE_SERVER").default(DEFAULT_SERVER),
    )
    .addOption(new Option("-T, --token <token>", "bearer token sent as authorization metadata").env("RESONATE_TOKEN"))
    .addOption(new Option("--ca-file <file>", "PEM CA that signed the node's TLS certificate (https:// servers)").env("RESONATE_CA_FILE"))
    .addOption(new Option("--cert-file <file>", "PEM client certificate, for a node that requires one (mTLS)").env("RESONATE_CERT_FILE"))
    .addOption(new Option("--key-file <file>", "PEM private key of --cert-file").env("RESONATE_KEY_FILE"))
    .option("--json", "print JSON instead of text for people");
}

/**
 * The value of an option wherever it was given: on this command or an ancestor
 * (a root `--server` added by main.ts). An explicit flag beats an env var beats a default.
 */
export function optionValue(cmd: Command, key: string): unknown {
  const chain: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.push(c);
  for (const source of ["cli", "env", "config", "implied", "default"]) {
    for (const c of chain) {
      if (c.getOptionValueSource(key) === source && c.getOptionValue(key) !== undefined) return c.getOptionValue(key);
    }
  }
  return undefined;
}

/** Usage errors found by commander exit 2, like ours; help exits 0. */
export function usageExits(cmd: Command): Command {
  cmd.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? ExitCode.ok : ExitCode.usage);
  });
  cmd.showSuggestionAfterError(true);
  for (const sub of cmd.commands) usageExits(sub);
  return cmd;
}

/**
 * The action of a client command: connect, run, print one sentence on failure,
 * close the connection so the process ends on its own with the right exit code.
 */
export function clientAction<A extends unknown[]>(
  body: (ctx: CommandContext, ...args: A) => Promise<void>,
): (...args: [...A, Record<string, unknown>, Command]) => Promise<void> {
  return async (...all) => {
    const cmd = all[all.length - 1] as Command;
    const args = all.slice(0, -2) as unknown as A;
    let client: CliClient | undefined;
    try {
      const server = String(optionValue(cmd, "server") ?? DEFAULT_SERVER);
      const token = optionValue(cmd, "token") as string | undefined;
      // Loaded on use: `resonate dev`, `--help` and usage errors need no gRPC client.
      const { connect } = await import("../client.ts");
      const file = (key: string) => {
        const value = optionValue(cmd, key) as string | undefined;
        return value === undefined || value === "" ? undefined : value;
      };
      client = connect(server, token === "" ? undefined : token, {
        caFile: file("caFile"),
        certFile: file("certFile"),
        keyFile: file("keyFile"),
      });
      await body({ client, json: optionValue(cmd, "json") === true, io: stdio, now: Date.now }, ...args);
    } catch (err) {
      process.stderr.write(`${errorLine(err)}\n`);
      process.exitCode = exitCodeOf(err);
    } finally {
      client?.close();
    }
  };
}

/** Parse an integer flag (`--version`, `--limit`) or fail naming it. */
export function parseIntFlag(text: string | undefined, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${what} "${text}" is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, not ${n}`);
  return n;
}

/** Collect a repeatable flag's values in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Help text examples, indented under an "Examples:" heading. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}\n`;
}
