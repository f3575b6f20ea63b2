import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { mulberry32 } from "../src/index.js"
import { propertySettings } from "@mm-gateway/domain/testing"


describe("mulberry32", () => {
  it("repeats its sequence for the same seed and stays in range", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 50 }), (seed, a, b) => {
        const first = mulberry32(seed)
        const second = mulberry32(seed)
        const min = Math.min(a, b)
        const max = Math.max(a, b)
        for (let i = 0; i < 20; i++) {
          const x = first.next()
          assert.strictEqual(x, second.next())
          assert.isTrue(x >= 0 && x < 1)
          const n = first.int(min, max)
          assert.strictEqual(n, second.int(min, max))
          assert.isTrue(n >= min && n <= max && Number.isInteger(n))
        }
        assert.strictEqual(first.string(12), second.string(12))
      }),
      { ...propertySettings(100) }
    )
  })

  it("gives different sequences for different seeds", () => {
    const a = mulberry32(1)
    const b = mulberry32(2)
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => a.next()),
      Array.from({ length: 5 }, () => b.next())
    )
  })
})
