import { assert, describe, it, vi } from "@effect/vitest"
import { readFileSync } from "node:fs"

const read = (file: string) => readFileSync(new URL(file, import.meta.url), "utf8")

describe("the README's example", () => {
  it("is test/readme-example.ts, which the package's tsconfig typechecks", () => {
    const blocks = [...read("../README.md").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
    assert.deepStrictEqual(blocks, [read("./readme-example.ts")])
  })

  it("runs, and records what it says", async () => {
    const logged: Array<unknown> = []
    const log = vi.spyOn(console, "log").mockImplementation((value: unknown) => void logged.push(value))
    try {
      await import("./readme-example.js")
      await vi.waitFor(() => assert.lengthOf(logged, 1))
    } finally {
      log.mockRestore()
    }
    const events = logged[0] as ReadonlyArray<{ readonly _tag: string; readonly wabaId: string }>
    // A WABA the gateway never saw is created, then signed (docs/domain.md#streams).
    assert.deepStrictEqual(events.map((e) => [e._tag, e.wabaId]), [["WabaRegistered", "102290129340398"], ["WabaTermsSigned", "102290129340398"]])
  })
})
