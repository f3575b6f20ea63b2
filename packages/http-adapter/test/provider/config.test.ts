import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Redacted } from "effect"
import { credentialsKeyConfig, decryptCredentials, defaultProviderClientConfig, encryptCredentials, makeProviderClientConfig, providerClientConfig } from "../../src/provider/index.js"

const load = (env: Record<string, string>) =>
  Effect.withConfigProvider(Effect.either(providerClientConfig), ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("provider client configuration", () => {
  it.effect("defaults", () =>
    Effect.gen(function*() {
      const config = yield* load({})
      assert.deepStrictEqual(Either.getOrThrow(config), defaultProviderClientConfig)
      assert.strictEqual(defaultProviderClientConfig.graphBaseUrl, "https://graph.facebook.com")
      assert.strictEqual(defaultProviderClientConfig.graphApiVersion, "v25.0")
      assert.strictEqual(defaultProviderClientConfig.d360BaseUrl, "https://waba-v2.360dialog.io")
      assert.strictEqual(defaultProviderClientConfig.sandboxBaseUrl, "http://127.0.0.1:8090")
    }))

  it.effect("reads the environment; the sandbox URL comes from MMGW_HOST and MMGW_SANDBOX_PORT unless given", () =>
    Effect.gen(function*() {
      const config = Either.getOrThrow(yield* load({
        MMGW_GRAPH_BASE_URL: "http://127.0.0.1:9000/",
        MMGW_GRAPH_API_VERSION: "v23.0",
        MMGW_360DIALOG_BASE_URL: "https://waba-sandbox.360dialog.io",
        MMGW_HOST: "0.0.0.0",
        MMGW_SANDBOX_PORT: "18090",
        MMGW_PROVIDER_TIMEOUT_MS: "2000",
        MMGW_PROVIDER_CONNECT_TIMEOUT_MS: "5000"
      }))
      assert.strictEqual(config.graphBaseUrl, "http://127.0.0.1:9000")
      assert.strictEqual(config.graphApiVersion, "v23.0")
      assert.strictEqual(config.d360BaseUrl, "https://waba-sandbox.360dialog.io")
      assert.strictEqual(config.sandboxBaseUrl, "http://0.0.0.0:18090")
      assert.strictEqual(config.requestTimeoutMs, 2000)
      assert.strictEqual(config.connectTimeoutMs, 2000, "the connect timeout never exceeds the request timeout")
      const explicit = Either.getOrThrow(yield* load({ MMGW_SANDBOX_URL: "http://sandbox:8090", MMGW_SANDBOX_PORT: "1" }))
      assert.strictEqual(explicit.sandboxBaseUrl, "http://sandbox:8090")
    }))

  it.effect("rejects bad values", () =>
    Effect.gen(function*() {
      for (const env of [{ MMGW_GRAPH_BASE_URL: "graph.facebook.com" }, { MMGW_GRAPH_API_VERSION: "24" }, { MMGW_SANDBOX_URL: "nope" }, { MMGW_PROVIDER_TIMEOUT_MS: "0" }]) {
        assert.isTrue(Either.isLeft(yield* load(env)), JSON.stringify(env))
      }
    }))

  it("the plain constructor fills defaults and trims trailing slashes", () => {
    const config = makeProviderClientConfig({ sandboxBaseUrl: "http://127.0.0.1:1234//" })
    assert.strictEqual(config.sandboxBaseUrl, "http://127.0.0.1:1234")
    assert.strictEqual(config.graphApiVersion, "v25.0")
  })

  it.effect("MMGW_SECRET_KEY yields the credentials key; a missing one is an error", () =>
    Effect.gen(function*() {
      const provider = ConfigProvider.fromMap(new Map([["MMGW_SECRET_KEY", "s3cret"]]))
      const key = yield* Effect.withConfigProvider(credentialsKeyConfig, provider)
      const again = yield* Effect.withConfigProvider(credentialsKeyConfig, provider)
      assert.isTrue(Either.isRight(decryptCredentials(encryptCredentials({ apiKey: "k" }, key), again)), "the same secret derives the same key")
      assert.isFalse(String(key.bytes).includes("s3cret"))
      assert.notStrictEqual(Redacted.value(key.bytes).length, 0)
      const missing = yield* Effect.withConfigProvider(Effect.either(credentialsKeyConfig), ConfigProvider.fromMap(new Map()))
      assert.isTrue(Either.isLeft(missing))
    }))
})
