import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import fc from "fast-check"
import { parseSendBody, routeOf, scriptOf, startSandbox } from "../src/index.js"
import type { SendRequest, TemplateCategory } from "../src/index.js"
import { propertySettings } from "@mm-gateway/domain/testing"


const request = fc.record({
  to: fc.stringMatching(/^\d{8,15}$/),
  type: fc.constantFrom("text", "template", "image"),
  productPolicy: fc.constantFrom("CLOUD_API_FALLBACK" as const, "STRICT" as const)
})
const category = fc.option(fc.constantFrom<TemplateCategory>("MARKETING", "UTILITY", "AUTHENTICATION"), { nil: undefined })
const endpoint = fc.constantFrom("messages" as const, "marketing_messages" as const)

describe("MM semantics (routeOf)", () => {
  it("gives marketing_lite only to MARKETING templates on /marketing_messages from onboarded numbers; STRICT never falls back", () => {
    fc.assert(
      fc.property(endpoint, request, category, fc.boolean(), (ep, req, cat, onboarded) => {
        const result = routeOf(ep, req as SendRequest, cat, onboarded)
        if (Either.isRight(result) && result.right === "marketing_lite") {
          assert.isTrue(ep === "marketing_messages" && cat === "MARKETING" && onboarded)
        }
        if (ep === "marketing_messages") {
          if (cat !== "MARKETING") assert.strictEqual(Either.isLeft(result) && result.left.error.code, 131055)
          if (req.productPolicy === "STRICT") assert.isFalse(Either.isRight(result) && result.right === "marketing")
          if (Either.isRight(result)) assert.include(["marketing_lite", "marketing"], result.right)
        } else {
          assert.isTrue(Either.isRight(result))
        }
      }),
      { ...propertySettings(100) }
    )
  })
})

describe("parseSendBody", () => {
  it("never throws and rejects with a 4xx Meta error", () => {
    fc.assert(
      fc.property(fc.anything(), (body) => {
        const result = parseSendBody(body)
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left.status, 400)
          assert.include([100, 131009], result.left.error.code)
        }
      }),
      { ...propertySettings(500) }
    )
  })
})

describe("the send endpoints", () => {
  it("answer arbitrary bodies with 200 or a 4xx, never a 5xx (outside the scripted 0500)", async () => {
    const sandbox = await startSandbox({ port: 0, seed: 5, rateLimitPerSecond: 0, webhookUrl: "http://127.0.0.1:9/unused", webhookMaxAttempts: 1 })
    try {
      const body = fc.oneof(
        fc.string(),
        fc.json(),
        fc.record({
          messaging_product: fc.constantFrom("whatsapp", "sms"),
          to: fc.oneof(fc.stringMatching(/^\+?\d{5,15}$/), fc.string()),
          type: fc.constantFrom("text", "template", "video", "bogus"),
          text: fc.record({ body: fc.string() }),
          template: fc.record({ name: fc.string(), language: fc.record({ code: fc.string() }) }, { requiredKeys: [] })
        }, { requiredKeys: [] }).map((value) => JSON.stringify(value))
      )
      await fc.assert(
        fc.asyncProperty(body, endpoint, async (raw, ep) => {
          let to: unknown
          try {
            to = JSON.parse(raw)?.to
          } catch {
            to = undefined
          }
          const script = typeof to === "string" ? scriptOf(to) : "normal"
          const response = await fetch(`${sandbox.url}/v24.0/106540352242922/${ep}`, {
            method: "POST",
            headers: { authorization: "Bearer t", "content-type": "application/json" },
            body: raw
          }).catch((error: unknown) => {
            // only the 0999 script may leave a request unanswered
            assert.strictEqual(script, "connection_dropped", String(error))
            return undefined
          })
          if (response === undefined) return
          const answer: any = await response.json()
          if (script !== "server_error_once") assert.isBelow(response.status, 500)
          if (response.status !== 200) assert.isNumber((answer.error ?? answer.detail?.error).code)
        }),
        { ...propertySettings(100) }
      )
    } finally {
      await sandbox.close()
    }
  })
})
