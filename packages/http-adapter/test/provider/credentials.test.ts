import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option, Redacted } from "effect"
import fc from "fast-check"
import type { CredentialsDecryptError } from "../../src/provider/index.js"
import {
  ChannelCredentials,
  decryptCredentials,
  deriveCredentialsKey,
  encryptCredentials,
  inMemoryChannelCredentials,
  makeEncryptedChannelCredentials
} from "../../src/provider/index.js"
import { propertySettings } from "@mm-gateway/domain/testing"

// scrypt is deliberately slow: derive each key once for the file.
const key = deriveCredentialsKey(Redacted.make("test-secret-key"))
const otherKey = deriveCredentialsKey("another-secret-key")

const API_KEY = "d360-api-key-value-do-not-leak"
const TOKEN = "EAAG-access-token-do-not-leak"

const reveal = (secrets: { apiKey?: Redacted.Redacted<string>; accessToken?: Redacted.Redacted<string> }) => ({
  apiKey: secrets.apiKey === undefined ? undefined : Redacted.value(secrets.apiKey),
  accessToken: secrets.accessToken === undefined ? undefined : Redacted.value(secrets.accessToken)
})

/** Flips one bit of one base64 part of a `v1:iv:tag:ciphertext` string. */
const tamper = (stored: string, part: 1 | 2 | 3): string => {
  const parts = stored.split(":")
  const bytes = Buffer.from(parts[part]!, "base64")
  bytes[0] = bytes[0]! ^ 0x01
  parts[part] = bytes.toString("base64")
  return parts.join(":")
}

describe("credential encryption", () => {
  it("round-trips, in the v1 format, with a fresh IV every time", () => {
    const stored = encryptCredentials({ apiKey: API_KEY, accessToken: Redacted.make(TOKEN) }, key)
    assert.match(stored, /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/)
    assert.isFalse(stored.includes(API_KEY) || stored.includes(Buffer.from(API_KEY).toString("base64")))
    assert.notStrictEqual(encryptCredentials({ apiKey: API_KEY }, key), encryptCredentials({ apiKey: API_KEY }, key))
    const decrypted = decryptCredentials(stored, key)
    assert.isTrue(Either.isRight(decrypted))
    assert.deepStrictEqual(reveal(Either.getOrThrow(decrypted)), { apiKey: API_KEY, accessToken: TOKEN })
  })

  it("round-trips any pair of secrets", () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: "binary" })), fc.option(fc.string()), (apiKey, accessToken) => {
        const secrets = { ...(apiKey === null ? {} : { apiKey }), ...(accessToken === null ? {} : { accessToken }) }
        const decrypted = decryptCredentials(encryptCredentials(secrets, key), key)
        return Either.isRight(decrypted) &&
          JSON.stringify(reveal(decrypted.right)) === JSON.stringify({ apiKey: apiKey ?? undefined, accessToken: accessToken ?? undefined })
      }),
      { ...propertySettings(25) }
    )
  })

  it("rejects a tampered IV, tag or ciphertext", () => {
    const stored = encryptCredentials({ apiKey: API_KEY }, key)
    for (const part of [1, 2, 3] as const) {
      const result = decryptCredentials(tamper(stored, part), key)
      assert.isTrue(Either.isLeft(result), `part ${part}`)
    }
    const ciphertextTampered = decryptCredentials(tamper(stored, 3), key)
    assert.deepStrictEqual(Either.isLeft(ciphertextTampered) && ciphertextTampered.left.reason, "authentication_failed")
  })

  it("rejects the wrong key", () => {
    const result = decryptCredentials(encryptCredentials({ accessToken: TOKEN }, key), otherKey)
    assert.isTrue(Either.isLeft(result))
    assert.strictEqual(Either.isLeft(result) && result.left.reason, "authentication_failed")
  })

  it("rejects malformed and unknown-version strings", () => {
    const stored = encryptCredentials({ apiKey: API_KEY }, key)
    const cases: Array<[string, CredentialsDecryptError["reason"]]> = [
      ["", "malformed"],
      ["v1:abc", "malformed"],
      [stored.replace(/^v1:/, "v2:"), "unsupported_version"],
      [`${stored}:extra`, "malformed"],
      [stored.replace(/:[^:]+:/, ":!!!!:"), "malformed"]
    ]
    for (const [text, reason] of cases) {
      const result = decryptCredentials(text, key)
      assert.strictEqual(Either.isLeft(result) && result.left.reason, reason, text)
    }
  })

  it("refuses an empty secret", () => {
    assert.throws(() => deriveCredentialsKey(""))
  })
})

