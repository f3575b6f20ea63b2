import { assert, describe, it } from "@effect/vitest"
import { propertySettings } from "@mm-gateway/domain/testing"
import { Either, Redacted } from "effect"
import fc from "fast-check"
import {
  make360dialogVerifier,
  makeMetaSignatureVerifier,
  META_SIGNATURE_HEADER,
  sign360dialogWebhook,
  signMetaWebhook
} from "../src/index.js"

// The same outside vectors as verify.test.ts (Python's hmac module), so the helper is checked against
// something other than the code it shares a file tree with.
const SHORT_BODY = "{\"object\":\"whatsapp_business_account\"}"
const SHORT_HMAC_APP = "b6978b21c4467654c466607663db9b43fae44b71083568df403e0a077089208e"
const SHORT_HMAC_PLATFORM = "261bf19fd92b805ba8c854ae1dff4d63e9ef658908c2cfd9c30c9b720631c4ec"
const APP_SECRET = "test-app-secret"
const PLATFORM_SECRET = "platform-secret"

const verifyMeta = Either.getOrThrow(makeMetaSignatureVerifier(APP_SECRET))
const verify360 = Either.getOrThrow(make360dialogVerifier({ platformSecret: PLATFORM_SECRET }))

describe("signMetaWebhook", () => {
  it("gives the header value Meta sends: sha256= and the lower-case hex HMAC", () => {
    assert.strictEqual(signMetaWebhook(SHORT_BODY, APP_SECRET), `sha256=${SHORT_HMAC_APP}`)
    assert.strictEqual(signMetaWebhook(SHORT_BODY, Redacted.make(APP_SECRET)), `sha256=${SHORT_HMAC_APP}`)
  })

  it("signs the bytes: a string and its UTF-8 encoding give the same signature", () => {
    const body = "{\"text\":\"Olá — 你好 👋\"}"
    assert.strictEqual(signMetaWebhook(new TextEncoder().encode(body), APP_SECRET), signMetaWebhook(body, APP_SECRET))
  })

  it("whatever the body, the real verifier accepts what it signs, and refuses it for another body or secret", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string({ minLength: 1 }), (body, otherSecret) => {
        assert.isTrue(Either.isRight(verifyMeta(body, { [META_SIGNATURE_HEADER]: signMetaWebhook(body, APP_SECRET) })))
        const tampered = Uint8Array.from([...body, 0x20])
        assert.isTrue(Either.isLeft(verifyMeta(tampered, { [META_SIGNATURE_HEADER]: signMetaWebhook(body, APP_SECRET) })))
        if (otherSecret !== APP_SECRET) {
          assert.isTrue(Either.isLeft(verifyMeta(body, { [META_SIGNATURE_HEADER]: signMetaWebhook(body, otherSecret) })))
        }
      }),
      propertySettings(200)
    )
  })
})

describe("sign360dialogWebhook", () => {
  it("gives the lower-case hex HMAC with the platform secret", () => {
    assert.strictEqual(sign360dialogWebhook(SHORT_BODY, PLATFORM_SECRET), SHORT_HMAC_PLATFORM)
  })

  it("whatever the body, the real verifier accepts what it signs, and refuses it for another body", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (body) => {
        assert.isTrue(Either.isRight(verify360(body, { "x-360dialog-signature": sign360dialogWebhook(body, PLATFORM_SECRET) })))
        const tampered = Uint8Array.from([...body, 0x20])
        assert.isTrue(Either.isLeft(verify360(tampered, { "x-360dialog-signature": sign360dialogWebhook(body, PLATFORM_SECRET) })))
      }),
      propertySettings(200)
    )
  })
})
