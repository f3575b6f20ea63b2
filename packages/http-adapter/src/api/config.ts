import { Config, ConfigError, Effect, Either, Option, Redacted } from "effect"
import { FORWARD_RETRY_FOR_DEFAULT_MS } from "@mm-gateway/ports"
import { durationConfig } from "../durations.js"
import { forwardAllowHosts } from "../forwarding/config.js"
import { type ProviderClientConfig, providerClientConfig } from "../provider/config.js"
import { type IntentApiConfig, intentApiConfig } from "../provider/intent-api.js"

export type Mode = "development" | "production"

export interface ApiConfig {
  readonly mode: Mode
  readonly host: string
  readonly port: number
  readonly database: string
  readonly durability: "normal" | "full"
  readonly adminToken: Redacted.Redacted<string>
  readonly secretKey: Redacted.Redacted<string>
  readonly metaAppSecret: Redacted.Redacted<string>
  readonly metaVerifyToken: Redacted.Redacted<string>
  readonly dialog360Header: string
  readonly dialog360Secret: Redacted.Redacted<string> | null
  readonly dialog360PlatformSecret: Redacted.Redacted<string> | null
  readonly onboardingLink: string
  /** Meta's Intent API for partner-initiated onboarding: the system-user token (optional), default solution id, Graph's URL and version. */
  readonly intentApi: IntentApiConfig
  /** Where the drop-in path relays status updates (the worker's provider settings: `MMGW_GRAPH_BASE_URL`, `MMGW_SANDBOX_URL`, …). */
  readonly provider: ProviderClientConfig
  /** Hosts forwarding endpoints may use over http and on non-public addresses (`MMGW_FORWARD_ALLOW_HOSTS`). */
  readonly forwardAllowHosts: ReadonlyArray<string>
  /** How long a replayed or resumed delivery is attempted (`MMGW_FORWARD_RETRY_FOR`, as the worker reads it). */
  readonly forwardRetryForMs: number
  /** Development defaults that were used, to print at start-up (names only, never values of real secrets). */
  readonly defaultsUsed: ReadonlyArray<string>
}

/** Development defaults for secrets: printed at start, refused in production. */
export const DEVELOPMENT_SECRETS = {
  MMGW_ADMIN_TOKEN: "dev-admin-token",
  MMGW_SECRET_KEY: "dev-secret-key-change-me",
  MMGW_META_APP_SECRET: "dev-app-secret",
  MMGW_META_VERIFY_TOKEN: "dev-verify-token",
  MMGW_360DIALOG_WEBHOOK_SECRET: "dev-360dialog-webhook-secret"
} as const

type SecretName = keyof typeof DEVELOPMENT_SECRETS

const optionalSecret = (name: string) => Config.option(Config.redacted(name))

/**
 * The api's configuration from the `MMGW_*` variables (README.md#configuration). In production mode every secret must
 * be set (the error names the missing one); in development mode a missing secret gets a printed
 * development default.
 */
export const apiConfig: Config.Config<ApiConfig> = Config.all({
  mode: Config.literal("development", "production")("MMGW_MODE").pipe(Config.withDefault("development" as const)),
  host: Config.string("MMGW_HOST").pipe(Config.withDefault("127.0.0.1")),
  // 0 asks the OS for a free port (tests, several stacks on one machine).
  port: Config.integer("MMGW_API_PORT").pipe(
    Config.validate({ message: "Expected a port number between 0 and 65535", validation: (n) => n >= 0 && n <= 65535 }),
    Config.withDefault(8080)
  ),
  database: Config.string("MMGW_DATABASE").pipe(Config.withDefault("./data/mm-gateway.sqlite")),
  durability: Config.literal("normal", "full")("MMGW_DURABILITY").pipe(Config.withDefault("normal" as const)),
  adminToken: optionalSecret("MMGW_ADMIN_TOKEN"),
  secretKey: optionalSecret("MMGW_SECRET_KEY"),
  metaAppSecret: optionalSecret("MMGW_META_APP_SECRET"),
  metaVerifyToken: optionalSecret("MMGW_META_VERIFY_TOKEN"),
  dialog360Header: Config.string("MMGW_360DIALOG_WEBHOOK_HEADER").pipe(Config.withDefault("x-mmgw-webhook-secret")),
  dialog360Secret: optionalSecret("MMGW_360DIALOG_WEBHOOK_SECRET"),
  dialog360PlatformSecret: optionalSecret("MMGW_360DIALOG_PLATFORM_SECRET"),
  onboardingLink: Config.string("MMGW_ONBOARDING_LINK").pipe(Config.withDefault("https://hub.360dialog.com/mmlite-tos")),
  intentApi: intentApiConfig,
  provider: providerClientConfig,
  forwardAllowHosts: Config.option(Config.string("MMGW_FORWARD_ALLOW_HOSTS")),
  forwardRetryForMs: durationConfig("MMGW_FORWARD_RETRY_FOR", FORWARD_RETRY_FOR_DEFAULT_MS)
}).pipe(
  Config.mapOrFail((raw) => {
    const defaultsUsed: Array<string> = []
    const missing: Array<string> = []
    const secret = (name: SecretName, value: Option.Option<Redacted.Redacted<string>>): Redacted.Redacted<string> => {
      if (Option.isSome(value) && Redacted.value(value.value) !== "") return value.value
      if (raw.mode === "production") missing.push(name)
      else defaultsUsed.push(name)
      return Redacted.make(DEVELOPMENT_SECRETS[name])
    }
    const adminToken = secret("MMGW_ADMIN_TOKEN", raw.adminToken)
    const secretKey = secret("MMGW_SECRET_KEY", raw.secretKey)
    const metaAppSecret = secret("MMGW_META_APP_SECRET", raw.metaAppSecret)
    const metaVerifyToken = secret("MMGW_META_VERIFY_TOKEN", raw.metaVerifyToken)
    // 360dialog webhooks need a shared header secret or a platform secret; in development the header
    // secret gets a default so the endpoint works out of the box.
    const dialog360PlatformSecret = Option.getOrNull(raw.dialog360PlatformSecret)
    const dialog360Secret = Option.isSome(raw.dialog360Secret) || dialog360PlatformSecret === null
      ? secret("MMGW_360DIALOG_WEBHOOK_SECRET", raw.dialog360Secret)
      : null
    if (missing.length > 0) {
      return Either.left(ConfigError.MissingData([missing[0]!], `production mode needs ${missing.join(", ")} (missing: ${missing[0]})`))
    }
    return Either.right({
      mode: raw.mode,
      host: raw.host,
      port: raw.port,
      database: raw.database,
      durability: raw.durability,
      adminToken,
      secretKey,
      metaAppSecret,
      metaVerifyToken,
      dialog360Header: raw.dialog360Header,
      dialog360Secret,
      dialog360PlatformSecret,
      onboardingLink: raw.onboardingLink,
      intentApi: raw.intentApi,
      provider: raw.provider,
      forwardAllowHosts: forwardAllowHosts(raw.mode, raw.forwardAllowHosts),
      forwardRetryForMs: raw.forwardRetryForMs,
      defaultsUsed
    })
  })
)

export const loadApiConfig = Effect.gen(function*() {
  return yield* apiConfig
})
