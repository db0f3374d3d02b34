// Files the programs under test append a line to per side effect, so a test
// can count what ran, across processes and crashes.

import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A path `name` in a new temporary folder. */
export function tempFile(name: string): string {
  return join(mkdtempSync(join(tmpdir(), "resonate-test-")), name);
}

/** The file's non-empty lines; none while it does not exist. */
export function lines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0);
}

/** How many lines are exactly `line`. */
export function count(file: string, line: string): number {
  return lines(file).filter((l) => l === line).length;
}
