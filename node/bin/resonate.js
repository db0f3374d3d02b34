#!/usr/bin/env node
// The `resonate` command: the compiled CLI, no TypeScript loader.
try {
  await import("../dist/cli/main.js");
} catch (err) {
  // A checkout where `npm run build` has not run yet (npm ci runs it through `prepare`).
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/cli/main.js")) {
    console.error("resonate: the CLI is not built (no node/dist); run `npm run build` at the repository's root");
    process.exit(1);
  }
  throw err;
}
