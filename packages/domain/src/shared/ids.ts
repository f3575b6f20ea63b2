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
/**
 * A business-scoped user id (BSUID): the user's country (ISO 3166 alpha-2), a dot, and the id
 * (`US.13491208655302741918`); a parent BSUID, shared by the businesses of a managed portfolio, has
 * `ENT.` before the id (`US.ENT.11815799212886844830`). Meta names users by it beside (or instead of)
 * their number (docs/domain.md#recipients).
 */
export const Bsuid = Schema.String.pipe(Schema.pattern(/^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$/), Schema.brand("Bsuid"))
export type Bsuid = typeof Bsuid.Type
/** How a message or a webhook names a WhatsApp user: by number or by BSUID. The two never look alike. */
export const UserRef = Schema.Union(RecipientNumber, Bsuid)
export type UserRef = typeof UserRef.Type
const isBsuidString = Schema.is(Bsuid)
/** Whether a user reference is a BSUID (else it is a number). */
export const isBsuid = (ref: string): ref is Bsuid => isBsuidString(ref)
/** The gateway's own message id, also sent to the provider as `biz_opaque_callback_data`. */
export const MessageId = NonEmpty.pipe(Schema.brand("MessageId"))
export type MessageId = typeof MessageId.Type
/** Meta's message id, returned by the send call and named by every status webhook. */
export const Wamid = NonEmpty.pipe(Schema.maxLength(512), Schema.brand("Wamid"))
export type Wamid = typeof Wamid.Type
export const CampaignId = NonEmpty.pipe(Schema.brand("CampaignId"))
export type CampaignId = typeof CampaignId.Type
