import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // Tests boot real servers and derive scrypt keys; under a loaded machine (turbo runs every package at
    // once) vitest's 5 s default cut healthy tests short. A timeout here only catches hangs.
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
