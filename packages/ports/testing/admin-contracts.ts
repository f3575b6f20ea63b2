import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, type Layer } from "effect"
import { createHash } from "node:crypto"
import { type ApiKeyRecord, ApiKeyStore } from "../src/api-keys.js"
import { CredentialStore } from "../src/credentials.js"
import { StoreHealth } from "../src/health.js"

const key = (id: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id,
  name: `key ${id}`,
  businessManagerIds: ["271828182845904"],
  channelIds: [],
  secretHash: createHash("sha256").update(`secret-of-${id}`).digest("hex"),
  createdAt: 1_000,
  revokedAt: null,
  ...overrides
})

/**
 * The `ApiKeyStore` contract: keys kept by id with the hash of their secret (never the secret: the
 * api hashes it before the store sees it), listed by id, revoked once. `makeStore` must give a fresh,
 * empty store each time it is built.
 */
export const apiKeyStoreContract = (name: string, makeStore: () => Layer.Layer<ApiKeyStore>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ApiKeyStore>) => Effect.provide(effect, makeStore())

  describe(`ApiKeyStore contract: ${name}`, () => {
    it.effect("a created key is looked up by id exactly as it was given (its Business Managers and channels in their order); an unknown id is not found", () =>
      run(Effect.gen(function*() {
        const store = yield* ApiKeyStore
        const record = key("0a1b2c3d4e5f6071", { businessManagerIds: ["2", "1", "3"] })
        const channelKey = key("0a1b2c3d4e5f6073", { businessManagerIds: [], channelIds: ["106540352242922", "106540352242921"] })
        yield* store.insert(record)
        yield* store.insert(channelKey)
        yield* store.insert(key("ffff000011112222", { businessManagerIds: [] }))
        assert.deepStrictEqual(yield* store.find("0a1b2c3d4e5f6071"), record)
        assert.deepStrictEqual(yield* store.find("0a1b2c3d4e5f6073"), channelKey)
        assert.deepStrictEqual((yield* store.find("ffff000011112222"))?.businessManagerIds, [])
        assert.deepStrictEqual((yield* store.find("ffff000011112222"))?.channelIds, [])
        assert.isNull(yield* store.find("0a1b2c3d4e5f6072"))
      })))

    it.effect("keeps the secret's hash as given and nothing it was not given: the secret itself never reaches it", () =>
      run(Effect.gen(function*() {
        const store = yield* ApiKeyStore
        const secret = "Zm9yIHRoZSBjb250cmFjdCBvbmx5"
        const record = key("00000000000000aa", { secretHash: createHash("sha256").update(secret).digest("hex") })
        yield* store.insert(record)
        const found = yield* store.find(record.id)
        assert.strictEqual(found?.secretHash, record.secretHash)
        assert.deepStrictEqual(Object.keys(found!).sort(), Object.keys(record).sort())
        const listed = yield* store.list(10, null)
        assert.notInclude(JSON.stringify([found, listed]), secret)
      })))

    it.effect("lists keys by id, after an id (exclusive), at most `limit` at a time", () =>
      run(Effect.gen(function*() {
        const store = yield* ApiKeyStore
        for (const id of ["c3", "a1", "e5", "b2", "d4"]) yield* store.insert(key(id))
        assert.deepStrictEqual((yield* store.list(10, null)).map((k) => k.id), ["a1", "b2", "c3", "d4", "e5"])
        assert.deepStrictEqual((yield* store.list(2, null)).map((k) => k.id), ["a1", "b2"])
        assert.deepStrictEqual((yield* store.list(2, "b2")).map((k) => k.id), ["c3", "d4"])
        assert.deepStrictEqual((yield* store.list(2, "d4")).map((k) => k.id), ["e5"])
        assert.deepStrictEqual(yield* store.list(2, "e5"), [])
        assert.deepStrictEqual((yield* store.list(10, "b")).map((k) => k.id), ["b2", "c3", "d4", "e5"])
      })))

    it.effect("revoking a key records when, once; revoking again still finds it; an unknown key is not revoked", () =>
      run(Effect.gen(function*() {
        const store = yield* ApiKeyStore
        yield* store.insert(key("a1"))
        yield* store.insert(key("b2"))
        assert.isTrue(yield* store.revoke("a1", 5_000))
        assert.strictEqual((yield* store.find("a1"))?.revokedAt, 5_000)
        assert.isTrue(yield* store.revoke("a1", 6_000))
        assert.strictEqual((yield* store.find("a1"))?.revokedAt, 5_000)
        assert.isFalse(yield* store.revoke("zz", 6_000))
        assert.isNull(yield* store.find("zz"))
        // A revoked key is still listed (the API shows it with its revocation time); the other is untouched.
        assert.deepStrictEqual((yield* store.list(10, null)).map((k) => [k.id, k.revokedAt]), [["a1", 5_000], ["b2", null]])
      })))
  })
}

/**
 * The `CredentialStore` contract: ciphertext kept under a reference, the first one kept, absent
 * references answered as such. `makeStore` must give a fresh, empty store each time it is built.
 */
export const credentialStoreContract = (name: string, makeStore: () => Layer.Layer<CredentialStore>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, CredentialStore>) => Effect.provide(effect, makeStore())

  describe(`CredentialStore contract: ${name}`, () => {
    it.effect("ciphertext put under a reference is read back; an absent reference has none", () =>
      run(Effect.gen(function*() {
        const store = yield* CredentialStore
        assert.isNull(yield* store.ciphertextOf("ref-1"))
        yield* store.put("ref-1", "v1.iv.ct.tag", 1_000)
        yield* store.put("ref-2", "v1.iv2.ct2.tag2", 1_000)
        assert.deepStrictEqual([yield* store.ciphertextOf("ref-1"), yield* store.ciphertextOf("ref-2")], ["v1.iv.ct.tag", "v1.iv2.ct2.tag2"])
        assert.isNull(yield* store.ciphertextOf("ref-3"))
      })))

    it.effect("a reference already kept is left as it is", () =>
      run(Effect.gen(function*() {
        const store = yield* CredentialStore
        yield* store.put("ref-1", "first", 1_000)
        yield* store.put("ref-1", "second", 2_000)
        assert.strictEqual(yield* store.ciphertextOf("ref-1"), "first")
      })))
  })
}

/** The `StoreHealth` contract: a store that was built is ready to serve. */
export const storeHealthContract = (name: string, makeStore: () => Layer.Layer<StoreHealth>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, StoreHealth>) => Effect.provide(effect, makeStore())

  describe(`StoreHealth contract: ${name}`, () => {
    it.effect("a store that was built is ready, and says so each time it is asked", () =>
      run(Effect.gen(function*() {
        const health = yield* StoreHealth
        const first = yield* Effect.either(health.ready())
        assert.isTrue(Either.isRight(first))
        if (Either.isRight(first)) {
          assert.isTrue(Number.isInteger(first.right.migrations) && first.right.migrations >= 0)
          assert.deepStrictEqual(yield* health.ready(), first.right)
        }
      })))
  })
}