describe("ChannelCredentials", () => {
  const stored = new Map([["chan-1", encryptCredentials({ apiKey: API_KEY }, key)], ["chan-bad", encryptCredentials({ apiKey: API_KEY }, otherKey)]])
  const service = makeEncryptedChannelCredentials(key, (ref) => Effect.succeed(Option.fromNullable(stored.get(ref))))

  it.effect("resolves stored ciphertext, and says missing or undecryptable otherwise", () =>
    Effect.gen(function*() {
      const secrets = yield* service.resolve("chan-1")
      assert.strictEqual(secrets.apiKey && Redacted.value(secrets.apiKey), API_KEY)
      const missing = yield* Effect.flip(service.resolve("chan-2"))
      assert.strictEqual(missing.reason, "missing")
      const bad = yield* Effect.flip(service.resolve("chan-bad"))
      assert.strictEqual(bad.reason, "undecryptable")
    }))

  it.effect("decrypts a reference once and serves it again without a lookup; a missing one is looked up again", () =>
    Effect.gen(function*() {
      const store = new Map<string, string>([["chan-1", encryptCredentials({ apiKey: API_KEY }, key)]])
      const lookups: Array<string> = []
      const counted = makeEncryptedChannelCredentials(key, (ref) =>
        Effect.sync(() => {
          lookups.push(ref)
          return Option.fromNullable(store.get(ref))
        }))
      for (let i = 0; i < 3; i++) {
        const secrets = yield* counted.resolve("chan-1")
        assert.strictEqual(secrets.apiKey && Redacted.value(secrets.apiKey), API_KEY)
      }
      assert.strictEqual((yield* Effect.flip(counted.resolve("chan-2"))).reason, "missing")
      store.set("chan-2", encryptCredentials({ accessToken: "later" }, key))
      const later = yield* counted.resolve("chan-2")
      assert.strictEqual(later.accessToken && Redacted.value(later.accessToken), "later")
      assert.deepStrictEqual(lookups, ["chan-1", "chan-2", "chan-2"])
    }))

  it.effect("the in-memory layer serves what it was given", () =>
    Effect.gen(function*() {
      const credentials = yield* ChannelCredentials
      const secrets = yield* credentials.resolve("a")
      assert.strictEqual(secrets.accessToken && Redacted.value(secrets.accessToken), TOKEN)
      assert.strictEqual((yield* Effect.flip(credentials.resolve("b")))._tag, "CredentialsNotFound")
    }).pipe(Effect.provide(inMemoryChannelCredentials({ a: { accessToken: TOKEN } }))))

  it.effect("secrets do not show in logs, errors or inspected values", () =>
    Effect.gen(function*() {
      const secrets = yield* service.resolve("chan-1")
      const rendered = [JSON.stringify(secrets), String(secrets.apiKey), `${JSON.stringify(yield* Effect.flip(service.resolve("chan-bad")))}`]
      const decryptError = decryptCredentials(stored.get("chan-bad")!, key)
      if (Either.isLeft(decryptError)) rendered.push(decryptError.left.message, JSON.stringify(decryptError.left))
      for (const text of rendered) assert.isFalse(text.includes(API_KEY), text)
    }))
})
