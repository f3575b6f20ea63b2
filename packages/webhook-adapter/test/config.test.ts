import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either } from "effect"
import { load360dialogVerifier } from "../src/index.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const BODY = "{\"object\":\"whatsapp_business_account\"}"
// HMAC-SHA256(BODY, "platform-secret"), computed with Python's hmac module.
const SIGNATURE = "261bf19fd92b805ba8c854ae1dff4d63e9ef658908c2cfd9c30c9b720631c4ec"

describe("360dialog verification from configuration", () => {
  it.effect("reads the header name and secret, defaulting the header name", () =>
    Effect.gen(function*() {
      const byDefault = yield* load360dialogVerifier.pipe(withEnv({ MMGW_360DIALOG_WEBHOOK_SECRET: "s3cret" }))
      assert.isTrue(Either.isRight(byDefault(BODY, { "x-mmgw-webhook-secret": "s3cret" })))
      const named = yield* load360dialogVerifier.pipe(
        withEnv({ MMGW_360DIALOG_WEBHOOK_HEADER: "X-Hook-Key", MMGW_360DIALOG_WEBHOOK_SECRET: "s3cret" })
      )
      assert.isTrue(Either.isRight(named(BODY, { "x-hook-key": "s3cret" })))
      assert.strictEqual(Either.flip(named(BODY, { "x-mmgw-webhook-secret": "s3cret" })).pipe(Either.getOrThrow)._tag, "SignatureMissing")
    }))

  it.effect("reads the platform secret for x-360dialog-signature", () =>
    Effect.gen(function*() {
      const verify = yield* load360dialogVerifier.pipe(withEnv({ MMGW_360DIALOG_PLATFORM_SECRET: "platform-secret" }))
      assert.isTrue(Either.isRight(verify(BODY, { "x-360dialog-signature": SIGNATURE })))
    }))

  it.effect("fails with WebhookConfigInvalid when neither secret is set", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load360dialogVerifier.pipe(withEnv({})))
      assert.strictEqual(error._tag, "WebhookConfigInvalid")
    }))
})
