import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { DEV_APP_SECRET, defaultConfig, parseSandboxEnv } from "../src/index.js"

const ok = (env: Record<string, string>) => {
  const result = parseSandboxEnv(env)
  if (Either.isLeft(result)) throw new Error(`unexpected errors: ${result.left.join("; ")}`)
  return result.right
}

const errors = (env: Record<string, string>) => {
  const result = parseSandboxEnv(env)
  if (Either.isRight(result)) throw new Error("expected the configuration to be refused")
  return result.left
}

describe("parseSandboxEnv", () => {
  it("uses the documented defaults in development", () => {
    const { config, notes } = ok({})
    assert.strictEqual(config.port, 8090)
    assert.strictEqual(config.host, "127.0.0.1")
    assert.strictEqual(config.webhookUrl, "http://127.0.0.1:8080/webhooks/meta")
    assert.strictEqual(config.appSecret, DEV_APP_SECRET)
    assert.strictEqual(config.rateLimitPerSecond, 80)
    assert.strictEqual(config.failureRate, 0)
    assert.strictEqual(config.clickRate, 0)
    assert.isUndefined(config.seed)
    assert.deepStrictEqual(config.notOnboarded, [])
    assert.isTrue(config.webhookLatencyMs.max * 3 + config.webhookBatchIntervalMs < 1000)
    assert.isTrue(notes.some((note) => note.includes(DEV_APP_SECRET)))
  })

  it("derives the webhook URL from MMGW_API_PORT unless MMGW_SANDBOX_WEBHOOK_URL is set", () => {
    assert.strictEqual(ok({ MMGW_API_PORT: "9000" }).config.webhookUrl, "http://127.0.0.1:9000/webhooks/meta")
    assert.strictEqual(
      ok({ MMGW_API_PORT: "9000", MMGW_SANDBOX_WEBHOOK_URL: "http://api.local/hook" }).config.webhookUrl,
      "http://api.local/hook"
    )
  })

  it("reads every knob", () => {
    const { config, notes } = ok({
      MMGW_SANDBOX_PORT: "0",
      MMGW_HOST: "0.0.0.0",
      MMGW_META_APP_SECRET: "s3cret",
      MMGW_SANDBOX_NOT_ONBOARDED: " 111, 222 ,,",
      MMGW_SANDBOX_SEED: "42",
      MMGW_SANDBOX_RESPONSE_LATENCY_MS: "3",
      MMGW_SANDBOX_WEBHOOK_LATENCY_MS: "10-20",
      MMGW_SANDBOX_FAILURE_RATE: "0.25",
      MMGW_SANDBOX_CLICK_RATE: "1",
      MMGW_SANDBOX_WEBHOOK_BATCH_SIZE: "1000",
      MMGW_SANDBOX_WEBHOOK_BATCH_INTERVAL_MS: "10",
      MMGW_SANDBOX_WEBHOOK_MAX_ATTEMPTS: "2",
      MMGW_SANDBOX_WEBHOOK_RETRY_BASE_MS: "100",
      MMGW_SANDBOX_WEBHOOK_CONCURRENCY: "8",
      MMGW_SANDBOX_RATE_LIMIT: "200",
      MMGW_SANDBOX_DEFAULT_WABA_ID: "555",
      MMGW_SANDBOX_TEMPLATE_PAGE_SIZE: "2"
    })
    assert.deepStrictEqual(config, {
      ...defaultConfig,
      port: 0,
      host: "0.0.0.0",
      appSecret: "s3cret",
      notOnboarded: ["111", "222"],
      seed: 42,
      responseLatencyMs: { min: 3, max: 3 },
      webhookLatencyMs: { min: 10, max: 20 },
      failureRate: 0.25,
      clickRate: 1,
      webhookBatchSize: 1000,
      webhookBatchIntervalMs: 10,
      webhookMaxAttempts: 2,
      webhookRetryBaseMs: 100,
      webhookConcurrency: 8,
      rateLimitPerSecond: 200,
      defaultWabaId: "555",
      templatePageSize: 2
    })
    assert.deepStrictEqual(notes, [])
  })

  it("lifts the rate limit with 0 or off", () => {
    assert.strictEqual(ok({ MMGW_SANDBOX_RATE_LIMIT: "0" }).config.rateLimitPerSecond, 0)
    assert.strictEqual(ok({ MMGW_SANDBOX_RATE_LIMIT: "OFF" }).config.rateLimitPerSecond, 0)
  })

  it("refuses to start in production without an app secret, naming the variable but no secret", () => {
    const problems = errors({ MMGW_MODE: "production" })
    assert.strictEqual(problems.length, 1)
    assert.include(problems[0], "MMGW_META_APP_SECRET")
    assert.strictEqual(ok({ MMGW_MODE: "production", MMGW_META_APP_SECRET: "x" }).config.appSecret, "x")
  })

  it("reports every bad value at once", () => {
    const problems = errors({
      MMGW_SANDBOX_PORT: "eighty",
      MMGW_SANDBOX_FAILURE_RATE: "1.5",
      MMGW_SANDBOX_WEBHOOK_LATENCY_MS: "20-10",
      MMGW_SANDBOX_NOT_ONBOARDED: "123,abc",
      MMGW_SANDBOX_RATE_LIMIT: "-3",
      MMGW_MODE: "staging"
    })
    for (const name of [
      "MMGW_SANDBOX_PORT",
      "MMGW_SANDBOX_FAILURE_RATE",
      "MMGW_SANDBOX_WEBHOOK_LATENCY_MS",
      "MMGW_SANDBOX_NOT_ONBOARDED",
      "MMGW_SANDBOX_RATE_LIMIT",
      "MMGW_MODE"
    ]) {
      assert.isTrue(problems.some((problem) => problem.includes(name)), `${name} is reported`)
    }
  })
})
