import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { interpretResponse, parseProviderError, parseRetryAfter } from "../../src/provider/index.js"
import { propertySettings } from "@mm-gateway/domain/testing"

const NOW = Date.UTC(2026, 10, 25, 15, 0, 0)

const graph131055 = {
  error: {
    message: "(#131055) Method not allowed",
    type: "OAuthException",
    code: 131055,
    error_data: { messaging_product: "whatsapp", details: "Only marketing template messages are supported" },
    error_subcode: 2494055,
    fbtrace_id: "Az8or2yhqkZfEZ-_4Qn_Bam"
  }
}
const expected131055 = {
  code: 131055,
  title: null,
  message: "(#131055) Method not allowed",
  details: "Only marketing template messages are supported"
}

describe("parseProviderError", () => {
  it("reads Graph's envelope", () => {
    assert.deepStrictEqual(parseProviderError(JSON.stringify(graph131055)), expected131055)
  })

  it("unwraps 360dialog's detail.error", () => {
    assert.deepStrictEqual(parseProviderError(JSON.stringify({ detail: graph131055 })), expected131055)
  })

  it("takes a code placed directly in detail, and webhook-style errors lists", () => {
    assert.deepStrictEqual(parseProviderError(JSON.stringify({ detail: { code: "130429", title: "Rate limit hit" } })), {
      code: 130429,
      title: "Rate limit hit",
      message: null,
      details: null
    })
    assert.deepStrictEqual(
      parseProviderError(JSON.stringify({ errors: [{ code: 131026, title: "Message undeliverable", details: "Receiver incapable" }] })),
      { code: 131026, title: "Message undeliverable", message: null, details: "Receiver incapable" }
    )
  })

  it("returns null for bodies without a Meta code", () => {
    for (const text of ["", "<html>502 Bad Gateway</html>", "null", "[1,2]", "{\"detail\":\"Not authenticated\"}", "{\"error\":{\"message\":\"x\"}}", "{\"error\":{\"code\":\"abc\"}}"]) {
      assert.strictEqual(parseProviderError(text), null, text)
    }
  })

  it("never throws and finds the code wherever a known shape carries it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999 }), fc.option(fc.string()), fc.constantFrom("graph", "360dialog", "errors"), (code, details, shape) => {
        const inner = { message: "m", code, ...(details === null ? {} : { error_data: { details } }) }
        const body = shape === "graph" ? { error: inner } : shape === "360dialog" ? { detail: { error: inner } } : { errors: [inner] }
        const parsed = parseProviderError(JSON.stringify(body))
        return parsed !== null && parsed.code === code && parsed.details === (details === null || details === "" ? null : details)
      }),
      { ...propertySettings(200) }
    )
    fc.assert(
      fc.property(fc.string(), (text) => {
        const parsed = parseProviderError(text)
        return parsed === null || Number.isInteger(parsed.code)
      }),
      { ...propertySettings(200) }
    )
  })
})

describe("parseRetryAfter", () => {
  it("reads delta-seconds and HTTP dates", () => {
    assert.strictEqual(parseRetryAfter("0", NOW), 0)
    assert.strictEqual(parseRetryAfter(" 120 ", NOW), 120_000)
    assert.strictEqual(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW), 90_000)
    assert.strictEqual(parseRetryAfter(new Date(NOW - 90_000).toUTCString(), NOW), 0)
  })

  it("ignores what it cannot read", () => {
    for (const value of [undefined, "", "-5", "1.5", "soon", "2026-13-45"]) assert.strictEqual(parseRetryAfter(value, NOW), null, String(value))
  })
})

describe("interpretResponse", () => {
  const ok = (messages: unknown) => JSON.stringify({ messaging_product: "whatsapp", contacts: [], messages })

  it("accepts a 2xx with a wamid and keeps a known message_status", () => {
    assert.deepStrictEqual(interpretResponse(200, ok([{ id: "wamid.A", message_status: "paused" }]), undefined, NOW), {
      _tag: "Accepted",
      wamid: "wamid.A",
      messageStatus: "paused"
    })
    assert.deepStrictEqual(interpretResponse(201, ok([{ id: "wamid.B", message_status: "something_new" }]), undefined, NOW), {
      _tag: "Accepted",
      wamid: "wamid.B",
      messageStatus: "accepted"
    })
  })

  it("a 2xx without a wamid cannot be told apart from a lost message", () => {
    for (const text of [ok([]), ok([{ message_status: "accepted" }]), ok([{ id: "" }]), "{}", "OK"]) {
      assert.strictEqual(interpretResponse(200, text, undefined, NOW)._tag, "NoDefinitiveAnswer", text)
    }
  })

  it("any other status is an HttpError carrying the parsed error and Retry-After", () => {
    fc.assert(
      fc.property(fc.integer({ min: 300, max: 599 }), fc.string(), fc.option(fc.nat({ max: 3600 })), (status, text, seconds) => {
        const result = interpretResponse(status, text, seconds === null ? undefined : String(seconds), NOW)
        return result._tag === "HttpError" && result.status === status &&
          result.retryAfterMs === (seconds === null ? null : seconds * 1000)
      }),
      { ...propertySettings(200) }
    )
  })
})
