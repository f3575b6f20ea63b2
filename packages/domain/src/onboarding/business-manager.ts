import { Match, Schema } from "effect"
import { accept, type Decider, nothing, reject } from "../shared/decider.js"
import { NotRegistered } from "../shared/errors.js"
import { BusinessManagerId } from "../shared/ids.js"
import { EpochMillis } from "../shared/time.js"

// ---- commands ----------------------------------------------------------------------------------

/** The operator registers or renames a Business Manager (`PUT /v1/business-managers/{id}`). */
export const RegisterBusinessManager = Schema.TaggedStruct("RegisterBusinessManager", {
  businessManagerId: BusinessManagerId,
  name: Schema.NullOr(Schema.String),
  at: EpochMillis
})
/** A webhook named a Business Manager (`owner_business_id`): make sure a record exists. */
export const DiscoverBusinessManager = Schema.TaggedStruct("DiscoverBusinessManager", {
  businessManagerId: BusinessManagerId,
  at: EpochMillis
})
export const IssueOnboardingInvitation = Schema.TaggedStruct("IssueOnboardingInvitation", {
  businessManagerId: BusinessManagerId,
  link: Schema.String,
  at: EpochMillis
})
/**
 * What Meta's Intent API answered when the partner asked it to invite the Business Manager's admins
 * to accept the MM API terms (`POST /{END_BUSINESS_ID}/onboard_partners_to_mm_lite`): its `request_id`,
 * or — Meta's duplicate answer (1752041) — that the business has already been invited (`requestId` null).
 */
export const RecordMetaOnboardingRequest = Schema.TaggedStruct("RecordMetaOnboardingRequest", {
  businessManagerId: BusinessManagerId,
  requestId: Schema.NullOr(Schema.String),
  alreadyInvited: Schema.Boolean,
  solutionId: Schema.NullOr(Schema.String),
  at: EpochMillis
})
/** `MM_LITE_TERMS_SIGNED` carrying only `owner_business_id`: the terms cover the whole Business Manager. */
export const RecordBusinessTermsSigned = Schema.TaggedStruct("RecordBusinessTermsSigned", {
  businessManagerId: BusinessManagerId,
  signedAt: EpochMillis,
  at: EpochMillis
})
export const BusinessManagerCommand = Schema.Union(
  RegisterBusinessManager,
  DiscoverBusinessManager,
  IssueOnboardingInvitation,
  RecordMetaOnboardingRequest,
  RecordBusinessTermsSigned
)
export type BusinessManagerCommand = typeof BusinessManagerCommand.Type

// ---- events ------------------------------------------------------------------------------------

export const BusinessManagerRegistered = Schema.TaggedStruct("BusinessManagerRegistered", {
  businessManagerId: BusinessManagerId,
  name: Schema.NullOr(Schema.String),
  via: Schema.Literal("operator", "webhook"),
  at: EpochMillis
})
export const BusinessManagerRenamed = Schema.TaggedStruct("BusinessManagerRenamed", {
  businessManagerId: BusinessManagerId,
  name: Schema.NullOr(Schema.String),
  at: EpochMillis
})
export const OnboardingInvitationIssued = Schema.TaggedStruct("OnboardingInvitationIssued", {
  businessManagerId: BusinessManagerId,
  link: Schema.String,
  at: EpochMillis
})
/** Meta took the partner's onboarding request (`requestId`), or said the business was already invited. */
export const MetaOnboardingRequested = Schema.TaggedStruct("MetaOnboardingRequested", {
  businessManagerId: BusinessManagerId,
  requestId: Schema.NullOr(Schema.String),
  alreadyInvited: Schema.Boolean,
  solutionId: Schema.NullOr(Schema.String),
  at: EpochMillis
})
export const BusinessTermsSigned = Schema.TaggedStruct("BusinessTermsSigned", {
  businessManagerId: BusinessManagerId,
  signedAt: EpochMillis,
  at: EpochMillis
})
export const BusinessManagerEvent = Schema.Union(
  BusinessManagerRegistered,
  BusinessManagerRenamed,
  OnboardingInvitationIssued,
  MetaOnboardingRequested,
  BusinessTermsSigned
)
export type BusinessManagerEvent = typeof BusinessManagerEvent.Type

// ---- state -------------------------------------------------------------------------------------

/** The latest onboarding request made through Meta's Intent API, as Meta answered it. */
export interface MetaOnboardingRequest {
  /** Meta's `request_id`; `null` when Meta answered that the business was already invited (1752041). */
  readonly requestId: string | null
  readonly alreadyInvited: boolean
  readonly solutionId: string | null
  readonly at: number
}

