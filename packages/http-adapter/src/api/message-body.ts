import { JSONSchema, ParseResult, Schema } from "effect"

/**
 * The Cloud API message body, validated with the rules that matter before anything is accepted
 * (digits-only international `to` or a BSUID `recipient`, template name and language, component shapes, size limits). Unknown
 * extra properties are kept and sent as they are: the provider is the authority on everything else.
 */

const describe = <S extends Schema.Schema.Any>(schema: S, message: string): S =>
  schema.annotations({ message: () => message }) as S

/** The recipient's number in international form: digits, optionally after a `+` (as Meta takes it and SDKs write it). */
export const RecipientTo = describe(
  Schema.String.pipe(Schema.pattern(/^\+?[1-9][0-9]{6,17}$/)),
  "must be the recipient's number in international form, digits only, optionally after a + (e.g. 16505551234 or +16505551234)"
)

/** The recipient's WhatsApp id: the number's digits, which the domain and the status webhooks use. */
export const recipientOf = (to: string): string => (to.startsWith("+") ? to.slice(1) : to)

/** The user's business-scoped user id (BSUID) or parent BSUID, as Meta's `recipient` takes it. */
export const RecipientBsuid = describe(
  Schema.String.pipe(Schema.pattern(/^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$/)),
  "must be a business-scoped user id: a country code, a dot and the id (e.g. US.13491208655302741918), or a parent BSUID (US.ENT.…)"
)

/**
 * Who the message is for, as the domain records it: the number when `to` is given (Meta lets `to` win
 * when both are), else the BSUID of `recipient`.
 */
export const userOf = (body: { readonly to?: string | undefined; readonly recipient?: string | undefined }): string =>
  body.to !== undefined ? recipientOf(body.to) : body.recipient!

const TemplateName = describe(
  Schema.String.pipe(Schema.pattern(/^[a-z0-9_]{1,512}$/)),
  "must be a template name: lower-case letters, digits and underscores, at most 512 characters"
)
const LanguageCode = describe(
  Schema.String.pipe(Schema.pattern(/^[a-zA-Z]{2,3}([_-][a-zA-Z0-9]{2,8})?$/)),
  "must be a language code such as en, en_US or pt_BR"
)

const Parameter = Schema.Struct({
  type: describe(
    Schema.Literal("text", "currency", "date_time", "image", "document", "video", "location", "payload", "action", "coupon_code", "order_status", "product"),
    "must be a Cloud API parameter type (text, currency, date_time, image, document, video, location, payload, action, coupon_code, …)"
  ),
  text: Schema.optional(describe(Schema.String.pipe(Schema.maxLength(32_768)), "must be a string of at most 32768 characters")),
  payload: Schema.optional(describe(Schema.String.pipe(Schema.maxLength(4_096)), "must be a string of at most 4096 characters"))
})

const Component = Schema.Struct({
  type: describe(
    Schema.Literal("header", "body", "footer", "button", "carousel", "limited_time_offer"),
    "must be header, body, footer, button, carousel or limited_time_offer"
  ),
  sub_type: Schema.optional(Schema.String),
  index: Schema.optional(Schema.Union(Schema.Number, Schema.String)),
  parameters: Schema.optional(Schema.Array(Parameter).pipe(Schema.maxItems(64)))
})

export const TemplateObject = Schema.Struct({
  name: TemplateName,
  language: Schema.Struct({
    code: LanguageCode,
    policy: Schema.optional(Schema.Literal("deterministic"))
  }),
  components: Schema.optional(Schema.Array(Component).pipe(Schema.maxItems(32)))
})

export const MessageType = describe(
  Schema.Literal("template", "text", "image", "video", "audio", "document", "sticker", "location", "contacts", "interactive", "reaction"),
  "must be a Cloud API message type (template, text, image, video, audio, document, sticker, location, contacts, interactive, reaction)"
)

const messageFields = {
  messaging_product: Schema.optional(describe(Schema.Literal("whatsapp"), "must be \"whatsapp\"")),
  recipient_type: Schema.optional(describe(Schema.Literal("individual"), "must be \"individual\"")),
  to: Schema.optional(RecipientTo),
  recipient: Schema.optional(RecipientBsuid),
  type: MessageType,
  template: Schema.optional(TemplateObject),
  text: Schema.optional(Schema.Struct({
    body: describe(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4_096)), "must be 1 to 4096 characters"),
    preview_url: Schema.optional(Schema.Boolean)
  })),
  biz_opaque_callback_data: Schema.optional(describe(Schema.String.pipe(Schema.maxLength(512)), "must be a string of at most 512 characters"))
}

