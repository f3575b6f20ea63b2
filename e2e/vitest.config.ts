import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file boots its own three processes; on two shared cores one stack at a time is plenty.
    fileParallelism: false,
    // Real processes over HTTP: tests poll for conditions with their own bounded deadlines.
    testTimeout: 180_000,
    hookTimeout: 120_000
  }
})
