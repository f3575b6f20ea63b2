import { Either } from "effect"
import type { Endpoint, PricingCategory, Rejection } from "./wire.js"
import { rejections } from "./wire.js"

export type TemplateCategory = "MARKETING" | "UTILITY" | "AUTHENTICATION"
export type ProductPolicy = "CLOUD_API_FALLBACK" | "STRICT"

/** The parts of a Cloud API send body the sandbox acts on. */
export interface SendRequest {
  /** `to` (or, without it, `recipient`) as the client wrote it (a leading `+` kept): Meta echoes it as `contacts[].input`. */
  readonly input: string
  /**
   * The user: the number's digits (`contacts[].wa_id`, webhooks' `recipient_id`), or, for a send by
   * `recipient` alone, the BSUID (`contacts[].user_id`, webhooks' `recipient_user_id`).
   */
  readonly to: string
  /** Whether `to` is a BSUID: the send named its user by `recipient` alone. */
  readonly byBsuid: boolean
  readonly type: string
  readonly template?: { readonly name: string; readonly language: string }
  readonly productPolicy: ProductPolicy
  readonly bizOpaqueCallbackData?: string
}

const MESSAGE_TYPES = new Set([
  "text",
  "template",
  "image",
  "audio",
  "video",
  "document",
  "sticker",
  "location",
  "contacts",
  "interactive",
  "reaction"
])

/** A business-scoped user id: country, a dot, the id (`US.13491208655302741918`); a parent one has `ENT.` (`US.ENT.…`). */
const BSUID = /^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$/

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The optional `biz_opaque_callback_data` of a body, read before validation so stats see rejected sends too. */
export const callbackDataOf = (body: unknown): string | undefined =>
  isRecord(body) && typeof body["biz_opaque_callback_data"] === "string" ? body["biz_opaque_callback_data"] : undefined

/** A read receipt, with a typing indicator or not: what `/messages` takes besides messages. */
export interface StatusUpdate {
  readonly messageId: string
  readonly typing: boolean
}

/** Whether a `/messages` body is a status update (`status` and no `type`) rather than a message. */
export const isStatusUpdateBody = (body: unknown): boolean => isRecord(body) && Object.hasOwn(body, "status") && !Object.hasOwn(body, "type")

/** Checks a status update as Meta does: `messaging_product`, `status: "read"`, a `message_id`, and a text `typing_indicator` if any. */
export const parseStatusUpdate = (body: Record<string, unknown>): Either.Either<StatusUpdate, Rejection> => {
  if (body["messaging_product"] === undefined) return Either.left(rejections.missingParameter("messaging_product"))
  if (body["messaging_product"] !== "whatsapp") return Either.left(rejections.invalidParameter("messaging_product", "must be one of {WHATSAPP}"))
  if (body["status"] !== "read") return Either.left(rejections.invalidParameter("status", "must be one of {READ}"))
  const messageId = body["message_id"]
  if (messageId === undefined) return Either.left(rejections.missingParameter("message_id"))
  if (typeof messageId !== "string" || !messageId.startsWith("wamid.")) return Either.left(rejections.invalidParameter("message_id", "must be a message id (wamid)"))
  const typing = body["typing_indicator"]
  if (typing !== undefined && !(isRecord(typing) && typing["type"] === "text")) {
    return Either.left(rejections.invalidParameter("typing_indicator.type", "must be one of {TEXT}"))
  }
  return Either.right({ messageId, typing: typing !== undefined })
}

/**
 * Checks the basics Meta checks before accepting a send and extracts what the sandbox needs.
 * It is deliberately not a full Cloud API validator: only what a client is likely to get wrong.
 */