const typedContent = <
  A extends { readonly type: string; readonly template?: unknown; readonly text?: unknown; readonly to?: unknown; readonly recipient?: unknown }
>(body: A) => {
  if (body.to === undefined && body.recipient === undefined) {
    return { path: ["to"], message: "is missing: name the user by to (a number) or by recipient (a BSUID)" }
  }
  if (body.type === "template" && body.template === undefined) return { path: ["template"], message: "is required when type is \"template\"" }
  if (body.type === "text" && body.text === undefined) return { path: ["text"], message: "is required when type is \"text\"" }
  if (body.type !== "template" && body.template !== undefined) return { path: ["template"], message: "is only allowed when type is \"template\"" }
  const content = (body as Record<string, unknown>)[body.type]
  if (body.type !== "template" && body.type !== "text" && (content === undefined || content === null)) {
    return { path: [body.type], message: `is required when type is "${body.type}"` }
  }
  return true
}

/** `POST /v1/channels/{id}/messages`: a Cloud API body. */
export const CloudMessageBody = Schema.Struct(messageFields).pipe(Schema.filter(typedContent))
export type CloudMessageBody = typeof CloudMessageBody.Type

/** `POST /v1/channels/{id}/marketing_messages`: the same, plus the MM API's own fields. */
export const MarketingMessageBody = Schema.Struct({
  ...messageFields,
  product_policy: Schema.optional(describe(Schema.Literal("CLOUD_API_FALLBACK", "STRICT"), "must be CLOUD_API_FALLBACK or STRICT")),
  message_activity_sharing: Schema.optional(describe(Schema.Boolean, "must be a boolean"))
}).pipe(Schema.filter(typedContent))
export type MarketingMessageBody = typeof MarketingMessageBody.Type

/**
 * A status update on the drop-in `/messages` (docs/api.md#status-updates): a read receipt for a message
 * the business received, with a typing indicator or not — what SDKs' `markAsRead` posts. The gateway
 * relays it to the channel's provider.
 */
export const StatusUpdateBody = Schema.Struct({
  messaging_product: describe(Schema.Literal("whatsapp"), "must be \"whatsapp\""),
  status: describe(Schema.Literal("read"), "must be \"read\" (a read receipt; the drop-in path takes no other status update)"),
  message_id: describe(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512)),
    "must be the id (wamid) of a message the business received, at most 512 characters"
  ),
  typing_indicator: Schema.optional(Schema.Struct({ type: describe(Schema.Literal("text"), "must be \"text\"") }))
})
export type StatusUpdateBody = typeof StatusUpdateBody.Type

/** A body with `status` and no `type`: a status update, not a message. */
export const looksLikeStatusUpdate = (input: unknown): boolean =>
  typeof input === "object" && input !== null && !Array.isArray(input) && Object.hasOwn(input, "status") && !Object.hasOwn(input, "type")

const messagesBodies = Schema.Union(CloudMessageBody, StatusUpdateBody)
export type DropInMessagesBody = typeof messagesBodies.Type

/**
 * The drop-in `/messages`: a message, or a status update (`looksLikeStatusUpdate`). The body is
 * decoded as the one it looks like, so a problem is named as that one's (`Param to …` for a bad
 * message, `Param message_id …` for a bad status update), not as a union's mix of both; the OpenAPI
 * document shows both shapes.
 */
const { $schema: _, ...messagesBodiesJsonSchema } = JSONSchema.make(messagesBodies)

export const DropInMessagesBody = Schema.transformOrFail(
  Schema.Unknown,
  Schema.declare((u: unknown): u is DropInMessagesBody => typeof u === "object" && u !== null),
  {
    strict: true,
    decode: (input, options) =>
      looksLikeStatusUpdate(input) ? ParseResult.decodeUnknown(StatusUpdateBody)(input, options) : ParseResult.decodeUnknown(CloudMessageBody)(input, options),
    encode: (body) => ParseResult.succeed(body)
  }
).annotations({ jsonSchema: messagesBodiesJsonSchema })

export const isStatusUpdate = (body: DropInMessagesBody | MarketingMessageBody): body is StatusUpdateBody => looksLikeStatusUpdate(body)
