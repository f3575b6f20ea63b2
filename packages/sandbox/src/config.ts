import { Either } from "effect"

/** Inclusive range of milliseconds; a fixed delay has `min === max`. */
export interface LatencyRange {
  readonly min: number
  readonly max: number
}

export interface SandboxConfig {
  readonly host: string
  /** 0 picks a free port (tests). */
  readonly port: number
  /** Where status, click and account_update webhooks are POSTed. */
  readonly webhookUrl: string
  /** Signs every webhook POST (`X-Hub-Signature-256`), like Meta's app secret. */
  readonly appSecret: string
  /** Phone number ids that have not accepted the MM API terms; every other number counts as onboarded. */
  readonly notOnboarded: ReadonlyArray<string>
  /** Seeds every random choice; when absent the sandbox picks one and reports it, so the run can be repeated. */
  readonly seed?: number
  /** Delay before the synchronous answer to a send request. */
  readonly responseLatencyMs: LatencyRange
  /** Delay between a message's acceptance and its first status, and between consecutive statuses. */
  readonly webhookLatencyMs: LatencyRange
  /** Probability that an unscripted accepted message fails after `sent` (131026). */
  readonly failureRate: number
  /** Probability that an unscripted read message is followed by a link click. */
  readonly clickRate: number
  /** At most this many statuses / user actions per webhook POST. */
  readonly webhookBatchSize: number
  /** Due webhook items are collected and flushed on this tick. */
  readonly webhookBatchIntervalMs: number
  /** Attempts per webhook POST (the first one included) before it counts as failed. */
  readonly webhookMaxAttempts: number
  /** First retry delay; doubles on every further attempt. */
  readonly webhookRetryBaseMs: number
  /** Webhook POSTs in flight at once. */
  readonly webhookConcurrency: number
  /** Send requests per second per phone number id; 0 lifts the limit. */
  readonly rateLimitPerSecond: number
  /** `entry[].id` for numbers whose WABA was never registered with the sandbox. */
  readonly defaultWabaId: string
  /** The largest page of `GET /{WABA_ID}/message_templates`; a smaller `limit` asks for less (template-list.ts). */
  readonly templatePageSize: number
}

export const DEV_APP_SECRET = "dev-app-secret"
export const DEFAULT_WABA_ID = "100000000000000"

export const defaultConfig: SandboxConfig = {
  host: "127.0.0.1",
  port: 8090,
  webhookUrl: "http://127.0.0.1:8080/webhooks/meta",
  appSecret: DEV_APP_SECRET,
  notOnboarded: [],
  responseLatencyMs: { min: 0, max: 0 },
  webhookLatencyMs: { min: 20, max: 200 },
  failureRate: 0,
  clickRate: 0,
  webhookBatchSize: 100,
  webhookBatchIntervalMs: 50,
  webhookMaxAttempts: 5,
  webhookRetryBaseMs: 250,
  webhookConcurrency: 4,
  rateLimitPerSecond: 80,
  defaultWabaId: DEFAULT_WABA_ID,
  templatePageSize: 100
}

export type Env = Readonly<Record<string, string | undefined>>

/** Notes for the operator, e.g. that a development default was used; never contains secret values. */
export interface ParsedConfig {
  readonly config: SandboxConfig
  readonly notes: ReadonlyArray<string>
}

const present = (env: Env, name: string): string | undefined => {
  const raw = env[name]
  if (raw === undefined) return undefined
  const trimmed = raw.trim()
  return trimmed === "" ? undefined : trimmed
}

/**
 * Reads the sandbox configuration from `MMGW_*` variables. Pure: the caller passes `process.env`.
 * Every problem is reported, not just the first, so one start attempt shows them all.
 */