export interface BusinessManagerState {
  readonly registered: boolean
  readonly name: string | null
  /** The latest invitation of either kind: a link handed out, or a request through Meta's Intent API. */
  readonly invitedAt: number | null
  /** The latest request through Meta's Intent API (absent in states stored before there was one). */
  readonly metaRequest?: MetaOnboardingRequest | null
  /** Earliest business-level `MM_LITE_TERMS_SIGNED` seen (webhook time). */
  readonly termsSignedAt: number | null
}

export const initialState = (): BusinessManagerState => ({
  registered: false,
  name: null,
  invitedAt: null,
  metaRequest: null,
  termsSignedAt: null
})

const latest = (at: number | null, next: number): number => at === null ? next : Math.max(at, next)

export const evolve = (state: BusinessManagerState, event: BusinessManagerEvent): BusinessManagerState =>
  Match.value(event).pipe(
    Match.tagsExhaustive({
      BusinessManagerRegistered: (e) => ({ ...state, registered: true, name: e.name }),
      BusinessManagerRenamed: (e) => ({ ...state, name: e.name }),
      OnboardingInvitationIssued: (e) => ({ ...state, invitedAt: latest(state.invitedAt, e.at) }),
      MetaOnboardingRequested: (e) => ({
        ...state,
        invitedAt: latest(state.invitedAt, e.at),
        metaRequest: { requestId: e.requestId, alreadyInvited: e.alreadyInvited, solutionId: e.solutionId, at: e.at }
      }),
      BusinessTermsSigned: (e) => ({
        ...state,
        registered: true,
        termsSignedAt: state.termsSignedAt === null ? e.signedAt : Math.min(state.termsSignedAt, e.signedAt)
      })
    })
  )

export const decide = (command: BusinessManagerCommand, state: BusinessManagerState) =>
  Match.value(command).pipe(
    Match.tagsExhaustive({
      RegisterBusinessManager: (c) => {
        if (!state.registered) {
          return accept(BusinessManagerRegistered.make({
            businessManagerId: c.businessManagerId,
            name: c.name,
            via: "operator",
            at: c.at
          }))
        }
        return c.name === null || c.name === state.name
          ? nothing
          : accept(BusinessManagerRenamed.make({ businessManagerId: c.businessManagerId, name: c.name, at: c.at }))
      },
      DiscoverBusinessManager: (c) =>
        state.registered
          ? nothing
          : accept(BusinessManagerRegistered.make({
            businessManagerId: c.businessManagerId,
            name: null,
            via: "webhook",
            at: c.at
          })),
      IssueOnboardingInvitation: (c) => {
        if (!state.registered) return reject(new NotRegistered({ entity: "business_manager", id: c.businessManagerId }))
        return state.invitedAt !== null && state.invitedAt >= c.at
          ? nothing
          : accept(OnboardingInvitationIssued.make({ businessManagerId: c.businessManagerId, link: c.link, at: c.at }))
      },
      RecordMetaOnboardingRequest: (c) => {
        if (!state.registered) return reject(new NotRegistered({ entity: "business_manager", id: c.businessManagerId }))
        const last = state.metaRequest ?? null
        // An older answer changes nothing; Meta answering again with the same request is the same fact.
        if (last !== null && (last.at >= c.at || (last.requestId === c.requestId && last.alreadyInvited === c.alreadyInvited && last.solutionId === c.solutionId))) {
          return nothing
        }
        return accept(MetaOnboardingRequested.make({
          businessManagerId: c.businessManagerId,
          requestId: c.requestId,
          alreadyInvited: c.alreadyInvited,
          solutionId: c.solutionId,
          at: c.at
        }))
      },
      RecordBusinessTermsSigned: (c) => {
        if (state.termsSignedAt !== null && state.termsSignedAt <= c.signedAt) return nothing
        const signed = BusinessTermsSigned.make({ businessManagerId: c.businessManagerId, signedAt: c.signedAt, at: c.at })
        return state.registered
          ? accept(signed)
          : accept<BusinessManagerEvent>(
            BusinessManagerRegistered.make({ businessManagerId: c.businessManagerId, name: null, via: "webhook", at: c.at }),
            signed
          )
      }
    })
  )

export const BusinessManagerDecider: Decider<
  BusinessManagerCommand,
  BusinessManagerEvent,
  BusinessManagerState,
  NotRegistered
> = { decide, evolve, initialState }
