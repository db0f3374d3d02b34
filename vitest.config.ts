import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Tests run the workspace packages from their TypeScript sources: the
// packages' `exports` name a "resonate-mesh-source" condition next to `types`/`import`
// (dist/), and it is switched on here for vitest, for the processes tests
// spawn (tsx workers, via NODE_OPTIONS) and for `tsc` (customConditions).
// The `resonate` bin runs compiled JavaScript, so globalSetup builds first.
// Not "module": vitest hands these to the test processes as node --conditions,
// and a require() under "module" loads a bundler-only ESM build
// (@opentelemetry/api 1.9's, which prom-client requires) that Node cannot run.
const conditions = ["resonate-mesh-source", ...defaultServerConditions.filter((c) => c !== "module")];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["node/test/**/*.test.ts", "sdk/test/**/*.test.ts", "test/**/*.test.ts", "examples/*/test/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    globalSetup: ["test/support/build.ts"],
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --conditions=resonate-mesh-source`.trim(),
      // Records a JetStream node shares between readers are frozen: a reader that modifies one fails (store/view.ts).
      RESONATE_FREEZE_SHARED_RECORDS: "1",
    },
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