export const parseSandboxEnv = (env: Env): Either.Either<ParsedConfig, ReadonlyArray<string>> => {
  const errors: Array<string> = []
  const notes: Array<string> = []

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = present(env, name)
    if (raw === undefined) return fallback
    if (!/^\d+$/.test(raw)) {
      errors.push(`${name} must be an integer between ${min} and ${max}, got "${raw}"`)
      return fallback
    }
    const value = Number(raw)
    if (value < min || value > max) {
      errors.push(`${name} must be an integer between ${min} and ${max}, got "${raw}"`)
      return fallback
    }
    return value
  }

  const rate = (name: string, fallback: number): number => {
    const raw = present(env, name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!/^\d*\.?\d+$/.test(raw) || !(value >= 0 && value <= 1)) {
      errors.push(`${name} must be a probability between 0 and 1, got "${raw}"`)
      return fallback
    }
    return value
  }

  const latency = (name: string, fallback: LatencyRange): LatencyRange => {
    const raw = present(env, name)
    if (raw === undefined) return fallback
    const match = /^(\d+)(?:-(\d+))?$/.exec(raw)
    if (match === null) {
      errors.push(`${name} must be "<ms>" or "<min>-<max>" in milliseconds, got "${raw}"`)
      return fallback
    }
    const min = Number(match[1])
    const max = match[2] === undefined ? min : Number(match[2])
    if (max < min) {
      errors.push(`${name} has its maximum below its minimum: "${raw}"`)
      return fallback
    }
    return { min, max }
  }

  const production = present(env, "MMGW_MODE") === "production"
  const mode = present(env, "MMGW_MODE")
  if (mode !== undefined && mode !== "production" && mode !== "development") {
    errors.push(`MMGW_MODE must be "development" or "production", got "${mode}"`)
  }

  let appSecret = present(env, "MMGW_META_APP_SECRET")
  if (appSecret === undefined) {
    if (production) {
      errors.push("MMGW_META_APP_SECRET is required in production mode (it signs the sandbox's webhooks)")
    } else {
      notes.push(`MMGW_META_APP_SECRET not set: signing webhooks with the development default "${DEV_APP_SECRET}"`)
    }
    appSecret = DEV_APP_SECRET
  }

  const apiPort = integer("MMGW_API_PORT", 8080, 1, 65535)
  const host = present(env, "MMGW_HOST") ?? defaultConfig.host
  const webhookUrl = present(env, "MMGW_SANDBOX_WEBHOOK_URL") ?? `http://127.0.0.1:${apiPort}/webhooks/meta`
  if (!/^https?:\/\/[^/]+/.test(webhookUrl)) {
    errors.push(`MMGW_SANDBOX_WEBHOOK_URL must be an http(s) URL, got "${webhookUrl}"`)
  }

  const notOnboarded = (present(env, "MMGW_SANDBOX_NOT_ONBOARDED") ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "")
  for (const id of notOnboarded) {
    if (!/^\d+$/.test(id)) errors.push(`MMGW_SANDBOX_NOT_ONBOARDED lists "${id}", which is not a phone number id`)
  }

  let rateLimitPerSecond = defaultConfig.rateLimitPerSecond
  const rawRate = present(env, "MMGW_SANDBOX_RATE_LIMIT")
  if (rawRate !== undefined) {
    if (rawRate.toLowerCase() === "off") rateLimitPerSecond = 0
    else rateLimitPerSecond = integer("MMGW_SANDBOX_RATE_LIMIT", defaultConfig.rateLimitPerSecond, 0, 1_000_000)
  }

  const defaultWabaId = present(env, "MMGW_SANDBOX_DEFAULT_WABA_ID") ?? defaultConfig.defaultWabaId
  if (!/^\d+$/.test(defaultWabaId)) {
    errors.push(`MMGW_SANDBOX_DEFAULT_WABA_ID must be digits, got "${defaultWabaId}"`)
  }

  const config: SandboxConfig = {
    host,
    port: integer("MMGW_SANDBOX_PORT", defaultConfig.port, 0, 65535),
    webhookUrl,
    appSecret,
    notOnboarded,
    ...(present(env, "MMGW_SANDBOX_SEED") === undefined
      ? {}
      : { seed: integer("MMGW_SANDBOX_SEED", 0, 0, 4294967295) }),
    responseLatencyMs: latency("MMGW_SANDBOX_RESPONSE_LATENCY_MS", defaultConfig.responseLatencyMs),
    webhookLatencyMs: latency("MMGW_SANDBOX_WEBHOOK_LATENCY_MS", defaultConfig.webhookLatencyMs),
    failureRate: rate("MMGW_SANDBOX_FAILURE_RATE", defaultConfig.failureRate),
    clickRate: rate("MMGW_SANDBOX_CLICK_RATE", defaultConfig.clickRate),
    webhookBatchSize: integer("MMGW_SANDBOX_WEBHOOK_BATCH_SIZE", defaultConfig.webhookBatchSize, 1, 1000),
    webhookBatchIntervalMs: integer(
      "MMGW_SANDBOX_WEBHOOK_BATCH_INTERVAL_MS",
      defaultConfig.webhookBatchIntervalMs,
      1,
      60_000
    ),
    webhookMaxAttempts: integer("MMGW_SANDBOX_WEBHOOK_MAX_ATTEMPTS", defaultConfig.webhookMaxAttempts, 1, 100),
    webhookRetryBaseMs: integer("MMGW_SANDBOX_WEBHOOK_RETRY_BASE_MS", defaultConfig.webhookRetryBaseMs, 1, 600_000),
    webhookConcurrency: integer("MMGW_SANDBOX_WEBHOOK_CONCURRENCY", defaultConfig.webhookConcurrency, 1, 256),
    rateLimitPerSecond,
    defaultWabaId,
    templatePageSize: integer("MMGW_SANDBOX_TEMPLATE_PAGE_SIZE", defaultConfig.templatePageSize, 1, 1000)
  }
  return errors.length > 0 ? Either.left(errors) : Either.right({ config, notes })
}
