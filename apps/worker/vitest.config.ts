import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // A real PostgreSQL server for the run: worker processes run on it as on SQLite.
    globalSetup: ["@mm-gateway/postgres-projection/testing/global-setup"],
    // Against the real sandbox over HTTP: tests poll for conditions with their own bounded deadlines.
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
