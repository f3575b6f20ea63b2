import { Match, Schema } from "effect"
import { accept, type Decider, nothing } from "../shared/decider.js"
import { UserRef, WabaId } from "../shared/ids.js"
import { DAY_MS, EpochMillis } from "../shared/time.js"

/** After a 131049 (per-user marketing limit) Meta asks for at least 24 h before the next marketing message. */
const MARKETING_COOLDOWN_MS = DAY_MS

/**
 * A recipient stream is one user of one WABA as one identifier names them: a number or a BSUID. What
 * says two identifiers are the same user is an identity link (docs/domain.md#recipients).
 */
const RecipientKey = { wabaId: WabaId, recipient: UserRef }

/** Where Meta said two identifiers name one user: a status, `contacts[]`, an inbound message, a preference. */
export const IdentityLinkSource = Schema.Literal("status", "contacts", "inbound_message", "user_preferences")

export const MarketingPreferenceSource = Schema.Literal("error_131050", "user_preferences", "operator")

/** A recipient stopped (131050, `user_preferences` stop) or resumed marketing messages for a WABA. */
export const RecordMarketingPreference = Schema.TaggedStruct("RecordMarketingPreference", {
  ...RecipientKey,
  optedOut: Schema.Boolean,
  source: MarketingPreferenceSource,
  occurredAt: EpochMillis,
  at: EpochMillis
})
/** Meta refused a marketing message with 131049: start the 24 h cooldown from the failure's time. */
export const StartMarketingCooldown = Schema.TaggedStruct("StartMarketingCooldown", {
  ...RecipientKey,
  failedAt: EpochMillis,
  at: EpochMillis
})
/**
 * A webhook named this user by `recipient` and by `sameAs` together (a status with `recipient_id` and
 * `recipient_user_id`, `contacts[]` with `wa_id` and `user_id`): recorded on each of the two streams.
 */
export const LinkIdentity = Schema.TaggedStruct("LinkIdentity", {
  ...RecipientKey,
  sameAs: UserRef,
  source: IdentityLinkSource,
  at: EpochMillis
})
export const RecipientCommand = Schema.Union(RecordMarketingPreference, StartMarketingCooldown, LinkIdentity)
export type RecipientCommand = typeof RecipientCommand.Type

export const RecipientOptedOut = Schema.TaggedStruct("RecipientOptedOut", {
  ...RecipientKey,
  source: MarketingPreferenceSource,
  occurredAt: EpochMillis,
  at: EpochMillis
})
export const RecipientOptedIn = Schema.TaggedStruct("RecipientOptedIn", {
  ...RecipientKey,
  source: MarketingPreferenceSource,
  occurredAt: EpochMillis,
  at: EpochMillis
})
export const MarketingCooldownStarted = Schema.TaggedStruct("MarketingCooldownStarted", {
  ...RecipientKey,
  from: EpochMillis,
  until: EpochMillis,
  at: EpochMillis
})
export const RecipientIdentityLinked = Schema.TaggedStruct("RecipientIdentityLinked", {
  ...RecipientKey,
  sameAs: UserRef,
  source: IdentityLinkSource,
  at: EpochMillis
})
export const RecipientEvent = Schema.Union(RecipientOptedOut, RecipientOptedIn, MarketingCooldownStarted, RecipientIdentityLinked)
export type RecipientEvent = typeof RecipientEvent.Type

export interface RecipientState {
  readonly optedOut: boolean
  /** Time of the preference fact in force; older facts arriving late change nothing. */
  readonly preferenceAt: number | null
  readonly cooldownUntil: number | null
  /** The other identifiers known to name the same user, in the order they became known. */
  readonly sameAs: ReadonlyArray<UserRef>
}

export const initialState = (): RecipientState => ({ optedOut: false, preferenceAt: null, cooldownUntil: null, sameAs: [] })

export const evolve = (state: RecipientState, event: RecipientEvent): RecipientState =>
  Match.value(event).pipe(
    Match.tagsExhaustive({
      RecipientOptedOut: (e) => ({ ...state, optedOut: true, preferenceAt: e.occurredAt }),
      RecipientOptedIn: (e) => ({ ...state, optedOut: false, preferenceAt: e.occurredAt }),
      MarketingCooldownStarted: (e) => ({ ...state, cooldownUntil: Math.max(state.cooldownUntil ?? 0, e.until) }),
      RecipientIdentityLinked: (e) => state.sameAs.includes(e.sameAs) ? state : { ...state, sameAs: [...state.sameAs, e.sameAs] }
    })
  )

/**
 * What holds for one user known under several identifiers: the states of the streams of every
 * identifier linked to it (directly or through others), combined as if all their facts had been
 * recorded on one stream — the newest preference wins (a stop wins a tie), the latest cooldown holds.
 */
export const combine = (states: ReadonlyArray<RecipientState>): RecipientState => {
  let combined = initialState()
  for (const s of states) {
    const newer = s.preferenceAt !== null &&
      (combined.preferenceAt === null || s.preferenceAt > combined.preferenceAt ||
        (s.preferenceAt === combined.preferenceAt && s.optedOut))
    combined = {
      optedOut: newer ? s.optedOut : combined.optedOut,
      preferenceAt: newer ? s.preferenceAt : combined.preferenceAt,
      cooldownUntil: s.cooldownUntil === null ? combined.cooldownUntil : Math.max(combined.cooldownUntil ?? 0, s.cooldownUntil),
      sameAs: [...combined.sameAs, ...s.sameAs.filter((id) => !combined.sameAs.includes(id))]
    }
  }
  return combined
}

export const isInMarketingCooldown = (state: RecipientState, now: number): boolean =>
  state.cooldownUntil !== null && state.cooldownUntil > now

export const decide = (command: RecipientCommand, state: RecipientState) =>
  Match.value(command).pipe(
    Match.tagsExhaustive({
      RecordMarketingPreference: (c) => {
        if (state.preferenceAt !== null && c.occurredAt < state.preferenceAt) return nothing
        // A stop and a resume of the same second: the stop wins, whatever the arrival order.
        if (state.preferenceAt !== null && c.occurredAt === state.preferenceAt && (state.optedOut || !c.optedOut)) return nothing
        // A newer preference is recorded even when it says what the state says, and the first one even
        // when it says "opted in": its time is what keeps an older opposite one, arriving later, from winning.
        const fields = { wabaId: c.wabaId, recipient: c.recipient, source: c.source, occurredAt: c.occurredAt, at: c.at }
        return accept<RecipientEvent>(c.optedOut ? RecipientOptedOut.make(fields) : RecipientOptedIn.make(fields))
      },
      StartMarketingCooldown: (c) => {
        const until = c.failedAt + MARKETING_COOLDOWN_MS
        return state.cooldownUntil !== null && state.cooldownUntil >= until
          ? nothing
          : accept<RecipientEvent>(MarketingCooldownStarted.make({
            wabaId: c.wabaId,
            recipient: c.recipient,
            from: c.failedAt,
            until,
            at: c.at
          }))
      },
      LinkIdentity: (c) =>
        c.sameAs === c.recipient || state.sameAs.includes(c.sameAs)
          ? nothing
          : accept<RecipientEvent>(RecipientIdentityLinked.make({ wabaId: c.wabaId, recipient: c.recipient, sameAs: c.sameAs, source: c.source, at: c.at }))
    })
  )

export const RecipientDecider: Decider<RecipientCommand, RecipientEvent, RecipientState, never> = {
  decide,
  evolve,
  initialState
}
