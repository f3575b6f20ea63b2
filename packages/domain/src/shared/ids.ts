import { Schema } from "effect"

/** Milliseconds since the Unix epoch. Every time in the domain arrives from outside (a command, a webhook). */
export const EpochMillis = Schema.Number.pipe(Schema.int(), Schema.nonNegative())
export type EpochMillis = typeof EpochMillis.Type

const Digits = Schema.String.pipe(Schema.pattern(/^[0-9]{1,32}$/))
const NonEmpty = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))

export const BusinessManagerId = Digits.pipe(Schema.brand("BusinessManagerId"))
export type BusinessManagerId = typeof BusinessManagerId.Type
export const WabaId = Digits.pipe(Schema.brand("WabaId"))
export type WabaId = typeof WabaId.Type
export const PhoneNumberId = Digits.pipe(Schema.brand("PhoneNumberId"))
export type PhoneNumberId = typeof PhoneNumberId.Type
/** A WhatsApp user's number in international form, digits only (e.g. `16505551234`). */
export const RecipientNumber = Schema.String.pipe(Schema.pattern(/^[1-9][0-9]{6,17}$/), Schema.brand("RecipientNumber"))
export type RecipientNumber = typeof RecipientNumber.Type
/** The gateway's own message id, also sent to the provider as `biz_opaque_callback_data`. */
export const MessageId = NonEmpty.pipe(Schema.brand("MessageId"))
export type MessageId = typeof MessageId.Type
/** Meta's message id, returned by the send call and named by every status webhook. */
export const Wamid = NonEmpty.pipe(Schema.maxLength(512), Schema.brand("Wamid"))
export type Wamid = typeof Wamid.Type
export const CampaignId = NonEmpty.pipe(Schema.brand("CampaignId"))
export type CampaignId = typeof CampaignId.Type

export const TemplateCategory = Schema.Literal("MARKETING", "UTILITY", "AUTHENTICATION")
export type TemplateCategory = typeof TemplateCategory.Type

export const Route = Schema.Literal("marketing_messages", "cloud_api")
export type Route = typeof Route.Type

export const Endpoint = Schema.Literal("messages", "marketing_messages")
export type Endpoint = typeof Endpoint.Type

export const ProductPolicy = Schema.Literal("CLOUD_API_FALLBACK", "STRICT")
export type ProductPolicy = typeof ProductPolicy.Type

export const Provider = Schema.Literal("360dialog", "meta", "sandbox")
export type Provider = typeof Provider.Type

export const ChannelRouting = Schema.Literal("inherit", "marketing_messages", "cloud_api")
export type ChannelRouting = typeof ChannelRouting.Type

/** A provider error as Meta describes it (`code`, `title`, `message`, `error_data.details`). */
export const ProviderError = Schema.Struct({
  code: Schema.Int,
  title: Schema.NullOr(Schema.String),
  message: Schema.NullOr(Schema.String),
  details: Schema.NullOr(Schema.String)
})
export type ProviderError = typeof ProviderError.Type

export const HOUR_MS = 3_600_000
export const DAY_MS = 24 * HOUR_MS

/** A JSON value, as carried in a request body. */
export const Json = Schema.Unknown.annotations({
  identifier: "Json",
  arbitrary: () => (fc) => fc.json().map((text) => JSON.parse(text) as unknown)
})