export const parseSendBody = (body: unknown): Either.Either<SendRequest, Rejection> => {
  if (!isRecord(body)) return Either.left(rejections.missingParameter("messaging_product"))
  const product = body["messaging_product"]
  if (product === undefined) return Either.left(rejections.missingParameter("messaging_product"))
  if (product !== "whatsapp") {
    return Either.left(rejections.invalidParameter("messaging_product", "must be one of {WHATSAPP}"))
  }
  const recipientType = body["recipient_type"]
  if (recipientType !== undefined && recipientType !== "individual") {
    return Either.left(rejections.invalidParameter("recipient_type", "must be one of {INDIVIDUAL}"))
  }
  // `to` or `recipient` (a BSUID or parent BSUID); with both, `to` wins, as Meta does.
  const rawTo = body["to"]
  const rawRecipient = body["recipient"]
  if (rawTo === undefined && rawRecipient === undefined) return Either.left(rejections.missingParameter("to"))
  if (rawTo === undefined && (typeof rawRecipient !== "string" || !BSUID.test(rawRecipient))) {
    return Either.left(rejections.invalidParameter("recipient", "must be a business-scoped user id (BSUID) or a parent BSUID"))
  }
  if (rawTo !== undefined && typeof rawTo !== "string") return Either.left(rejections.invalidParameter("to", "must be a string"))
  const byBsuid = rawTo === undefined
  const input = (rawTo ?? rawRecipient) as string
  const to = byBsuid ? input : input.startsWith("+") ? input.slice(1) : input
  if (!byBsuid && !/^\d{5,20}$/.test(to)) {
    return Either.left(rejections.invalidValue("Parameter to must be a phone number in international format (digits)."))
  }
  const rawType = body["type"] ?? "text"
  if (typeof rawType !== "string" || !MESSAGE_TYPES.has(rawType)) {
    return Either.left(rejections.invalidParameter("type", `must be one of {${[...MESSAGE_TYPES].join(", ")}}`))
  }
  if (!isRecord(body[rawType])) return Either.left(rejections.missingParameter(rawType))

  let template: SendRequest["template"]
  if (rawType === "template") {
    const t = body["template"] as Record<string, unknown>
    if (typeof t["name"] !== "string" || t["name"] === "") {
      return Either.left(rejections.missingParameter("template.name"))
    }
    const language = t["language"]
    if (!isRecord(language) || typeof language["code"] !== "string" || language["code"] === "") {
      return Either.left(rejections.missingParameter("template.language.code"))
    }
    template = { name: t["name"], language: language["code"] }
  } else if (rawType === "text") {
    const text = body["text"] as Record<string, unknown>
    if (typeof text["body"] !== "string" || text["body"] === "") {
      return Either.left(rejections.missingParameter("text.body"))
    }
  }

  const policy = body["product_policy"] ?? "CLOUD_API_FALLBACK"
  if (policy !== "CLOUD_API_FALLBACK" && policy !== "STRICT") {
    return Either.left(rejections.invalidParameter("product_policy", "must be one of {CLOUD_API_FALLBACK, STRICT}"))
  }
  const callback = body["biz_opaque_callback_data"]
  if (callback !== undefined && (typeof callback !== "string" || callback.length > 512)) {
    return Either.left(rejections.invalidParameter("biz_opaque_callback_data", "must be a string of at most 512 characters"))
  }
  return Either.right({
    input,
    to,
    byBsuid,
    type: rawType,
    productPolicy: policy,
    ...(template === undefined ? {} : { template }),
    ...(typeof callback === "string" ? { bizOpaqueCallbackData: callback } : {})
  })
}

/**
 * Category of a template the sandbox was not told about. Treating unknown templates as MARKETING lets
 * any campaign run against the sandbox without setup; the prefixes give tests a way to exercise the
 * non-marketing paths without a control call.
 */
export const defaultTemplateCategory = (name: string): TemplateCategory =>
  name.startsWith("utility_") ? "UTILITY" : name.startsWith("auth_") ? "AUTHENTICATION" : "MARKETING"

const categoryPricing = (category: TemplateCategory): PricingCategory =>
  category === "MARKETING" ? "marketing" : category === "UTILITY" ? "utility" : "authentication"

/**
 * MM semantics: which pricing category (and so which route, as the webhooks will show it) a valid
 * request gets, or the error Meta answers with.
 */
export const routeOf = (
  endpoint: Endpoint,
  request: SendRequest,
  templateCategory: TemplateCategory | undefined,
  onboarded: boolean,
  marketingDisabledOnCloudApi = false
): Either.Either<PricingCategory, Rejection> => {
  if (endpoint === "messages") {
    if (templateCategory === "MARKETING" && marketingDisabledOnCloudApi) return Either.left(rejections.marketingDisabledOnCloudApi())
    return Either.right(templateCategory === undefined ? "service" : categoryPricing(templateCategory))
  }
  if (templateCategory !== "MARKETING") return Either.left(rejections.notMarketingTemplate())
  if (onboarded) return Either.right("marketing_lite")
  if (request.productPolicy === "STRICT") return Either.left(rejections.termsNotAccepted())
  // Meta's fallback is the Cloud API, which the business may have closed to marketing templates.
  return marketingDisabledOnCloudApi ? Either.left(rejections.marketingDisabledOnCloudApi()) : Either.right("marketing")
}

/** Outcomes scripted by the last four digits of the recipient, like a payment sandbox's test cards. */
export type Script =
  | "silent"
  | "failed_131049"
  | "rejected_131009"
  | "delivered_never_read"
  | "read_without_delivered"
  | "read_then_click"
  | "rate_limited_twice"
  | "server_error_once"
  | "connection_dropped"
  | "normal"

export const SCRIPTS: Readonly<Record<string, Script>> = {
  "0000": "silent",
  "0001": "failed_131049",
  "0002": "rejected_131009",
  "0003": "delivered_never_read",
  "0004": "read_without_delivered",
  "0005": "read_then_click",
  "0429": "rate_limited_twice",
  "0500": "server_error_once",
  "0999": "connection_dropped"
}

export const scriptOf = (to: string): Script => SCRIPTS[to.slice(-4)] ?? "normal"

/** The statuses an accepted message goes through, in order; `click` follows the last one. */
export interface Plan {
  readonly statuses: ReadonlyArray<"sent" | "delivered" | "read" | "failed_131049" | "failed_131026">
  readonly click: boolean
}

export const planOf = (script: Script, randomFailure: boolean, randomClick: boolean): Plan => {
  switch (script) {
    case "silent":
      return { statuses: [], click: false }
    case "failed_131049":
      return { statuses: ["failed_131049"], click: false }
    case "delivered_never_read":
      return { statuses: ["sent", "delivered"], click: false }
    case "read_without_delivered":
      return { statuses: ["sent", "read"], click: false }
    case "read_then_click":
      return { statuses: ["sent", "delivered", "read"], click: true }
    default:
      return randomFailure
        ? { statuses: ["sent", "failed_131026"], click: false }
        : { statuses: ["sent", "delivered", "read"], click: randomClick }
  }
}
