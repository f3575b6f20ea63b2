import { ConfigProvider, Effect, Either, Redacted } from "effect"
import { assert, describe, it } from "vitest"
import { parseDuration } from "@mm-gateway/http-adapter"
import { workerConfig } from "../src/config.js"

const load = (env: Record<string, string>) =>
  Effect.runSync(Effect.either(Effect.withConfigProvider(workerConfig, ConfigProvider.fromMap(new Map(Object.entries(env))))))

describe("configuration from MMGW_*", () => {
  it("parses durations as milliseconds or with a unit, and refuses anything else", () => {
    assert.deepStrictEqual(
      ["600000", "500ms", "30s", "10m", "1h", "1.5s", " 2m ", "14d"].map(parseDuration),
      [600_000, 500, 30_000, 600_000, 3_600_000, 1_500, 120_000, 14 * 86_400_000]
    )
    for (const bad of ["", "0", "0s", "-5s", "10 minutes", "ten", "5w", "1e3"]) assert.isNull(parseDuration(bad), bad)
  })

  it("development defaults: the database path, a 10 min dispatch-unknown window, and the public secret key (reported)", () => {
    const config = load({})
    assert.isTrue(Either.isRight(config))
    if (Either.isLeft(config)) return
    const c = config.right
    assert.deepStrictEqual(
      [c.mode, c.database, c.durability, c.dispatchUnknownAfterMs, c.concurrency, c.defaultsUsed],
      ["development", "./data/mm-gateway.sqlite", "normal", 10 * 60_000, c.provider.maxSocketsPerOrigin, ["MMGW_SECRET_KEY"]]
    )
    assert.strictEqual(Redacted.value(c.secretKey), "dev-secret-key-change-me")
    assert.strictEqual(c.provider.sandboxBaseUrl, "http://127.0.0.1:8090")
  })

  it("reads every variable it documents", () => {
    const config = load({
      MMGW_DATABASE: "/tmp/x.sqlite",
      MMGW_DURABILITY: "full",
      MMGW_SECRET_KEY: "s3cret",
      MMGW_DISPATCH_UNKNOWN_AFTER: "90s",
      MMGW_WORKER_CONCURRENCY: "16",
      MMGW_WORKER_ID: "worker-a",
      MMGW_WORKER_LEASE_TTL: "30s",
      MMGW_WORKER_SHUTDOWN_GRACE: "2s",
      MMGW_WORKER_RATE_MARGIN: "250ms",
      MMGW_META_STATUS_SYNC_INTERVAL: "10m",
      MMGW_INBOX_KEEP: "30d",
      MMGW_FORWARD_LOG_KEEP: "3d",
      MMGW_SANDBOX_PORT: "9999"
    })
    assert.isTrue(Either.isRight(config))
    if (Either.isLeft(config)) return
    const c = config.right
    assert.deepStrictEqual(
      [c.database, c.durability, Redacted.value(c.secretKey), c.dispatchUnknownAfterMs, c.concurrency, c.workerId, c.leaseTtlMs, c.shutdownGraceMs, c.rateWindowMarginMs, c.defaultsUsed],
      ["/tmp/x.sqlite", "full", "s3cret", 90_000, 16, "worker-a", 30_000, 2_000, 250, []]
    )
    assert.strictEqual(c.provider.sandboxBaseUrl, "http://127.0.0.1:9999")
    assert.strictEqual(c.metaStatusSyncIntervalMs, 600_000)
    assert.strictEqual(c.inboxKeepMs, 30 * 86_400_000)
    assert.strictEqual(c.forwardLogKeepMs, 3 * 86_400_000)
  })

  it("production mode refuses to start without MMGW_SECRET_KEY and names it; a bad window is refused with its name", () => {
    const production = load({ MMGW_MODE: "production" })
    assert.isTrue(Either.isLeft(production) && String(production.left).includes("MMGW_SECRET_KEY"))
    assert.isTrue(Either.isRight(load({ MMGW_MODE: "production", MMGW_SECRET_KEY: "s3cret" })))
    const window = load({ MMGW_DISPATCH_UNKNOWN_AFTER: "soon" })
    assert.isTrue(Either.isLeft(window) && String(window.left).includes("MMGW_DISPATCH_UNKNOWN_AFTER"))
    const concurrency = load({ MMGW_WORKER_CONCURRENCY: "0" })
    assert.isTrue(Either.isLeft(concurrency) && String(concurrency.left).includes("MMGW_WORKER_CONCURRENCY"))
    // More requests in flight than sockets would send them in bursts above a channel's rate.
    const beyondSockets = load({ MMGW_WORKER_CONCURRENCY: "512" })
    assert.isTrue(Either.isLeft(beyondSockets) && String(beyondSockets.left).includes("MMGW_PROVIDER_MAX_SOCKETS (64)"))
    const withSockets = load({ MMGW_WORKER_CONCURRENCY: "512", MMGW_PROVIDER_MAX_SOCKETS: "512" })
    assert.isTrue(Either.isRight(withSockets) && withSockets.right.concurrency === 512)
  })
})
