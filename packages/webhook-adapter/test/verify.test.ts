import { assert, describe, it } from "@effect/vitest"
import { Either, Redacted } from "effect"
import {
  make360dialogVerifier,
  makeHandshakeVerifier,
  makeMetaSignatureVerifier,
  verifyHandshake,
  verifyMetaSignature
} from "../src/index.js"

// Vectors computed outside this code base (Python's hmac module), so a bug shared by the code and the
// test cannot make them agree.
const RFC4231_KEY = "Jefe"
const RFC4231_DATA = "what do ya want for nothing?"
const RFC4231_HMAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"

const APP_SECRET = "test-app-secret"
const UNICODE_BODY =
  "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\",\"changes\":[{\"field\":\"messages\",\"value\":{\"text\":\"Olá — 你好 👋\"}}]}]}"
const UNICODE_HMAC = "7939f315de09d4804d81f1242529cee5577d6a5be082e14fd5a8737e0068f7c9"
const SHORT_BODY = "{\"object\":\"whatsapp_business_account\"}"
const SHORT_HMAC_APP = "b6978b21c4467654c466607663db9b43fae44b71083568df403e0a077089208e"
const PLATFORM_SECRET = "platform-secret"
const SHORT_HMAC_PLATFORM = "261bf19fd92b805ba8c854ae1dff4d63e9ef658908c2cfd9c30c9b720631c4ec"
const SHORT_HMAC_PLATFORM_B64 = "Jhvxn9krgFuoyFSuHf9NY+nvZYkIws/ZwwybcgYxxOw="

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

const failureOf = <A, E>(result: Either.Either<A, E>): E => {
  if (Either.isRight(result)) return assert.fail("expected a failure, got success")
  return result.left
}

const meta = Either.getOrThrow(makeMetaSignatureVerifier(APP_SECRET))

