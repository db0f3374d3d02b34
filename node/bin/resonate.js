#!/usr/bin/env node
// The `resonate` command: the compiled CLI (`npm run build` makes dist/).
await import("../dist/cli/main.js");
