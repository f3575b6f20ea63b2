import { JsonLimits } from "@mm-gateway/webhook-adapter"
import fc from "fast-check"
import { propertySettings } from "@mm-gateway/domain/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { canonicalJson } from "../../src/api/send.js"
import { SEEDED, startSeededApi, templateBody, type TestApi } from "./support.js"

let api: TestApi
const { bm: BM, waba: WABA, phone: PHONE } = SEEDED

beforeAll(async () => {
  api = await startSeededApi()
})
afterAll(async () => {
  await api.close()
})

const nestedArrays = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`
/** `levels` zeros: the path into nested arrays. */
const zeros = (levels: number) => Array.from({ length: levels }, () => "0").join(".")
/** A valid template send with one more field, as the text a client would send. */
const sendWithExtra = (to: string, extra: string) => `${JSON.stringify(templateBody(to)).slice(0, -1)},"extra":${extra}}`

const expectBoundsError = (r: { readonly status: number; readonly json: any }, field: string, bound: string) => {
  expect(r.status).toBe(400)
  expect(r.json.error.code).toBe("invalid_request")
  expect(r.json.error.details).toEqual({ field })
  expect(r.json.error.message).toBe(field === "" ? `the request body ${bound}` : `${field}: ${bound}`)
}

describe("JSON bounds of request bodies", () => {
  it("PUT a Business Manager with a body of arrays nested 3000 levels deep is 400 invalid_request naming where the 33rd level starts", async () => {
    const r = await api.request("PUT", `/v1/business-managers/${BM}`, { raw: nestedArrays(3000) })
    expectBoundsError(r, zeros(32), "is nested deeper than 32 levels")
  })

  for (const endpoint of ["messages", "marketing_messages"] as const) {
    it(`a send on /${endpoint} with an extra field nested 3000 levels deep is 400 invalid_request naming it; nothing is recorded`, async () => {
      const headers = { "idempotency-key": `deep-${endpoint}` }
      const r = await api.request("POST", `/v1/channels/${PHONE}/${endpoint}`, { raw: sendWithExtra("16505550301", nestedArrays(3000)), headers })
      // The body is level 1 and `extra` level 2, so the 33rd level is 31 arrays further in.
      expectBoundsError(r, `extra.${zeros(31)}`, "is nested deeper than 32 levels")
      const valid = await api.request("POST", `/v1/channels/${PHONE}/${endpoint}`, { body: templateBody("16505550302"), headers })
      expect(valid.status).toBe(202)
    })
  }

  it("a batch item with an extra field nested 3000 levels deep is 400 invalid_request naming it", async () => {
    const r = await api.request("POST", `/v1/channels/${PHONE}/message-batches`, { raw: `{"messages":[${sendWithExtra("16505550303", nestedArrays(3000))}]}` })
    expectBoundsError(r, `messages.0.extra.${zeros(29)}`, "is nested deeper than 32 levels")
  })

  it("a send with an extra field nested up to the bound is accepted, one level more is not", async () => {
    const within = await api.request("POST", `/v1/channels/${PHONE}/messages`, { raw: sendWithExtra("16505550304", nestedArrays(JsonLimits.MAX_DEPTH - 1)) })
    expect(within.status).toBe(202)
    const beyond = await api.request("POST", `/v1/channels/${PHONE}/messages`, { raw: sendWithExtra("16505550305", nestedArrays(JsonLimits.MAX_DEPTH)) })
    expectBoundsError(beyond, `extra.${zeros(31)}`, "is nested deeper than 32 levels")
  })

  it("a batch of 1001 messages, an object of 1001 properties and a string of 65537 characters are 400 naming the place and the bound", async () => {
    const messages = Array.from({ length: 1001 }, (_, i) => templateBody(`1650555${String(i).padStart(4, "0")}`))
    expectBoundsError(await api.request("POST", `/v1/channels/${PHONE}/message-batches`, { body: { messages } }), "messages", "has more than 1000 items")
    const wide = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i]))
    expectBoundsError(await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: { ...templateBody("16505550306"), wide } }), "wide", "has more than 1000 properties")
    const long = "x".repeat(65_537)
    expectBoundsError(await api.request("PUT", `/v1/wabas/${WABA}`, { body: { businessManagerId: BM, name: long } }), "name", "is longer than 65536 characters")
    expectBoundsError(await api.request("PUT", "/v1/settings/routing", { raw: JSON.stringify(long) }), "", "is longer than 65536 characters")
  })

  it("malformed JSON is still invalid_json, however deep it goes", async () => {
    for (const raw of ["[".repeat(3000), `${nestedArrays(3000)}]`, `{"to":${"[".repeat(3000)}`]) {
      const r = await api.request("POST", `/v1/channels/${PHONE}/messages`, { raw })
      expect(r.status).toBe(400)
      expect(r.json.error.code).toBe("invalid_json")
    }
  })

  it("authentication comes first: a deep body without a token is 401, on an unknown route 404", async () => {
    const unauthenticated = await api.request("PUT", `/v1/business-managers/${BM}`, { raw: nestedArrays(3000), token: null })
    expect(unauthenticated.status).toBe(401)
    expect(unauthenticated.json.error.code).toBe("unauthorized")
    const unknown = await api.request("POST", "/v1/nothing-here", { raw: nestedArrays(3000) })
    expect(unknown.status).toBe(404)
    expect(unknown.json.error.code).toBe("not_found")
  })
})

/** The request hash's canonical form as it was first written: a sorted copy, then `JSON.stringify`. */
const sortedCopy = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortedCopy)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedCopy((value as Record<string, unknown>)[k])]))
  }
  return value
}

describe("the idempotency request hash", () => {
  it("writes the same canonical JSON as a sorted copy through JSON.stringify, so recorded hashes still match", () => {
    // Integer-like keys are where insertion order and JSON.stringify's order part.
    const key = fc.oneof(fc.string(), fc.constantFrom("0", "1", "10", "2", "01", "-1", "1.5", "4294967294", "4294967295", "9007199254740993", "__proto__"))
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.constantFrom(null, true, false, 0, -0, 1.5e300, -7),
        fc.string(),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(key, tie("value"), { maxKeys: 5 })
      )
    }))
    // Parsed from text, as bodies are: own `__proto__` properties included.
    const parsed = value.map((v) => JSON.parse(JSON.stringify(v)) as unknown)
    fc.assert(fc.property(parsed, (body) => {
      expect(canonicalJson(body)).toBe(JSON.stringify(sortedCopy(body)))
    }), propertySettings(300))
  })

  it("takes any depth", () => {
    const text = canonicalJson(JSON.parse(`${"[{\"b\":1,\"a\":".repeat(100_000)}0${"}]".repeat(100_000)}`))
    expect(text.startsWith("[{\"a\":[{\"a\":")).toBe(true)
    expect(text.length).toBe(100_000 * "[{\"a\":,\"b\":1}]".length + 1)
  })
})
