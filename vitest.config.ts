import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["node/test/**/*.test.ts", "sdk/test/**/*.test.ts", "test/**/*.test.ts", "examples/*/test/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
