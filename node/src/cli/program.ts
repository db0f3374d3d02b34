// The `resonate` command line. Each subcommand lives in commands/<name>.ts and
// registers itself on the program; this file only assembles them (main.ts runs it).

import { Command } from "commander";
import { examples, usageExits } from "./commands/common.ts";
import { registerInvoke } from "./commands/invoke.ts";
import { registerPromises } from "./commands/promises.ts";
import { registerSchedules } from "./commands/schedules.ts";
import { registerDev, registerServe } from "./commands/serve.ts";
import { registerTasks } from "./commands/tasks.ts";
import { registerToken } from "./commands/token.ts";
import { registerTree } from "./commands/tree.ts";

export function buildProgram(): Command {
  const program = new Command("resonate")
    .description("Resonate mesh: durable promises and durable functions over gRPC")
    // Also accepted before the subcommand (`resonate --server URL promises get x`); each client
    // subcommand declares them too, with the env vars and defaults.
    .option("-S, --server <url>", "the node to talk to (default http://localhost:8001; env RESONATE_SERVER)")
    .option("-T, --token <token>", "bearer token sent as authorization metadata (env RESONATE_TOKEN)")
    .option("--ca-file <file>", "PEM CA that signed the node's TLS certificate (env RESONATE_CA_FILE)")
    .option("--cert-file <file>", "PEM client certificate for mTLS (env RESONATE_CERT_FILE)")
    .option("--key-file <file>", "PEM private key of --cert-file (env RESONATE_KEY_FILE)")
    .addHelpText(
      "after",
      examples(
        "resonate dev",
        "resonate invoke greet-1 --func greet --arg '\"World\"' --wait",
        "resonate promises get greet-1",
        "resonate tree greet-1",
      ),
    );
  registerDev(program);
  registerServe(program);
  registerInvoke(program);
  registerPromises(program);
  registerTasks(program);
  registerSchedules(program);
  registerTree(program);
  registerToken(program);
  return usageExits(program);
}

