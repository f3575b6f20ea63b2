import { saysTermsNotAccepted } from "../lifecycle/reactions.js"
import type { Route } from "../routing/decide-route.js"
import type { ProviderError } from "./provider-gateway.js"

/** What came back from one request to the provider, as the client saw it. */
export type ProviderOutcome =
  /** Refused, DNS, TLS: the request never reached the provider. Safe to retry. */
  | { readonly _tag: "ConnectionNotEstablished"; readonly reason: string }
  /** A timeout after connecting, a dropped connection: the provider may or may not have the message. */
  | { readonly _tag: "NoDefinitiveAnswer"; readonly reason: string }
  | {
    readonly _tag: "HttpError"
    readonly status: number
    /** The Meta error, unwrapped from 360dialog's `{"detail": {"error": …}}` when needed. */
    readonly error: ProviderError | null
    readonly retryAfterMs: number | null
  }

export type RerouteReason = "not_a_marketing_template" | "terms_not_accepted" | "marketing_disabled_on_cloud_api" | "template_unavailable"

export type ErrorClassification =
  /** Not processed: try again later (at least `minDelayMs`, longer if `Retry-After` says so). */
  | {
    readonly _tag: "Retry"
    readonly reason: string
    readonly minDelayMs: number
    readonly retryAfterMs: number | null
    /** 131056 is a per-recipient pair rate: back off for that recipient, not the channel. */
    readonly scope: "message" | "recipient" | "channel"
  }
  /** Final, no retry; some finals also change what we know about the recipient. */
  | { readonly _tag: "Final"; readonly reason: string; readonly recipientEffect: "cooldown" | "opt_out" | null }
  /**
   * A candidate for the other route: `decideReroute` says whether the policy lets this message go
   * there (once, never under STRICT). `terms_not_accepted` also marks the WABA not onboarded, and
   * `not_a_marketing_template` the template (see `reactionsTo`).
   */
  | { readonly _tag: "Reroute"; readonly to: Route; readonly reason: RerouteReason }
  /** The provider may have the message: never retried blindly. */
  | { readonly _tag: "Unknown"; readonly reason: string }

const NOT_PROCESSED_5XX = new Set([1, 2, 131000, 131016])
const TEMPLATE_SYNC_DELAY_MS = 10 * 60_000

/**
 * docs/worker.md#error-classification: classify by the Meta error `code` and `error_data.details` first, the
 * HTTP status second. `route` is the endpoint the request went to.
 */
export const classifyProviderOutcome = (outcome: ProviderOutcome, route: Route): ErrorClassification => {
  switch (outcome._tag) {
    case "ConnectionNotEstablished":
      return { _tag: "Retry", reason: "connection_not_established", minDelayMs: 0, retryAfterMs: null, scope: "message" }
    case "NoDefinitiveAnswer":
      return { _tag: "Unknown", reason: outcome.reason }
    case "HttpError": {
      const { error, status, retryAfterMs } = outcome
      const code = error?.code
      if (error !== null && code !== undefined) {
        switch (code) {
          case 130429:
            return { _tag: "Retry", reason: "rate_limited_130429", minDelayMs: 1_000, retryAfterMs, scope: "channel" }
          case 131057:
            return { _tag: "Retry", reason: "throughput_upgrade_131057", minDelayMs: 5_000, retryAfterMs, scope: "channel" }
          case 131056:
            return { _tag: "Retry", reason: "pair_rate_limit_131056", minDelayMs: 6_000, retryAfterMs, scope: "recipient" }
          case 134101:
            return { _tag: "Retry", reason: "template_syncing_134101", minDelayMs: TEMPLATE_SYNC_DELAY_MS, retryAfterMs, scope: "message" }
          case 131049:
            return { _tag: "Final", reason: "per_user_marketing_limit_131049", recipientEffect: "cooldown" }
          case 131050:
            return { _tag: "Final", reason: "recipient_stopped_marketing_131050", recipientEffect: "opt_out" }
          case 131055:
            if (saysTermsNotAccepted(error)) return { _tag: "Reroute", to: "cloud_api", reason: "terms_not_accepted" }
            return route === "marketing_messages"
              ? { _tag: "Reroute", to: "cloud_api", reason: "not_a_marketing_template" }
              : { _tag: "Final", reason: "method_not_allowed_131055", recipientEffect: null }
          case 134100:
            return route === "marketing_messages"
              ? { _tag: "Reroute", to: "cloud_api", reason: "not_a_marketing_template" }
              : { _tag: "Final", reason: "only_marketing_134100", recipientEffect: null }
          case 131063:
            return route === "cloud_api"
              ? { _tag: "Reroute", to: "marketing_messages", reason: "marketing_disabled_on_cloud_api" }
              : { _tag: "Final", reason: "marketing_disabled_on_cloud_api_131063", recipientEffect: null }
          case 134102:
            return route === "marketing_messages"
              ? { _tag: "Reroute", to: "cloud_api", reason: "template_unavailable" }
              : { _tag: "Final", reason: "template_unavailable_134102", recipientEffect: null }
        }
        if (status >= 500) {
          return NOT_PROCESSED_5XX.has(code)
            ? { _tag: "Retry", reason: `not_processed_${code}`, minDelayMs: 1_000, retryAfterMs, scope: "message" }
            : { _tag: "Unknown", reason: `http_${status}_code_${code}` }
        }
        return { _tag: "Final", reason: `provider_error_${code}`, recipientEffect: null }
      }
      if (status === 429) return { _tag: "Retry", reason: "http_429", minDelayMs: 1_000, retryAfterMs, scope: "channel" }
      if (status >= 500) return { _tag: "Unknown", reason: `http_${status}_without_code` }
      return { _tag: "Final", reason: `http_${status}`, recipientEffect: null }
    }
  }
}

/**
 * Exponential backoff with full jitter, never shorter than what the provider or the rule asks for.
 * `random` is a number in [0, 1) supplied by the caller (the domain owns no randomness).
 */
export const retryDelayMs = (
  classification: Extract<ErrorClassification, { _tag: "Retry" }>,
  attempt: number,
  random: number,
  base = 500,
  cap = 60_000
): number => {
  const exponential = Math.min(cap, base * 2 ** Math.max(0, attempt - 1))
  const jittered = Math.floor(exponential / 2 + random * (exponential / 2))
  return Math.max(jittered, classification.minDelayMs, classification.retryAfterMs ?? 0)
}
