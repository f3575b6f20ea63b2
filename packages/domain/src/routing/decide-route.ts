import { Schema } from "effect"
import type { MmApiStatus } from "../onboarding/mm-status.js"
import type { RoutingSettings } from "../settings/partner-settings.js"
import type { ChannelRouting } from "../channels/channel.js"
import type { TemplateCategory } from "../templates/category.js"

/** Where a message goes: the MM API (`/marketing_messages`) or the Cloud API (`/messages`). */
export const Route = Schema.Literal("marketing_messages", "cloud_api")
export type Route = typeof Route.Type

/** The gateway endpoint a client called. */
export const Endpoint = Schema.Literal("messages", "marketing_messages")
export type Endpoint = typeof Endpoint.Type

/** The client's `product_policy`: `STRICT` never falls back to the Cloud API. */
export const ProductPolicy = Schema.Literal("CLOUD_API_FALLBACK", "STRICT")
export type ProductPolicy = typeof ProductPolicy.Type

/** Why a message took its route, in the order of the rules below (docs/domain.md#routing-policy). */
export const RouteReason = Schema.Literal(
  "not_a_template",
  "template_not_marketing",
  "template_not_marketing_per_provider",
  "template_category_unknown",
  "routing_disabled",
  "channel_forced_cloud_api",
  "channel_forced_marketing_messages",
  "waba_not_onboarded",
  "mm_api_eligible"
)
export type RouteReason = typeof RouteReason.Type

export const RouteWarning = Schema.Literal(
  "ttl_not_applied_on_cloud_api",
  "template_category_unverified",
  "bsuid_only_no_delivery_optimization"
)
export type RouteWarning = typeof RouteWarning.Type

/** Why a message is refused outright (422 `route_rejected`); nothing is recorded or sent. */
export const RejectionReason = Schema.Literal(
  "not_a_marketing_template",
  "waba_suspended",
  "mm_api_not_available",
  "recipient_opted_out",
  "recipient_marketing_cooldown",
  "ttl_requires_mm_api"
)
export type RejectionReason = typeof RejectionReason.Type

export interface RouteInput {
  /** The gateway endpoint the client called. */
  readonly endpoint: Endpoint
  /**
   * `null` for a non-template message; otherwise the template's known category (`null` = unknown) and
   * whether the provider refused it as not a marketing template since (131055/134100 on the MM route).
   */
  readonly template: {
    readonly category: TemplateCategory | null
    readonly ttlSeconds: number | null
    readonly refusedAsNotMarketing: boolean
  } | null
  readonly wabaStatus: MmApiStatus
  readonly settings: RoutingSettings
  readonly channelRouting: ChannelRouting
  readonly productPolicy: ProductPolicy | null
  readonly recipient: {
    readonly optedOut: boolean
    readonly inMarketingCooldown: boolean
    /** The message names the user by BSUID alone (`recipient`, no `to`). */
    readonly bsuidOnly: boolean
  }
}

export type RouteDecision =
  | {
    readonly _tag: "Routed"
    readonly route: "marketing_messages" | "cloud_api"
    readonly reasons: ReadonlyArray<RouteReason>
    readonly warnings: ReadonlyArray<RouteWarning>
    /** What to send as `product_policy` (MM route only; `null` = leave Meta's default). */
    readonly productPolicy: ProductPolicy | null
    /** Whether `message_activity_sharing` and the template's TTL travel with the message (MM route only). */
    readonly mmOptionsApply: boolean
  }
  | { readonly _tag: "Rejected"; readonly reasons: ReadonlyArray<RejectionReason> }

