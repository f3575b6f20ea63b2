import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // A guard against hangs, not a speed check: property tests share two cores with every other
    // package's tests under `pnpm test` and can take several times their solo duration.
    testTimeout: 60_000
  }
})