describe("Meta X-Hub-Signature-256", () => {
  it("accepts the RFC 4231 test case 2 vector", () => {
    const verify = Either.getOrThrow(makeMetaSignatureVerifier(RFC4231_KEY))
    assert.isTrue(Either.isRight(verify(RFC4231_DATA, { "x-hub-signature-256": `sha256=${RFC4231_HMAC}` })))
  })

  it("accepts a valid signature over the raw bytes, as bytes or as the same text", () => {
    const headers = { "x-hub-signature-256": `sha256=${SHORT_HMAC_APP}` }
    assert.isTrue(Either.isRight(meta(bytes(SHORT_BODY), headers)))
    assert.isTrue(Either.isRight(meta(SHORT_BODY, headers)))
  })

  it("accepts upper-case hex and a header name in any case", () => {
    assert.isTrue(Either.isRight(meta(SHORT_BODY, { "X-Hub-Signature-256": `sha256=${SHORT_HMAC_APP.toUpperCase()}` })))
  })

  it("accepts a Redacted app secret", () => {
    const verify = Either.getOrThrow(makeMetaSignatureVerifier(Redacted.make(APP_SECRET)))
    assert.isTrue(Either.isRight(verify(SHORT_BODY, { "x-hub-signature-256": `sha256=${SHORT_HMAC_APP}` })))
  })

  it("signs the unicode body as UTF-8 bytes; the escaped re-serialisation does not verify", () => {
    const header = { "x-hub-signature-256": `sha256=${UNICODE_HMAC}` }
    assert.isTrue(Either.isRight(meta(bytes(UNICODE_BODY), header)))
    assert.isTrue(Either.isRight(meta(UNICODE_BODY, header)))
    const escaped = UNICODE_BODY.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    assert.notStrictEqual(escaped, UNICODE_BODY)
    assert.strictEqual(failureOf(meta(escaped, header))._tag, "SignatureMismatch")
  })

  it("rejects a signature made with another secret", () => {
    const verify = Either.getOrThrow(makeMetaSignatureVerifier("another-secret"))
    const failure = failureOf(verify(SHORT_BODY, { "x-hub-signature-256": `sha256=${SHORT_HMAC_APP}` }))
    assert.strictEqual(failure._tag, "SignatureMismatch")
    assert.strictEqual(failure.httpStatus, 401)
  })

  it("rejects a body with one byte changed", () => {
    const tampered = bytes(SHORT_BODY)
    tampered[3] = (tampered[3] as number) ^ 0x01
    const failure = failureOf(meta(tampered, { "x-hub-signature-256": `sha256=${SHORT_HMAC_APP}` }))
    assert.strictEqual(failure._tag, "SignatureMismatch")
  })

  it("rejects a signature with one hex digit changed", () => {
    const flipped = `${SHORT_HMAC_APP.slice(0, -1)}${SHORT_HMAC_APP.endsWith("e") ? "f" : "e"}`
    assert.strictEqual(failureOf(meta(SHORT_BODY, { "x-hub-signature-256": `sha256=${flipped}` }))._tag, "SignatureMismatch")
  })

  it("reports a missing or empty header as SignatureMissing (401)", () => {
    const missing = failureOf(meta(SHORT_BODY, {}))
    assert.deepStrictEqual([missing._tag, missing.httpStatus], ["SignatureMissing", 401])
    assert.strictEqual(failureOf(meta(SHORT_BODY, { "x-hub-signature-256": "" }))._tag, "SignatureMissing")
    assert.strictEqual(failureOf(verifyMetaSignature(APP_SECRET, SHORT_BODY, undefined))._tag, "SignatureMissing")
  })

  it("reports a wrong prefix, a bare digest or a short digest as SignatureMalformed (401)", () => {
    for (const value of [`sha1=${SHORT_HMAC_APP}`, SHORT_HMAC_APP, `sha256=${SHORT_HMAC_APP.slice(1)}`, "sha256=zz"]) {
      const failure = failureOf(meta(SHORT_BODY, { "x-hub-signature-256": value }))
      assert.deepStrictEqual([failure._tag, failure.httpStatus], ["SignatureMalformed", 401], value)
    }
  })

  it("reports a repeated header as SignatureMalformed rather than picking one", () => {
    const sig = `sha256=${SHORT_HMAC_APP}`
    assert.strictEqual(failureOf(meta(SHORT_BODY, { "x-hub-signature-256": [sig, sig] }))._tag, "SignatureMalformed")
    assert.isTrue(Either.isRight(meta(SHORT_BODY, { "x-hub-signature-256": [sig] })))
  })

  it("refuses an empty app secret as a configuration error", () => {
    assert.strictEqual(failureOf(makeMetaSignatureVerifier(""))._tag, "WebhookConfigInvalid")
  })

  it("never puts the secret into a failure", () => {
    const failure = failureOf(meta(SHORT_BODY, { "x-hub-signature-256": `sha256=${"0".repeat(64)}` }))
    assert.notInclude(JSON.stringify(failure), APP_SECRET)
    assert.notInclude(String(failure), APP_SECRET)
  })
})

