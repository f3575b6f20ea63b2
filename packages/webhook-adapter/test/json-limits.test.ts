import { assert, describe, it } from "@effect/vitest"
import { propertySettings, PROPERTY_TEST } from "@mm-gateway/domain/testing"
import fc from "fast-check"
import { JsonLimits } from "../src/index.js"
import { fixtureBodies, fixtureJson } from "./helpers.js"

const { MAX_ARRAY_ITEMS, MAX_DEPTH, MAX_OBJECT_KEYS, MAX_STRING_CHARS, firstViolation } = JsonLimits

/** `levels` arrays inside each other, built as text and parsed, as a client would send them. */
const nestedArrays = (levels: number): unknown => JSON.parse(`${"[".repeat(levels)}${"]".repeat(levels)}`)
const nestedObjects = (levels: number): unknown => JSON.parse(`${"{\"a\":".repeat(levels)}1${"}".repeat(levels)}`)
const objectWithKeys = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]))

describe("bounds of a JSON document", () => {
  it("nesting: 32 levels are within the bound, 33 are not, reported where the 33rd level starts", () => {
    assert.isUndefined(firstViolation(nestedArrays(MAX_DEPTH)))
    assert.isUndefined(firstViolation(nestedObjects(MAX_DEPTH)))
    assert.deepStrictEqual(firstViolation(nestedArrays(MAX_DEPTH + 1)), {
      path: Array.from({ length: MAX_DEPTH }, () => 0),
      bound: "depth",
      message: "is nested deeper than 32 levels"
    })
    assert.deepStrictEqual(firstViolation(nestedObjects(MAX_DEPTH + 1))?.path, Array.from({ length: MAX_DEPTH }, () => "a"))
  })

  it("any depth is checked without overflowing the stack", () => {
    for (const levels of [3_000, 200_000]) {
      assert.strictEqual(firstViolation(nestedArrays(levels))?.bound, "depth")
      assert.strictEqual(firstViolation(nestedObjects(levels))?.bound, "depth")
    }
  })

  it("array items, object properties, strings and property names: at the bound within, one past it not", () => {
    const cases: ReadonlyArray<readonly [JsonLimits.Bound, (n: number) => unknown, number, string]> = [
      ["array_items", (n) => Array.from({ length: n }, () => 0), MAX_ARRAY_ITEMS, "has more than 1000 items"],
      ["object_keys", objectWithKeys, MAX_OBJECT_KEYS, "has more than 1000 properties"],
      ["string_chars", (n) => "x".repeat(n), MAX_STRING_CHARS, "is longer than 65536 characters"],
      ["string_chars", (n) => ({ ["x".repeat(n)]: 1 }), MAX_STRING_CHARS, "has a property name longer than 65536 characters"]
    ]
    for (const [bound, make, limit, message] of cases) {
      assert.isUndefined(firstViolation({ at: [make(limit)] }), `${bound} at ${limit}`)
      assert.deepStrictEqual(firstViolation({ at: [make(limit + 1)] }), { path: ["at", 0], bound, message }, `${bound} past ${limit}`)
    }
  })

  it("the first violation in document order is the one reported", () => {
    const document = { a: [1, { b: "x".repeat(MAX_STRING_CHARS + 1) }], c: nestedArrays(100), d: objectWithKeys(MAX_OBJECT_KEYS + 1) }
    assert.deepStrictEqual(firstViolation(document)?.path, ["a", 1, "b"])
    assert.deepStrictEqual(firstViolation({ c: document.c, d: document.d })?.bound, "depth")
    assert.deepStrictEqual(firstViolation({ d: document.d, c: document.c }), { path: ["d"], bound: "object_keys", message: "has more than 1000 properties" })
  })

  it("scalars, empty containers and the document itself", () => {
    for (const document of [null, true, 0, -1.5e300, "", "text", [], {}]) assert.isUndefined(firstViolation(document))
    assert.deepStrictEqual(firstViolation("x".repeat(MAX_STRING_CHARS + 1))?.path, [])
    assert.deepStrictEqual(firstViolation(Array.from({ length: MAX_ARRAY_ITEMS + 1 }, () => null))?.path, [])
  })

  it("every webhook fixture is within the bounds", () => {
    for (const key of fixtureBodies().keys()) assert.isUndefined(firstViolation(fixtureJson(key)), key)
  })

  it("a value beyond a bound placed anywhere in a document within them is reported at that place", PROPERTY_TEST, () => {
    /** The paths of every container of a document, the root included. */
    const containers = (value: unknown, at: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> => {
      if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => containers(v, [...at, i]))]
      if (typeof value === "object" && value !== null) return [at, ...Object.entries(value).flatMap(([k, v]) => containers(v, [...at, k]))]
      return []
    }
    const beyond = fc.constantFrom(
      { bound: "array_items", value: () => Array.from({ length: MAX_ARRAY_ITEMS + 1 }, () => 1) },
      { bound: "object_keys", value: () => objectWithKeys(MAX_OBJECT_KEYS + 1) },
      { bound: "string_chars", value: () => "é".repeat(MAX_STRING_CHARS + 1) },
      { bound: "depth", value: () => nestedArrays(5_000) }
    )
    const document = fc.oneof(fc.array(fc.jsonValue({ maxDepth: 4 })), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 })))
    fc.assert(
      fc.property(document, fc.nat(), beyond, fc.string({ maxLength: 5 }), (generated, pick, bad, name) => {
        assert.isUndefined(firstViolation(generated), "generated documents are within the bounds")
        // A copy: fast-check shrinks and prints the generated value, which must stay small.
        const doc = structuredClone(generated)
        const places = containers(doc).filter((p) => p.length < MAX_DEPTH - 1)
        const place = places[pick % places.length]!
        let parent: any = doc
        for (const segment of place) parent = parent[segment]
        const key = Array.isArray(parent) ? pick % (parent.length + 1) : name
        if (Array.isArray(parent)) parent.splice(key as number, 0, bad.value())
        // As JSON.parse makes them: an own property even when it is named `__proto__`.
        else Object.defineProperty(parent, key, { value: bad.value(), enumerable: true, writable: true, configurable: true })
        const found = firstViolation(doc)
        assert.strictEqual(found?.bound, bad.bound)
        // Nested arrays start at depth `place.length + 2`; the 33rd level is where the violation is.
        const deeper = bad.bound === "depth" ? Array.from({ length: MAX_DEPTH - place.length - 1 }, () => 0) : []
        assert.deepStrictEqual(found?.path, [...place, key, ...deeper])
      }),
      propertySettings(200)
    )
  })
})
