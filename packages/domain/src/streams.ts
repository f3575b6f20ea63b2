import type { ChannelCommand, ChannelError, ChannelEvent, ChannelState } from "./channels/channel.js"
import { ChannelDecider } from "./channels/channel.js"
import type { UserActionCommand, UserActionEvent, UserActionState } from "./clicks/user-action.js"
import { UserActionDecider, userActionKey } from "./clicks/user-action.js"
import type { MessageCommand, MessageError, MessageEvent, MessageState } from "./lifecycle/message.js"
import { MessageDecider } from "./lifecycle/message.js"
import type { BusinessManagerCommand, BusinessManagerEvent, BusinessManagerState } from "./onboarding/business-manager.js"
import { BusinessManagerDecider } from "./onboarding/business-manager.js"
import type { WabaCommand, WabaEvent, WabaState } from "./onboarding/waba.js"
import { WabaDecider } from "./onboarding/waba.js"
import type { RecipientCommand, RecipientEvent, RecipientState } from "./recipients/recipient.js"
import { RecipientDecider } from "./recipients/recipient.js"
import type { PartnerSettingsCommand, PartnerSettingsEvent, PartnerSettingsState } from "./settings/partner-settings.js"
import { PartnerSettingsDecider } from "./settings/partner-settings.js"
import type { Decider } from "./shared/decider.js"
import type { NotRegistered, TtlOutOfRange, WabaOwnedByAnotherBusinessManager } from "./shared/errors.js"
import type { TemplateCommand, TemplateEvent, TemplateState } from "./templates/template.js"
import { TemplateDecider } from "./templates/template.js"

/**
 * A stream kind: its decider, how its stream ids are spelled (`<Category>-<key>`), and the shape of its
 * stored snapshots — raise `snapshotSchema` whenever the state's shape changes, so snapshots of the old
 * shape are folded from the events again instead of being read as the new one.
 */
export interface StreamKind<Command, Event, State, Error> {
  readonly category: string
  readonly decider: Decider<Command, Event, State, Error>
  readonly snapshotSchema: number
}

const kind = <Command, Event, State, Error>(
  category: string,
  decider: Decider<Command, Event, State, Error>,
  snapshotSchema = 1
): StreamKind<Command, Event, State, Error> => ({ category, decider, snapshotSchema })

// Snapshot schema 2: the state keeps the latest request through Meta's Intent API.
export const BusinessManagerStream = kind<BusinessManagerCommand, BusinessManagerEvent, BusinessManagerState, NotRegistered>(
  "BusinessManager",
  BusinessManagerDecider,
  2
)
// Snapshot schema 3: the state keeps the status last read from Meta, when a read was asked for, and
// when a read of the template list was asked for.
export const WabaStream = kind<WabaCommand, WabaEvent, WabaState, NotRegistered | WabaOwnedByAnotherBusinessManager>(
  "Waba",
  WabaDecider,
  3
)
export const ChannelStream = kind<ChannelCommand, ChannelEvent, ChannelState, ChannelError>("Channel", ChannelDecider)
export const PartnerSettingsStream = kind<PartnerSettingsCommand, PartnerSettingsEvent, PartnerSettingsState, never>(
  "PartnerSettings",
  PartnerSettingsDecider
)
export const TemplateStream = kind<TemplateCommand, TemplateEvent, TemplateState, TtlOutOfRange>("Template", TemplateDecider)
export const MessageStream = kind<MessageCommand, MessageEvent, MessageState, MessageError>("Message", MessageDecider)
// Snapshot schema 2: the state names the identifiers linked to it (`sameAs`).
export const RecipientStream = kind<RecipientCommand, RecipientEvent, RecipientState, never>("Recipient", RecipientDecider, 2)
export const UserActionStream = kind<UserActionCommand, UserActionEvent, UserActionState, never>("UserAction", UserActionDecider)

/** Stream ids, one function per stream kind. */
export const streamId = {
  businessManager: (businessManagerId: string) => `BusinessManager-${businessManagerId}`,
  waba: (wabaId: string) => `Waba-${wabaId}`,
  channel: (phoneNumberId: string) => `Channel-${phoneNumberId}`,
  partnerSettings: () => "PartnerSettings-partner",
  template: (wabaId: string, name: string, language: string) => `Template-${wabaId}:${name}:${language}`,
  message: (messageId: string) => `Message-${messageId}`,
  recipient: (wabaId: string, recipient: string) => `Recipient-${wabaId}:${recipient}`,
  userAction: (channel: string, actionType: string, clickId: string | null, trackingToken: string | null, occurredAt: number) =>
    `UserAction-${userActionKey(channel, actionType, clickId, trackingToken, occurredAt)}`
} as const

/** The category part of a stream id (`Message-abc` → `Message`). */
export const categoryOf = (id: string): string => {
  const dash = id.indexOf("-")
  return dash === -1 ? id : id.slice(0, dash)
}

/** Every stream kind by its category: for code that routes a `StreamCommand`, and for rebuilding snapshots from the log. */
export const streamKinds = {
  BusinessManager: BusinessManagerStream,
  Waba: WabaStream,
  Channel: ChannelStream,
  PartnerSettings: PartnerSettingsStream,
  Template: TemplateStream,
  Message: MessageStream,
  Recipient: RecipientStream,
  UserAction: UserActionStream
} as const
export type StreamCategory = keyof typeof streamKinds

type CommandOf<K> = K extends StreamKind<infer Command, infer _Event, infer _State, infer _Error> ? Command : never

/**
 * A command addressed to one stream: its kind (`stream`), the stream's id (built with `streamId.*`)
 * and the command. What a process manager (`reactionsTo`) or an adapter (the webhook decoder) hands
 * to `handleStreamCommand`. `StreamCommand<"Waba">` narrows it to the kinds named.
 */
export type StreamCommand<Category extends StreamCategory = StreamCategory> = {
  readonly [K in Category]: { readonly stream: K; readonly streamId: string; readonly command: CommandOf<(typeof streamKinds)[K]> }
}[Category]
