// vitest globalSetup: build the packages (incremental: a no-op when dist/ is
// current), so that the `resonate` bin the tests spawn runs today's code.

import { execFileSync } from "node:child_process";
import { repoRoot } from "./processes.ts";

export default function build(): void {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: repoRoot, stdio: "inherit" });
}
