/**
 * Wire shapes of the provider: Graph error envelopes, send answers and webhook payloads.
 * Kept free of I/O so the server and the tests build and read the same shapes.
 */

export interface MetaError {
  readonly message: string
  readonly type: "OAuthException"
  readonly code: number
  readonly error_data?: { readonly messaging_product: "whatsapp"; readonly details: string }
  readonly error_subcode?: number
  readonly fbtrace_id: string
}

/** An answer the sandbox gives instead of accepting: HTTP status plus the Meta error inside it. */
export interface Rejection {
  readonly status: number
  readonly error: Omit<MetaError, "fbtrace_id">
}

const withDetails = (code: number, message: string, details: string, status = 400): Rejection => ({
  status,
  error: { message, type: "OAuthException", code, error_data: { messaging_product: "whatsapp", details } }
})

export const rejections = {
  missingToken: (): Rejection => ({
    status: 401,
    error: { message: "Invalid OAuth access token - Cannot parse access token", type: "OAuthException", code: 190 }
  }),
  invalidApiKey: (): Rejection => ({
    status: 401,
    error: {
      message: "Invalid D360-API-KEY: the sandbox expects sandbox-<phoneNumberId>",
      type: "OAuthException",
      code: 190
    }
  }),
  invalidJson: (): Rejection =>
    withDetails(100, "(#100) Invalid parameter", "The request body is not valid JSON."),
  missingParameter: (name: string): Rejection =>
    withDetails(100, `(#100) The parameter ${name} is required.`, `The parameter ${name} is required.`),
  invalidParameter: (name: string, why: string): Rejection =>
    withDetails(100, "(#100) Invalid parameter", `Param ${name} ${why}`),
  invalidValue: (details: string): Rejection =>
    withDetails(131009, "(#131009) Parameter value is not valid", details),
  scriptedInvalidValue: (): Rejection =>
    withDetails(131009, "(#131009) Parameter value is not valid", "One or more parameter values are invalid."),
  notMarketingTemplate: (): Rejection =>
    withDetails(131055, "(#131055) Method not allowed", "Only marketing template messages are supported"),
  termsNotAccepted: (): Rejection =>
    withDetails(
      131055,
      "(#200) You must accept the Marketing Messages Lite API terms to use the API.",
      "The phone number is not activated for the Marketing Messages API."
    ),
  marketingDisabledOnCloudApi: (): Rejection =>
    withDetails(
      131063,
      "(#131063) Marketing templates disabled for Cloud API",
      "Marketing template messages are disabled on the Cloud API for this business account."
    ),
  rateLimitHit: (): Rejection =>
    withDetails(130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
  somethingWentWrong: (): Rejection =>
    withDetails(131000, "(#131000) Something went wrong", "Message failed to send due to an unknown error.", 500)
} as const

export type Endpoint = "messages" | "marketing_messages"
export type WireStyle = "graph" | "360dialog"

/** 360dialog passes Meta's errors through on `/messages` but wraps them in `detail` on `/marketing_messages`. */
export const errorBody = (style: WireStyle, endpoint: Endpoint, error: MetaError): unknown =>
  style === "360dialog" && endpoint === "marketing_messages" ? { detail: { error } } : { error }

/**
 * Meta's answer to an accepted send: `input` is `to` as sent, `wa_id` the recipient's WhatsApp id — or,
 * for a send by BSUID, `input` is `recipient` as sent and `user_id` the BSUID, without `wa_id`;
 * `message_status` only for templates (the other types carry none).
 */
export const acceptedBody = (
  request: { readonly input: string; readonly to: string; readonly byBsuid?: boolean; readonly type: string },
  wamid: string
) => ({
  messaging_product: "whatsapp",
  contacts: [request.byBsuid === true ? { input: request.input, user_id: request.to } : { input: request.input, wa_id: request.to }],
  messages: [request.type === "template" ? { id: wamid, message_status: "accepted" } : { id: wamid }]
})

export type PricingCategory = "marketing_lite" | "marketing" | "utility" | "authentication" | "service"

export interface Pricing {
  readonly billable: boolean
  readonly pricing_model: "PMP"
  readonly type: "regular" | "free_customer_service"
  readonly category: PricingCategory
}

export const pricingFor = (category: PricingCategory): Pricing =>
  category === "service"
    ? { billable: false, pricing_model: "PMP", type: "free_customer_service", category }
    : { billable: true, pricing_model: "PMP", type: "regular", category }

export interface WebhookError {
  readonly code: number
  readonly title: string
  readonly message: string
  readonly error_data: { readonly details: string }
  readonly href: string
}

const ERROR_HREF = "/documentation/business-messaging/whatsapp/support/error-codes"

export const webhookErrors = {
  perUserMarketingLimit: (): WebhookError => ({
    code: 131049,
    title: "This message was not delivered to maintain healthy ecosystem engagement.",
    message: "This message was not delivered to maintain healthy ecosystem engagement.",
    error_data: {
      details: "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
    },
    href: ERROR_HREF
  }),
  undeliverable: (): WebhookError => ({
    code: 131026,
    title: "Message undeliverable",
    message: "Message undeliverable",
    error_data: { details: "Message Undeliverable." },
    href: ERROR_HREF
  })
} as const

export type StatusName = "sent" | "delivered" | "read" | "failed"

export interface StatusPayload {
  readonly id: string
  readonly status: StatusName
  readonly timestamp: string
  /** The number; absent for a message sent by BSUID, whose statuses name the user by `recipient_user_id`. */
  readonly recipient_id?: string
  readonly recipient_user_id?: string
  readonly biz_opaque_callback_data?: string
  readonly pricing?: Pricing
  readonly errors?: ReadonlyArray<WebhookError>
}

export interface UserActionPayload {
  readonly action_type: "marketing_messages_link_click"
  readonly timestamp: string
  readonly marketing_messages_link_click_data: {
    readonly click_component: "CTA" | "BODY"
    readonly click_id: string
    readonly tracking_token: string
  }
}

export interface NumberIdentity {
  readonly phoneNumberId: string
  readonly displayPhoneNumber: string
  readonly wabaId: string
}

/** One item of a `messages` webhook: a status or a user action, for one business number. */
export type MessagesItem =
  | { readonly kind: "status"; readonly number: NumberIdentity; readonly status: StatusPayload }
  | { readonly kind: "user_action"; readonly number: NumberIdentity; readonly action: UserActionPayload }

/**
 * Groups items like Meta does: one entry per WABA, one change per business number and kind
 * (statuses and user actions travel in separate changes), item order kept.
 */
export const messagesWebhook = (items: ReadonlyArray<MessagesItem>) => {
  const entries = new Map<string, Map<string, { number: NumberIdentity; statuses: Array<StatusPayload>; actions: Array<UserActionPayload> }>>()
  for (const item of items) {
    let perNumber = entries.get(item.number.wabaId)
    if (perNumber === undefined) {
      perNumber = new Map()
      entries.set(item.number.wabaId, perNumber)
    }
    let bucket = perNumber.get(item.number.phoneNumberId)
    if (bucket === undefined) {
      bucket = { number: item.number, statuses: [], actions: [] }
      perNumber.set(item.number.phoneNumberId, bucket)
    }
    if (item.kind === "status") bucket.statuses.push(item.status)
    else bucket.actions.push(item.action)
  }
  return {
    object: "whatsapp_business_account",
    entry: [...entries].map(([wabaId, perNumber]) => ({
      id: wabaId,
      changes: [...perNumber.values()].flatMap(({ actions, number, statuses }) => {
        const metadata = { display_phone_number: number.displayPhoneNumber, phone_number_id: number.phoneNumberId }
        const changes: Array<unknown> = []
        if (statuses.length > 0) {
          changes.push({ field: "messages", value: { messaging_product: "whatsapp", metadata, statuses } })
        }
        if (actions.length > 0) {
          changes.push({ field: "messages", value: { messaging_product: "whatsapp", metadata, user_actions: actions } })
        }
        return changes
      })
    }))
  }
}

/**
 * `MM_LITE_TERMS_SIGNED`: WABA-level when `wabaId` is given (entry id = the WABA), business-level otherwise
 * (only `owner_business_id`; entry id = that business).
 */
export const termsSignedWebhook = (ownerBusinessId: string, wabaId: string | undefined, timeSeconds: number) => ({
  object: "whatsapp_business_account",
  entry: [
    {
      id: wabaId ?? ownerBusinessId,
      time: timeSeconds,
      changes: [
        {
          field: "account_update",
          value: {
            event: "MM_LITE_TERMS_SIGNED",
            waba_info:
              wabaId === undefined
                ? { owner_business_id: ownerBusinessId }
                : { owner_business_id: ownerBusinessId, waba_id: wabaId }
          }
        }
      ]
    }
  ]
})
