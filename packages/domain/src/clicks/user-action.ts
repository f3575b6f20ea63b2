import { Match, Schema } from "effect"
import { accept, type Decider, nothing } from "../shared/decider.js"
import { PhoneNumberId } from "../shared/ids.js"
import { EpochMillis } from "../shared/time.js"

/** The action type Meta uses for a link click in a marketing message; other types are kept as their own kind. */
const LINK_CLICK = "marketing_messages_link_click"

export const UserActionKind = Schema.Literal("link_click", "other")
export type UserActionKind = typeof UserActionKind.Type

const kindOf = (actionType: string): UserActionKind => actionType === LINK_CLICK ? "link_click" : "other"

/**
 * The natural key of a user action: (channel, action type, `click_id`, falling back to `tracking_token`).
 * A `landing_page_view` repeats its click's ids, so the action type is part of the key.
 */
export const userActionKey = (
  channel: string,
  actionType: string,
  clickId: string | null,
  trackingToken: string | null,
  occurredAt: number
): string => `${channel}:${actionType}:${clickId !== null ? `c:${clickId}` : trackingToken !== null ? `t:${trackingToken}` : `at:${occurredAt}`}`

export const RecordUserAction = Schema.TaggedStruct("RecordUserAction", {
  channel: PhoneNumberId,
  actionType: Schema.String,
  clickId: Schema.NullOr(Schema.String),
  trackingToken: Schema.NullOr(Schema.String),
  component: Schema.NullOr(Schema.String),
  productId: Schema.NullOr(Schema.String),
  occurredAt: EpochMillis,
  at: EpochMillis
})
export const UserActionCommand = Schema.Union(RecordUserAction)
export type UserActionCommand = typeof UserActionCommand.Type

export const UserActionRecorded = Schema.TaggedStruct("UserActionRecorded", {
  channel: PhoneNumberId,
  actionType: Schema.String,
  kind: UserActionKind,
  clickId: Schema.NullOr(Schema.String),
  trackingToken: Schema.NullOr(Schema.String),
  /** `click_component`, lower-cased (Meta documents `cta`/`body`; real payloads say `CTA`). */
  component: Schema.NullOr(Schema.String),
  productId: Schema.NullOr(Schema.String),
  occurredAt: EpochMillis,
  at: EpochMillis
})
export const UserActionEvent = Schema.Union(UserActionRecorded)
export type UserActionEvent = typeof UserActionEvent.Type

export interface UserActionState {
  readonly recorded: boolean
}

export const initialState = (): UserActionState => ({ recorded: false })

export const evolve = (_state: UserActionState, _event: UserActionEvent): UserActionState => ({ recorded: true })

export const decide = (command: UserActionCommand, state: UserActionState) =>
  Match.value(command).pipe(
    Match.tagsExhaustive({
      RecordUserAction: (c) =>
        state.recorded
          ? nothing
          : accept(UserActionRecorded.make({
            channel: c.channel,
            actionType: c.actionType,
            kind: kindOf(c.actionType),
            clickId: c.clickId,
            trackingToken: c.trackingToken,
            component: c.component === null ? null : c.component.toLowerCase(),
            productId: c.productId,
            occurredAt: c.occurredAt,
            at: c.at
          }))
    })
  )

export const UserActionDecider: Decider<UserActionCommand, UserActionEvent, UserActionState, never> = {
  decide,
  evolve,
  initialState
}
