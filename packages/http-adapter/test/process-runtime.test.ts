import { Effect, Logger } from "effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import { lineLogger } from "../src/process-runtime.js"

/** How the api and worker processes log: one record per line (pnpm start interleaves three processes' output). */

const captured = (program: Effect.Effect<void>): Array<string> => {
  const writes: Array<string> = []
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    writes.push(String(chunk))
    return true
  })
  Effect.runSync(program.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, lineLogger))))
  vi.restoreAllMocks()
  return writes
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("lineLogger", () => {
  it("writes a record as one line: ISO time, level, message, annotations as key=value", () => {
    const writes = captured(Effect.logInfo("lease acquired by host:1:ab").pipe(Effect.annotateLogs({ process: "worker", note: "two words" })))
    expect(writes).toHaveLength(1)
    expect(writes[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  lease acquired by host:1:ab /)
    expect(writes[0]).toContain(" process=worker")
    expect(writes[0]).toContain(` note="two words"`)
    expect(writes[0]!.endsWith("\n")).toBe(true)
    expect(writes[0]!.slice(0, -1)).not.toContain("\n")
  })

  it("puts a cause on the lines after the record, indented, so the record's own line stays whole", () => {
    const writes = captured(Effect.catchAllCause(Effect.fail("MMGW_ADMIN_TOKEN missing"), (cause) => Effect.logError("stopped by a failure", cause)))
    expect(writes).toHaveLength(1)
    const last = writes[0]!.split("\n")
    expect(last[0]).toMatch(/ ERROR stopped by a failure$/)
    expect(last[1]).toMatch(/^    .*MMGW_ADMIN_TOKEN missing/)
  })
})
