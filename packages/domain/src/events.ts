import { Schema } from "effect"
import { ChannelEvent } from "./channels/channel.js"
import { UserActionEvent } from "./clicks/user-action.js"
import { MessageEvent } from "./lifecycle/message.js"
import { BusinessManagerEvent } from "./onboarding/business-manager.js"
import { WabaEvent } from "./onboarding/waba.js"
import { RecipientEvent } from "./recipients/recipient.js"
import { PartnerSettingsEvent } from "./settings/partner-settings.js"
import { TemplateEvent } from "./templates/template.js"

/** Every event of every stream. `_tag` is the stored event type. */
export const DomainEvent = Schema.Union(
  BusinessManagerEvent,
  WabaEvent,
  ChannelEvent,
  PartnerSettingsEvent,
  TemplateEvent,
  MessageEvent,
  RecipientEvent,
  UserActionEvent
)
export type DomainEvent = typeof DomainEvent.Type
export type DomainEventType = DomainEvent["_tag"]

/**
 * The schema version stored beside each event. Bump an event's version when its shape changes and
 * teach `upcast` to read the old one; stored events are never rewritten.
 */
export const EVENT_SCHEMA_VERSION = 1

/** The JSON form of an event as stored: `Schema.encode` of the event, its type and schema version. */
export interface EncodedEvent {
  readonly type: string
  readonly schemaVersion: number
  readonly data: unknown
}

const encodeSync = Schema.encodeSync(DomainEvent)
const decodeUnknownSync = Schema.decodeUnknownSync(DomainEvent)
const decodeEither = Schema.decodeUnknownEither(DomainEvent)

export const encodeEvent = (event: DomainEvent): EncodedEvent => ({
  type: event._tag,
  schemaVersion: EVENT_SCHEMA_VERSION,
  data: encodeSync(event)
})

/** Bring an older stored shape up to the current one (identity while every event is at version 1). */
const upcast = (encoded: EncodedEvent): unknown => encoded.data

/** Decodes a stored event; a stored event that no longer decodes is a defect, not a domain error. */
export const decodeEvent = (encoded: EncodedEvent): DomainEvent => decodeUnknownSync(upcast(encoded))

export const decodeEventEither = (encoded: EncodedEvent) => decodeEither(upcast(encoded))
