import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // The properties take a few seconds; with turbo running every package's tests at once on a small
    // machine, vitest's 5 s default cut them short. A timeout here only catches hangs.
    testTimeout: 60_000
  }
})
