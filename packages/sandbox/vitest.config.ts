import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // As in the other packages: under pnpm test every package's tests (the end-to-end stacks among
    // them) share the machine, and the HTTP properties outgrew vitest's 5 s default there. A timeout
    // here only catches hangs.
    testTimeout: 60_000
  }
})