/**
 * The routing policy (docs/domain.md#routing-policy) as one total function: read it top to bottom.
 *
 * 1. A non-template, or a template that is not MARKETING, never goes to `/marketing_messages`:
 *    rejected when the client called `/marketing_messages`, Cloud API when it called `/messages`.
 *    A template the provider refused as not marketing counts as not MARKETING until a newer category
 *    fact says otherwise (Meta would refuse it again).
 * 2. An unknown category goes to the Cloud API from `/messages` (never a guess); from the explicit
 *    `/marketing_messages` the client vouched for it: MM route with a warning.
 * 3. Partner routing disabled → Cloud API. 4. A channel override wins over the partner setting and
 *    the onboarding status (`cloud_api` or `marketing_messages`).
 * 5. A suspended WABA cannot send anything: rejected (every message).
 * 6. A WABA not onboarded → Cloud API, unless `STRICT`, which is rejected and never falls back.
 * 7. A recipient who opted out, or in a 131049 cooldown, gets no marketing: rejected (marketing only).
 * 8. Otherwise the MM API. A marketing TTL only holds on the MM route: on the Cloud API it is a warning,
 *    or a rejection when the partner's policy says so. An MM message addressed by BSUID alone gets no
 *    delivery optimization from Meta: a warning.
 */
export const decideRoute = (input: RouteInput): RouteDecision => {
  const rejections: Array<RejectionReason> = []
  const strict = input.productPolicy === "STRICT"
  const template = input.template
  const refused = template !== null && template.refusedAsNotMarketing
  const vouched = template !== null && !refused && template.category === null && input.endpoint === "marketing_messages"
  const marketing = template !== null && !refused && (template.category === "MARKETING" || vouched)

  // 1–2. What the message is.
  if (!marketing) {
    if (input.endpoint === "marketing_messages") rejections.push("not_a_marketing_template")
    if (input.wabaStatus === "suspended") rejections.push("waba_suspended")
    if (strict && rejections.length === 0) rejections.push("mm_api_not_available")
    if (rejections.length > 0) return { _tag: "Rejected", reasons: rejections }
    const reason: RouteReason = template === null
      ? "not_a_template"
      : refused
      ? "template_not_marketing_per_provider"
      : template.category === null
      ? "template_category_unknown"
      : "template_not_marketing"
    return { _tag: "Routed", route: "cloud_api", reasons: [reason], warnings: [], productPolicy: null, mmOptionsApply: false }
  }

  // 3–6. Where a marketing template may go.
  const reasons: Array<RouteReason> = []
  let route: "marketing_messages" | "cloud_api"
  if (input.channelRouting === "marketing_messages") {
    reasons.push("channel_forced_marketing_messages")
    route = "marketing_messages"
  } else {
    if (!input.settings.marketingViaMmApi) reasons.push("routing_disabled")
    if (input.channelRouting === "cloud_api") reasons.push("channel_forced_cloud_api")
    if (input.wabaStatus === "not_onboarded") reasons.push("waba_not_onboarded")
    route = reasons.length > 0 ? "cloud_api" : "marketing_messages"
    if (route === "marketing_messages") reasons.push("mm_api_eligible")
  }
  if (input.wabaStatus === "suspended") rejections.push("waba_suspended")
  if (strict && route === "cloud_api") rejections.push("mm_api_not_available")

  // 7. The recipient.
  if (input.recipient.optedOut) rejections.push("recipient_opted_out")
  if (input.recipient.inMarketingCooldown) rejections.push("recipient_marketing_cooldown")

  // 8. TTL and warnings.
  const warnings: Array<RouteWarning> = []
  if (vouched) warnings.push("template_category_unverified")
  if (route === "cloud_api" && template.ttlSeconds !== null) {
    if (input.settings.ttlOnCloudFallback === "reject") rejections.push("ttl_requires_mm_api")
    else warnings.push("ttl_not_applied_on_cloud_api")
  }
  if (route === "marketing_messages" && input.recipient.bsuidOnly) warnings.push("bsuid_only_no_delivery_optimization")

  if (rejections.length > 0) return { _tag: "Rejected", reasons: rejections }
  return route === "marketing_messages"
    ? { _tag: "Routed", route, reasons, warnings, productPolicy: input.productPolicy, mmOptionsApply: true }
    : { _tag: "Routed", route, reasons, warnings, productPolicy: null, mmOptionsApply: false }
}
