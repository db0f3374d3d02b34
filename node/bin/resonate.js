#!/usr/bin/env node
// The `resonate` command. We ship TypeScript without a build step: register
// tsx's loader, then run the CLI from source.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
