import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // One real PostgreSQL server for the run; each test file makes databases of its own on it.
    globalSetup: ["@mm-gateway/postgres-projection/testing/global-setup"],
    // A guard against hangs, not a speed check: the server shares two cores with every other package's tests.
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
