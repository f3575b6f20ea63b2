import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // A real Chromium against the real api, worker and sandbox: tests wait for what the page shows
    // with their own bounded deadlines.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // One browser at a time on a shared machine.
    fileParallelism: false
  }
})
