import { Context, type Effect, Schema } from "effect"
import type { Provider } from "../channels/channel.js"
import type { MessageRecord } from "../lifecycle/message.js"
import type { Route } from "../routing/decide-route.js"
import type { PhoneNumberId } from "../shared/ids.js"
import type { ProviderOutcome } from "./classify.js"

/** A provider error as Meta describes it (`code`, `title`, `message`, `error_data.details`), in an answer or a status webhook. */
export const ProviderError = Schema.Struct({
  code: Schema.Int,
  title: Schema.NullOr(Schema.String),
  message: Schema.NullOr(Schema.String),
  details: Schema.NullOr(Schema.String)
})
export type ProviderError = typeof ProviderError.Type

/** One send request, ready for the wire: the adapter only adds the host, path and credentials. */
export interface ProviderRequest {
  readonly provider: Provider
  readonly phoneNumberId: PhoneNumberId
  /** Where the adapter finds this channel's (encrypted) credentials. */
  readonly credentialsRef: string
  /** `marketing_messages` → `/marketing_messages`, `cloud_api` → `/messages`. */
  readonly route: Route
  readonly body: Readonly<Record<string, unknown>>
}

export type ProviderSendResult =
  | {
    readonly _tag: "Accepted"
    readonly wamid: string
    /** `accepted` | `held_for_quality_assessment` | `paused`; anything else is reported as `accepted`. */
    readonly messageStatus: "accepted" | "held_for_quality_assessment" | "paused"
  }
  | ProviderOutcome

/**
 * A read of `marketing_messages_onboarding_status` from Meta's Graph API, with one channel's
 * credentials: of the WABA, and of its business portfolio when `businessId` is given.
 */
export interface OnboardingStatusRequest {
  readonly provider: Provider
  readonly credentialsRef: string
  readonly wabaId: string
  readonly businessId: string | null
}

export type OnboardingStatusResult =
  /** What Meta answered, as it said it (an open set); `businessStatus` `null` when not asked or not said. */
  | { readonly _tag: "Read"; readonly status: string | null; readonly businessStatus: string | null }
  /** Nothing usable came back: the reason says why (never a credential). */
  | { readonly _tag: "Failed"; readonly reason: string }

/** A read of a WABA's template list (`GET /{WABA_ID}/message_templates`, every page) with one channel's credentials. */
export interface TemplateListRequest {
  readonly provider: Provider
  readonly credentialsRef: string
  readonly wabaId: string
}

/** One template as Meta's list shows it, as Meta said it: the category and status are not checked here. */
export interface ListedTemplate {
  readonly id: string | null
  readonly name: string
  readonly language: string
  readonly category: string | null
  readonly status: string | null
  /** `message_send_ttl_seconds`; `null` when the list shows none. */
  readonly ttlSeconds: number | null
}

export type TemplateListResult =
  /**
   * Every page read: the templates, and the entries that could not be read as one (no name or
   * language, a TTL that is not an integer), each described by its place in the list.
   */
  | { readonly _tag: "Read"; readonly templates: ReadonlyArray<ListedTemplate>; readonly skipped: ReadonlyArray<string>; readonly pages: number }
  /** A page could not be read: the reason says why (never a credential); nothing of the list is used. */
  | { readonly _tag: "Failed"; readonly reason: string }

/**
 * The outbound port: deliver one request to the provider and say what came back. It never fails in
 * the error channel: every outcome, including transport trouble, is a value the dispatcher classifies.
 * `readOnboardingStatus` reads the MM API onboarding status the same way, `listTemplates` a WABA's
 * template list (docs/provider.md).
 */
export class ProviderGateway extends Context.Tag("@mm-gateway/domain/ProviderGateway")<ProviderGateway, {
  readonly send: (request: ProviderRequest) => Effect.Effect<ProviderSendResult>
  readonly readOnboardingStatus: (request: OnboardingStatusRequest) => Effect.Effect<OnboardingStatusResult>
  readonly listTemplates: (request: TemplateListRequest) => Effect.Effect<TemplateListResult>
}>() {}

/** Fields of the client's body that the gateway owns or that only the MM route accepts. */
const GATEWAY_FIELDS = ["biz_opaque_callback_data", "product_policy", "message_activity_sharing"] as const

/**
 * The body to send for a message on its current route: the client's Cloud API body, with
 * `biz_opaque_callback_data` set to the gateway's message id (the client's own value is kept on the
 * message and shown back), and `product_policy` / `message_activity_sharing` only on the MM route.
 */
export const buildProviderBody = (message: MessageRecord): Record<string, unknown> => {
  const payload = message.request.payload
  const body: Record<string, unknown> = typeof payload === "object" && payload !== null && !Array.isArray(payload)
    ? { ...(payload as Record<string, unknown>) }
    : {}
  for (const field of GATEWAY_FIELDS) delete body[field]
  body["messaging_product"] = "whatsapp"
  body["biz_opaque_callback_data"] = message.request.messageId
  if (message.route === "marketing_messages") {
    if (message.productPolicy !== null) body["product_policy"] = message.productPolicy
    if (message.request.messageActivitySharing !== null) body["message_activity_sharing"] = message.request.messageActivitySharing
  }
  return body
}
