import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // Against the real sandbox over HTTP: tests poll for conditions with their own bounded deadlines.
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
