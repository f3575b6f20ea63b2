import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // A guard against hangs: every package's tests share two cores under `pnpm test`.
    testTimeout: 60_000
  }
})
