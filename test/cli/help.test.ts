// `resonate --help` and every subcommand's help read well: a description,
// described arguments and options, and examples to copy.
import { describe, expect, it } from "vitest";
import type { Command } from "commander";
import { buildProgram } from "@resonate-mesh/node/internal-for-tests";

const CLIENT_COMMANDS = ["invoke", "promises", "tasks", "schedules", "tree"];

function walk(cmd: Command, path: string[] = []): [string, Command][] {
  return cmd.commands.flatMap((sub) => [[[...path, sub.name()].join(" "), sub] as [string, Command], ...walk(sub, [...path, sub.name()])]);
}

const commands = walk(buildProgram()).filter(([path]) => CLIENT_COMMANDS.includes(path.split(" ")[0]!) && path !== "help");

describe("help of the client commands", () => {
  it("covers every client command and subcommand", () => {
    expect(commands.map(([path]) => path)).toEqual(
      expect.arrayContaining([
        "invoke",
        "promises get",
        "promises create",
        "promises resolve",
        "promises reject",
        "promises cancel",
        "promises search",
        "tasks get",
        "tasks search",
        "schedules create",
        "schedules get",
        "schedules delete",
        "schedules search",
        "tree",
      ]),
    );
  });

  it.each(commands)("%s has a description, described arguments and options, and examples", (_, cmd) => {
    expect(cmd.description().length).toBeGreaterThan(10);
    for (const arg of cmd.registeredArguments) expect(arg.description, arg.name()).not.toBe("");
    for (const opt of cmd.options) expect(opt.description, opt.flags).not.toBe("");
    let help = "";
    cmd.configureOutput({ writeOut: (s) => (help += s) });
    cmd.outputHelp();
    expect(help).toMatch(/Examples:\n {2}resonate /);
  });

  it("leaf commands take --server, --token and --json", () => {
    for (const [path, cmd] of commands.filter(([, c]) => c.commands.length === 0)) {
      const flags = cmd.options.map((o) => o.long);
      expect(flags, path).toEqual(expect.arrayContaining(["--server", "--token", "--json"]));
    }
  });
});
