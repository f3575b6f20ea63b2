/** The domain's ids, branded: `WabaId.make("102290129340398")` checks the digits and brands the string. */
import { Schema } from "effect"

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
