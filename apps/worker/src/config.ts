import { DEVELOPMENT_SECRETS, makeProviderClientConfig, type ProviderClientConfig, providerClientConfig } from "@mm-gateway/http-adapter"
import type { Durability } from "@mm-gateway/sqlite-projection"
import { Config, ConfigError, Either, Option, Redacted } from "effect"
import { hostname } from "node:os"

export interface WorkerConfig {
  readonly mode: "development" | "production"
  /** The main database file; the inbox lives beside it (`inboxPathFor`). */
  readonly database: string
  readonly durability: Durability
  /** Decrypts the channels' stored provider credentials (the api encrypted them with the same key). */
  readonly secretKey: Redacted.Redacted<string>
  readonly provider: ProviderClientConfig
  /** How long an attempt with an unknown outcome waits for a webhook naming it before it becomes `dispatch_unknown`. */
  readonly dispatchUnknownAfterMs: number
  /** Provider requests in flight at once, across all channels. */
  readonly concurrency: number
  /**
   * A readable name for this worker in logs and lease records. The lease itself is held under an
   * instance identity made from it at each start (`newInstanceId`), so two processes never share it.
   */
  readonly workerId: string
  /** The lease lapses this long after its last renewal (renewed every third of it). */
  readonly leaseTtlMs: number
  /** How long a stop waits for requests in flight before it leaves them to the next start. */
  readonly shutdownGraceMs: number
  /** Idle pause of the dispatcher's and the inbox's polling loops. */
  readonly pollIntervalMs: number
  /** How often the timers run (dispatch-unknown window, TTL expiry, stale attempts, parked statuses, projections). */
  readonly timerIntervalMs: number
  /** Inbox rows applied per transaction. */
  readonly inboxBatchSize: number
  /**
   * Added to the 1 s window of the per-channel rate limit, so that network jitter between us and the
   * provider cannot squeeze one more request into any second the provider counts.
   */
  readonly rateWindowMarginMs: number
  /** How often the worker logs what it did. */
  readonly reportIntervalMs: number
  /** Development defaults that were used (names only). */
  readonly defaultsUsed: ReadonlyArray<string>
}

export const DEFAULT_DISPATCH_UNKNOWN_AFTER_MS = 10 * 60_000

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }

/**
 * A duration as whole milliseconds (`600000`) or a number with a unit: `500ms`, `30s`, `10m`, `1h`
 * (decimals allowed: `1.5s`). `null` for anything else, zero and negative values included.
 */
export const parseDuration = (text: string): number | null => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  if (match === null) return null
  const value = Math.round(Number(match[1]) * UNITS[match[2] ?? "ms"]!)
  return Number.isSafeInteger(value) && value > 0 ? value : null
}

const duration = (name: string, fallback: number) =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => {
      const ms = parseDuration(text)
      return ms === null
        ? Either.left(ConfigError.InvalidData([], `${name} must be a positive duration: milliseconds (600000) or a number with ms, s, m or h (10m); got ${JSON.stringify(text)}`))
        : Either.right(ms)
    }),
    Config.withDefault(fallback)
  )

const positiveInt = (name: string) =>
  Config.integer(name).pipe(Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n > 0 }))

/** The host's name: each start adds its pid and a random part to it in the lease (`newInstanceId`). */
export const defaultWorkerId = (): string => hostname()

const defaults = {
  mode: "development" as const,
  durability: "normal" as const,
  dispatchUnknownAfterMs: DEFAULT_DISPATCH_UNKNOWN_AFTER_MS,
  leaseTtlMs: 15_000,
  shutdownGraceMs: 5_000,
  pollIntervalMs: 50,
  timerIntervalMs: 1_000,
  inboxBatchSize: 50,
  rateWindowMarginMs: 30,
  reportIntervalMs: 10_000
}

/**
 * The worker's configuration from the `MMGW_*` variables (apps/worker/README.md#configuration lists them). In
 * production mode `MMGW_SECRET_KEY` must be set; in development a missing one gets the public
 * development default (the api's, so both read the same credentials).
 */
export const workerConfig: Config.Config<WorkerConfig> = Config.all({
  mode: Config.literal("development", "production")("MMGW_MODE").pipe(Config.withDefault(defaults.mode)),
  database: Config.string("MMGW_DATABASE").pipe(Config.withDefault("./data/mm-gateway.sqlite")),
  durability: Config.literal("normal", "full")("MMGW_DURABILITY").pipe(Config.withDefault(defaults.durability)),
  secretKey: Config.option(Config.redacted("MMGW_SECRET_KEY")),
  provider: providerClientConfig,
  dispatchUnknownAfterMs: duration("MMGW_DISPATCH_UNKNOWN_AFTER", defaults.dispatchUnknownAfterMs),
  concurrency: Config.option(positiveInt("MMGW_WORKER_CONCURRENCY")),
  workerId: Config.option(Config.string("MMGW_WORKER_ID")),
  leaseTtlMs: duration("MMGW_WORKER_LEASE_TTL", defaults.leaseTtlMs),
  shutdownGraceMs: duration("MMGW_WORKER_SHUTDOWN_GRACE", defaults.shutdownGraceMs)
}).pipe(
  Config.mapOrFail((raw) => {
    const given = Option.filter(raw.secretKey, (s) => Redacted.value(s) !== "")
    if (Option.isNone(given) && raw.mode === "production") {
      return Either.left(ConfigError.MissingData(["MMGW_SECRET_KEY"], "production mode needs MMGW_SECRET_KEY (missing: MMGW_SECRET_KEY)"))
    }
    return Either.right(makeWorkerConfig({
      mode: raw.mode,
      database: raw.database,
      durability: raw.durability,
      secretKey: Option.getOrElse(given, () => Redacted.make(DEVELOPMENT_SECRETS.MMGW_SECRET_KEY)),
      provider: raw.provider,
      dispatchUnknownAfterMs: raw.dispatchUnknownAfterMs,
      // A request beyond the transport's sockets would wait for one and could time out unsent.
      concurrency: Option.getOrElse(raw.concurrency, () => raw.provider.maxSocketsPerOrigin),
      workerId: Option.getOrElse(raw.workerId, defaultWorkerId),
      leaseTtlMs: raw.leaseTtlMs,
      shutdownGraceMs: raw.shutdownGraceMs,
      defaultsUsed: Option.isNone(given) ? ["MMGW_SECRET_KEY"] : []
    }))
  })
)

/** The plain constructor (tests, benchmarks, in-process use): unset fields get the defaults. */
export const makeWorkerConfig = (
  overrides: Partial<Omit<WorkerConfig, "provider">> & { readonly database: string; readonly provider?: Partial<ProviderClientConfig> }
): WorkerConfig => {
  const provider = makeProviderClientConfig(overrides.provider ?? {})
  return {
    ...defaults,
    secretKey: Redacted.make(DEVELOPMENT_SECRETS.MMGW_SECRET_KEY),
    concurrency: provider.maxSocketsPerOrigin,
    workerId: defaultWorkerId(),
    defaultsUsed: [],
    ...overrides,
    provider
  }
}
