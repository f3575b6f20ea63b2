import { Config, type ConfigError, Effect, Option } from "effect"
import {
  DEFAULT_DIALOG360_HEADER,
  type Dialog360VerificationConfig,
  make360dialogVerifier,
  type SignatureVerifier,
  type WebhookConfigInvalid
} from "./verify.js"

/**
 * The 360dialog verification settings as the configuration names them (README.md#configuration). Each secret
 * is optional on its own; `make360dialogVerifier` refuses the combination where neither is set.
 */
export const dialog360VerificationConfig: Config.Config<Dialog360VerificationConfig> = Config.all({
  headerName: Config.string("MMGW_360DIALOG_WEBHOOK_HEADER").pipe(Config.withDefault(DEFAULT_DIALOG360_HEADER)),
  headerSecret: Config.option(Config.redacted("MMGW_360DIALOG_WEBHOOK_SECRET")),
  platformSecret: Config.option(Config.redacted("MMGW_360DIALOG_PLATFORM_SECRET"))
}).pipe(Config.map(({ headerName, headerSecret, platformSecret }) => ({
  headerName,
  headerSecret: Option.getOrNull(headerSecret),
  platformSecret: Option.getOrNull(platformSecret)
})))

/** Read the 360dialog settings and build the verifier; an unusable configuration fails at startup. */
export const load360dialogVerifier: Effect.Effect<SignatureVerifier, ConfigError.ConfigError | WebhookConfigInvalid> =
  Effect.flatMap(dialog360VerificationConfig, make360dialogVerifier)
