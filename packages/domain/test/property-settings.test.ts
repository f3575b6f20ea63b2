import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { propertySettings, PropertySettingsInvalid } from "../testing/index.js"

/** The error names the variable, says what it must be, and quotes what it got. */
const fails = (env: Record<string, string>, variable: string, value: string) => {
  try {
    propertySettings(100, env)
  } catch (error) {
    assert.instanceOf(error, PropertySettingsInvalid)
    assert.include((error as Error).message, `${variable} must be`)
    assert.include((error as Error).message, `got ${JSON.stringify(value)}`)
    return
  }
  assert.fail(`${variable}=${JSON.stringify(value)} was accepted`)
}

describe("propertySettings (FC_NUM_RUNS, FC_SEED)", () => {
  it("uses the property's default when nothing is set, and no fixed seed", () => {
    assert.deepStrictEqual(propertySettings(250, {}), { numRuns: 250 })
  })

  it("takes FC_NUM_RUNS for every property", () => {
    assert.deepStrictEqual(propertySettings(250, { FC_NUM_RUNS: "200000" }), { numRuns: 200_000 })
    assert.deepStrictEqual(propertySettings(7, { FC_NUM_RUNS: "1" }), { numRuns: 1 })
  })

  it("refuses an FC_NUM_RUNS that is not a positive integer, never running zero times", () => {
    for (const value of ["0", "-5", "1.5", "1e3", "ten", "", " 10", "10 ", "0x10", "99999999999999999999"]) {
      fails({ FC_NUM_RUNS: value }, "FC_NUM_RUNS", value)
    }
  })

  it("takes FC_SEED as printed by fast-check, negative included", () => {
    assert.deepStrictEqual(propertySettings(250, { FC_SEED: "-1819918769" }), { numRuns: 250, seed: -1_819_918_769 })
    assert.deepStrictEqual(propertySettings(250, { FC_SEED: "0", FC_NUM_RUNS: "3" }), { numRuns: 3, seed: 0 })
  })

  it("refuses an FC_SEED that is not an integer", () => {
    for (const value of ["", "seed", "1.5", "-", "--1", "01", "1e9", "123456789012345678901"]) fails({ FC_SEED: value }, "FC_SEED", value)
  })

  it("refuses a default that is not a positive integer (a mistake in the test itself)", () => {
    assert.throws(() => propertySettings(0, {}), PropertySettingsInvalid)
    assert.throws(() => propertySettings(2.5, {}), PropertySettingsInvalid)
  })

  it("a seed from the environment replays the same runs", () => {
    const settings = propertySettings(20, { FC_SEED: "42" })
    const sample = () => fc.sample(fc.integer(), settings)
    assert.deepStrictEqual(sample(), sample())
  })

  it("reads the process environment by default", () => {
    const saved = process.env["FC_NUM_RUNS"]
    try {
      process.env["FC_NUM_RUNS"] = "17"
      assert.strictEqual(propertySettings(250).numRuns, 17)
      process.env["FC_NUM_RUNS"] = "zero"
      assert.throws(() => propertySettings(250), PropertySettingsInvalid)
    } finally {
      if (saved === undefined) delete process.env["FC_NUM_RUNS"]
      else process.env["FC_NUM_RUNS"] = saved
    }
  })
})
