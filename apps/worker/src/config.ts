import { DEVELOPMENT_SECRETS, durationConfig as duration, forwardAllowHosts, type ProviderClientConfig, providerClientConfig } from "@mm-gateway/http-adapter"
import type { Durability } from "@mm-gateway/sqlite-projection"
import { WORKER_DEFAULTS, type WorkerSettings } from "@mm-gateway/worker-runners"
import { Config, ConfigError, Either, Option, Redacted } from "effect"
import { hostname } from "node:os"

/**
 * The worker process's configuration: the runners' settings (`WorkerSettings`, whose request timeout
 * is the provider clients') and what the composition root wires them to.
 */
export interface WorkerConfig extends Omit<WorkerSettings, "requestTimeoutMs"> {
  readonly mode: "development" | "production"
  /** The main database file; the inbox lives beside it (`inboxPathFor`). */
  readonly database: string
  readonly durability: Durability
  /** Decrypts the channels' stored provider credentials (the api encrypted them with the same key). */
  readonly secretKey: Redacted.Redacted<string>
  readonly provider: ProviderClientConfig
  /** Forwarding: hosts allowed http and non-public addresses (`MMGW_FORWARD_ALLOW_HOSTS`), and one attempt's time limit. */
  readonly forward: { readonly allowHosts: ReadonlyArray<string>; readonly timeoutMs: number }
  /** Development defaults that were used (names only). */
  readonly defaultsUsed: ReadonlyArray<string>
}

const positiveInt = (name: string) =>
  Config.integer(name).pipe(Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n > 0 }))

/**
 * The worker's configuration from the `MMGW_*` variables (apps/worker/README.md#configuration lists them). In
 * production mode `MMGW_SECRET_KEY` must be set; in development a missing one gets the public
 * development default (the api's, so both read the same credentials).
 */
export const workerConfig: Config.Config<WorkerConfig> = Config.all({
  mode: Config.literal("development", "production")("MMGW_MODE").pipe(Config.withDefault("development" as const)),
  database: Config.string("MMGW_DATABASE").pipe(Config.withDefault("./data/mm-gateway.sqlite")),
  durability: Config.literal("normal", "full")("MMGW_DURABILITY").pipe(Config.withDefault("normal" as const)),
  secretKey: Config.option(Config.redacted("MMGW_SECRET_KEY")),
  provider: providerClientConfig,
  dispatchUnknownAfterMs: duration("MMGW_DISPATCH_UNKNOWN_AFTER", WORKER_DEFAULTS.dispatchUnknownAfterMs),
  concurrency: Config.option(positiveInt("MMGW_WORKER_CONCURRENCY")),
  workerId: Config.option(Config.string("MMGW_WORKER_ID")),
  leaseTtlMs: duration("MMGW_WORKER_LEASE_TTL", WORKER_DEFAULTS.leaseTtlMs),
  shutdownGraceMs: duration("MMGW_WORKER_SHUTDOWN_GRACE", WORKER_DEFAULTS.shutdownGraceMs),
  rateWindowMarginMs: duration("MMGW_WORKER_RATE_MARGIN", WORKER_DEFAULTS.rateWindowMarginMs),
  metaStatusSyncIntervalMs: duration("MMGW_META_STATUS_SYNC_INTERVAL", WORKER_DEFAULTS.metaStatusSyncIntervalMs),
  forwardRetryForMs: duration("MMGW_FORWARD_RETRY_FOR", WORKER_DEFAULTS.forwardRetryForMs),
  forwardPauseAfterMs: duration("MMGW_FORWARD_PAUSE_AFTER", WORKER_DEFAULTS.forwardPauseAfterMs),
  forwardTimeoutMs: duration("MMGW_FORWARD_TIMEOUT", 10_000),
  forwardAllowHosts: Config.option(Config.string("MMGW_FORWARD_ALLOW_HOSTS")),
  inboxKeepMs: duration("MMGW_INBOX_KEEP", WORKER_DEFAULTS.inboxKeepMs),
  forwardLogKeepMs: duration("MMGW_FORWARD_LOG_KEEP", WORKER_DEFAULTS.forwardLogKeepMs)
}).pipe(
  Config.mapOrFail((raw) => {
    const given = Option.filter(raw.secretKey, (s) => Redacted.value(s) !== "")
    if (Option.isNone(given) && raw.mode === "production") {
      return Either.left(ConfigError.MissingData(["MMGW_SECRET_KEY"], "production mode needs MMGW_SECRET_KEY (missing: MMGW_SECRET_KEY)"))
    }
    // A request beyond the transport's sockets waits for one after its rate slot was counted: such
    // requests would reach the provider late and together, above the channel's rate in its seconds.
    if (Option.isSome(raw.concurrency) && raw.concurrency.value > raw.provider.maxSocketsPerOrigin) {
      return Either.left(ConfigError.InvalidData(
        ["MMGW_WORKER_CONCURRENCY"],
        `MMGW_WORKER_CONCURRENCY (${raw.concurrency.value}) is more than MMGW_PROVIDER_MAX_SOCKETS (${raw.provider.maxSocketsPerOrigin}): requests beyond the sockets would queue for one after their rate slot and reach the provider in bursts above a channel's rate; raise MMGW_PROVIDER_MAX_SOCKETS with it`
      ))
    }
    return Either.right({
      ...WORKER_DEFAULTS,
      mode: raw.mode,
      database: raw.database,
      durability: raw.durability,
      secretKey: Option.getOrElse(given, () => Redacted.make(DEVELOPMENT_SECRETS.MMGW_SECRET_KEY)),
      provider: raw.provider,
      dispatchUnknownAfterMs: raw.dispatchUnknownAfterMs,
      concurrency: Option.getOrElse(raw.concurrency, () => raw.provider.maxSocketsPerOrigin),
      // The host's name: each start adds its pid and a random part to it in the lease (`newInstanceId`).
      workerId: Option.getOrElse(raw.workerId, hostname),
      leaseTtlMs: raw.leaseTtlMs,
      shutdownGraceMs: raw.shutdownGraceMs,
      rateWindowMarginMs: raw.rateWindowMarginMs,
      metaStatusSyncIntervalMs: raw.metaStatusSyncIntervalMs,
      forwardRetryForMs: raw.forwardRetryForMs,
      forwardPauseAfterMs: raw.forwardPauseAfterMs,
      inboxKeepMs: raw.inboxKeepMs,
      forwardLogKeepMs: raw.forwardLogKeepMs,
      forward: { allowHosts: forwardAllowHosts(raw.mode, raw.forwardAllowHosts), timeoutMs: raw.forwardTimeoutMs },
      defaultsUsed: Option.isNone(given) ? ["MMGW_SECRET_KEY"] : []
    })
  })
)
