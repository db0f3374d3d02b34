#!/usr/bin/env -S node --max-semi-space-size=32
// The `resonate` command: the compiled CLI, no TypeScript loader.
// --max-semi-space-size=32 (MiB; V8's default is 16): a busy node allocates
// short-lived objects per request (messages, records, promises); a young
// generation twice as large scavenges half as often (the main thread's time in
// the garbage collector: 10.8% -> 8.9%, npm run bench, sdk W1 at 64 in flight
// on JetStream). It costs up to 32 MiB more resident memory under load.
// deploy/Dockerfile and deploy/local/cluster.sh start the node with the same flag.
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