describe("Meta GET handshake", () => {
  const handshake = Either.getOrThrow(makeHandshakeVerifier("verify-me"))

  it("answers the challenge when the mode is subscribe and the token matches", () => {
    const result = handshake({ "hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444" })
    assert.deepStrictEqual(result, Either.right("1158201444"))
  })

  it("rejects a wrong token, a token of another length, and a missing token with 403", () => {
    for (const token of ["verify-mf", "verify-me-too", undefined]) {
      const failure = failureOf(handshake({ "hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1" }))
      assert.deepStrictEqual([failure.reason, failure.httpStatus], ["verify_token_mismatch", 403])
    }
  })

  it("rejects a mode other than subscribe", () => {
    const failure = failureOf(handshake({ "hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1" }))
    assert.strictEqual(failure.reason, "mode_not_subscribe")
  })

  it("rejects a missing, empty or oversized challenge, and repeated parameters", () => {
    assert.strictEqual(
      failureOf(handshake({ "hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1".repeat(1025) })).reason,
      "challenge_missing_or_too_long"
    )
    assert.strictEqual(failureOf(handshake({ "hub.mode": "subscribe", "hub.verify_token": "verify-me" })).reason, "challenge_missing_or_too_long")
    assert.strictEqual(
      failureOf(handshake({ "hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "" })).reason,
      "challenge_missing_or_too_long"
    )
    assert.strictEqual(
      failureOf(handshake({ "hub.mode": "subscribe", "hub.verify_token": ["verify-me", "x"], "hub.challenge": "1" })).reason,
      "parameter_repeated"
    )
  })

  it("refuses an empty verify token as a configuration error", () => {
    assert.strictEqual(failureOf(verifyHandshake("", { "hub.mode": "subscribe" }))._tag, "WebhookConfigInvalid")
  })
})

describe("360dialog verification", () => {
  it("refuses a configuration with neither a header secret nor a platform secret", () => {
    const failure = failureOf(make360dialogVerifier({}))
    assert.strictEqual(failure._tag, "WebhookConfigInvalid")
    assert.strictEqual(failureOf(make360dialogVerifier({ headerSecret: null, platformSecret: null }))._tag, "WebhookConfigInvalid")
    assert.strictEqual(failureOf(make360dialogVerifier({ headerSecret: "" }))._tag, "WebhookConfigInvalid")
    assert.strictEqual(failureOf(make360dialogVerifier({ headerSecret: "s", headerName: "bad header" }))._tag, "WebhookConfigInvalid")
    assert.strictEqual(
      failureOf(make360dialogVerifier({ headerSecret: "s", headerName: "X-360dialog-Signature" }))._tag,
      "WebhookConfigInvalid"
    )
  })

  describe("shared header secret", () => {
    const verify = Either.getOrThrow(make360dialogVerifier({ headerSecret: Redacted.make("shared-secret") }))

    it("accepts the configured value in the default header x-mmgw-webhook-secret", () => {
      assert.isTrue(Either.isRight(verify(SHORT_BODY, { "x-mmgw-webhook-secret": "shared-secret" })))
    })

    it("rejects a missing, wrong or longer value", () => {
      assert.strictEqual(failureOf(verify(SHORT_BODY, {}))._tag, "SignatureMissing")
      for (const value of ["shared-secreT", "shared-secret-and-more", "s"]) {
        const failure = failureOf(verify(SHORT_BODY, { "x-mmgw-webhook-secret": value }))
        assert.deepStrictEqual([failure._tag, failure.scheme, failure.httpStatus], ["SignatureMismatch", "360dialog_header", 401])
      }
    })

    it("reads the header named by the configuration", () => {
      const custom = Either.getOrThrow(make360dialogVerifier({ headerName: "X-Webhook-Token", headerSecret: "abc" }))
      assert.isTrue(Either.isRight(custom(SHORT_BODY, { "x-webhook-token": "abc" })))
      assert.strictEqual(failureOf(custom(SHORT_BODY, { "x-mmgw-webhook-secret": "abc" }))._tag, "SignatureMissing")
    })
  })

  describe("x-360dialog-signature", () => {
    const verify = Either.getOrThrow(make360dialogVerifier({ platformSecret: PLATFORM_SECRET }))

    it("accepts lower-case hex, hex prefixed sha256=, and base64", () => {
      for (const value of [SHORT_HMAC_PLATFORM, `sha256=${SHORT_HMAC_PLATFORM}`, SHORT_HMAC_PLATFORM_B64]) {
        assert.isTrue(Either.isRight(verify(bytes(SHORT_BODY), { "x-360dialog-signature": value })), value)
      }
    })

    it("rejects the app-secret signature, a tampered body, a missing header and garbage", () => {
      assert.strictEqual(failureOf(verify(SHORT_BODY, { "x-360dialog-signature": SHORT_HMAC_APP }))._tag, "SignatureMismatch")
      assert.strictEqual(
        failureOf(verify(`${SHORT_BODY} `, { "x-360dialog-signature": SHORT_HMAC_PLATFORM }))._tag,
        "SignatureMismatch"
      )
      assert.strictEqual(failureOf(verify(SHORT_BODY, {}))._tag, "SignatureMissing")
      assert.strictEqual(failureOf(verify(SHORT_BODY, { "x-360dialog-signature": "not-a-digest" }))._tag, "SignatureMalformed")
    })
  })

  it("requires both checks when both secrets are configured", () => {
    const verify = Either.getOrThrow(make360dialogVerifier({ headerSecret: "shared-secret", platformSecret: PLATFORM_SECRET }))
    const both = { "x-mmgw-webhook-secret": "shared-secret", "x-360dialog-signature": SHORT_HMAC_PLATFORM }
    assert.isTrue(Either.isRight(verify(SHORT_BODY, both)))
    assert.strictEqual(failureOf(verify(SHORT_BODY, { "x-mmgw-webhook-secret": "shared-secret" })).scheme, "360dialog_signature")
    assert.strictEqual(failureOf(verify(SHORT_BODY, { "x-360dialog-signature": SHORT_HMAC_PLATFORM })).scheme, "360dialog_header")
  })
})
