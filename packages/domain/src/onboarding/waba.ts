import { Match, Schema } from "effect"
import { accept, type Decider, nothing, reject } from "../shared/decider.js"
import { NotRegistered, WabaOwnedByAnotherBusinessManager } from "../shared/errors.js"
import { BusinessManagerId, WabaId } from "../shared/ids.js"
import { EpochMillis } from "../shared/time.js"

/** What suspends a WABA: business-initiated messaging restricted, disabled, partner removed, deleted; or an operator. */
export const SuspensionKind = Schema.Literal(
  "account_restriction",
  "disabled",
  "partner_removed",
  "account_deleted",
  "manual"
)
export type SuspensionKind = typeof SuspensionKind.Type

export const ManualMmStatus = Schema.Literal("onboarded", "not_onboarded", "suspended")
export type ManualMmStatus = typeof ManualMmStatus.Type

// ---- commands ----------------------------------------------------------------------------------

export const RegisterWaba = Schema.TaggedStruct("RegisterWaba", {
  wabaId: WabaId,
  businessManagerId: BusinessManagerId,
  name: Schema.NullOr(Schema.String),
  at: EpochMillis
})
/** `MM_LITE_TERMS_SIGNED` with `waba_info.waba_id`: this WABA (only) accepted the MM API terms. */
export const RecordWabaTermsSigned = Schema.TaggedStruct("RecordWabaTermsSigned", {
  wabaId: WabaId,
  ownerBusinessId: Schema.NullOr(BusinessManagerId),
  signedAt: EpochMillis,
  at: EpochMillis
})
/** A webhook that suspends the WABA; `occurredAt` is the webhook's `entry[].time`. */
export const RecordSuspension = Schema.TaggedStruct("RecordSuspension", {
  wabaId: WabaId,
  kind: SuspensionKind.pipe(Schema.pickLiteral("account_restriction", "disabled", "partner_removed", "account_deleted")),
  occurredAt: EpochMillis,
  /** Restrictions carry an end; when it passes the suspension ends by itself. */
  expiresAt: Schema.NullOr(EpochMillis),
  at: EpochMillis
})
/** A webhook that ends a suspension: `DISABLED_UPDATE` REINSTATE, `PARTNER_ADDED`. */
export const RecordReinstatement = Schema.TaggedStruct("RecordReinstatement", {
  wabaId: WabaId,
  kind: SuspensionKind.pipe(Schema.pickLiteral("account_restriction", "disabled", "partner_removed")),
  occurredAt: EpochMillis,
  at: EpochMillis
})
export const SetMmStatusManually = Schema.TaggedStruct("SetMmStatusManually", {
  wabaId: WabaId,
  status: ManualMmStatus,
  reason: Schema.NullOr(Schema.String),
  at: EpochMillis
})
/** The provider answered that the MM API terms are not accepted (131055 "(#200) You must accept…"). */
export const RecordTermsNotAccepted = Schema.TaggedStruct("RecordTermsNotAccepted", {
  wabaId: WabaId,
  errorCode: Schema.Int,
  details: Schema.NullOr(Schema.String),
  at: EpochMillis
})
/**
 * What Meta's Graph API said of the WABA's `marketing_messages_onboarding_status` (and of its business
 * portfolio's, when read), at `readAt`. The values are an open set, kept as they are.
 */
export const RecordMetaOnboardingStatus = Schema.TaggedStruct("RecordMetaOnboardingStatus", {
  wabaId: WabaId,
  status: Schema.NullOr(Schema.String),
  businessStatus: Schema.NullOr(Schema.String),
  readAt: EpochMillis,
  at: EpochMillis
})
/** Someone (an operator, the owning tenant) asked for the status to be read from Meta now. */
export const RequestMetaStatusSync = Schema.TaggedStruct("RequestMetaStatusSync", {
  wabaId: WabaId,
  requestedBy: Schema.String,
  at: EpochMillis
})
/** Someone (an operator, the owning tenant) asked for the WABA's template list to be read from Meta now. */
export const RequestTemplateSync = Schema.TaggedStruct("RequestTemplateSync", {
  wabaId: WabaId,
  requestedBy: Schema.String,
  at: EpochMillis
})
export const WabaCommand = Schema.Union(
  RecordMetaOnboardingStatus,
  RequestMetaStatusSync,
  RequestTemplateSync,
  RegisterWaba,
  RecordWabaTermsSigned,
  RecordSuspension,
  RecordReinstatement,
  SetMmStatusManually,
  RecordTermsNotAccepted
)
export type WabaCommand = typeof WabaCommand.Type

// ---- events ------------------------------------------------------------------------------------

export const WabaRegistered = Schema.TaggedStruct("WabaRegistered", {
  wabaId: WabaId,
  businessManagerId: Schema.NullOr(BusinessManagerId),
  name: Schema.NullOr(Schema.String),
  via: Schema.Literal("operator", "webhook"),
  at: EpochMillis
})
export const WabaDetailsChanged = Schema.TaggedStruct("WabaDetailsChanged", {
  wabaId: WabaId,
  businessManagerId: Schema.NullOr(BusinessManagerId),
  name: Schema.NullOr(Schema.String),
  at: EpochMillis
})
export const WabaTermsSigned = Schema.TaggedStruct("WabaTermsSigned", {
  wabaId: WabaId,
  signedAt: EpochMillis,
  at: EpochMillis
})
export const WabaSuspended = Schema.TaggedStruct("WabaSuspended", {
  wabaId: WabaId,
  kind: SuspensionKind,
  occurredAt: EpochMillis,
  expiresAt: Schema.NullOr(EpochMillis),
  at: EpochMillis
})
export const WabaReinstated = Schema.TaggedStruct("WabaReinstated", {
  wabaId: WabaId,
  kind: SuspensionKind,
  occurredAt: EpochMillis,
  at: EpochMillis
})
export const WabaMmStatusSetManually = Schema.TaggedStruct("WabaMmStatusSetManually", {
  wabaId: WabaId,
  status: ManualMmStatus,
  reason: Schema.NullOr(Schema.String),
  at: EpochMillis
})
export const WabaTermsNotAccepted = Schema.TaggedStruct("WabaTermsNotAccepted", {
  wabaId: WabaId,
  errorCode: Schema.Int,
  details: Schema.NullOr(Schema.String),
  at: EpochMillis
})
/** Meta's onboarding status changed from what the gateway last read (or was read for the first time). */
export const WabaMetaStatusRead = Schema.TaggedStruct("WabaMetaStatusRead", {
  wabaId: WabaId,
  status: Schema.NullOr(Schema.String),
  businessStatus: Schema.NullOr(Schema.String),
  readAt: EpochMillis,
  at: EpochMillis
})
export const WabaMetaSyncRequested = Schema.TaggedStruct("WabaMetaSyncRequested", {
  wabaId: WabaId,
  requestedBy: Schema.String,
  at: EpochMillis
})
export const WabaTemplateSyncRequested = Schema.TaggedStruct("WabaTemplateSyncRequested", {
  wabaId: WabaId,
  requestedBy: Schema.String,
  at: EpochMillis
})
export const WabaEvent = Schema.Union(
  WabaMetaStatusRead,
  WabaMetaSyncRequested,
  WabaTemplateSyncRequested,
  WabaRegistered,
  WabaDetailsChanged,
  WabaTermsSigned,
  WabaSuspended,
  WabaReinstated,
  WabaMmStatusSetManually,
  WabaTermsNotAccepted
)
export type WabaEvent = typeof WabaEvent.Type

// ---- state -------------------------------------------------------------------------------------

export type OnboardingSource = "waba_webhook" | "business_webhook" | "manual" | "provider_error" | "meta_api"

/** Meta's `marketing_messages_onboarding_status` values that say the WABA is not onboarded (the set is open). */
const META_NOT_ONBOARDED = /^(ELIGIBLE|INELIGIBLE_.+|PENDING_.+)$/

/**
 * What a status read from Meta says of onboarding: `ONBOARDED` is onboarded; `ELIGIBLE`, `INELIGIBLE_*`
 * and `PENDING_*` are not; any other value (unknown, or none) says nothing and is only shown.
 */
export const metaSaysOnboarded = (status: string | null): boolean | null =>
  status === "ONBOARDED" ? true : status !== null && META_NOT_ONBOARDED.test(status) ? false : null

/** The status last read from Meta: what it said, and when the gateway read it. */
export interface MetaStatus {
  readonly status: string | null
  readonly businessStatus: string | null
  readonly readAt: number
}

/** One fact about the terms, kept with its time so the status is a function of the set of facts. */
export interface OnboardingFact {
  readonly onboarded: boolean
  readonly source: OnboardingSource
  readonly at: number
  readonly reason: string | null
  /** Arrival order; breaks ties between facts of equal time. */
  readonly seq: number
}

export interface SuspensionFact {
  readonly action: "suspend" | "reinstate" | "clear_all"
  readonly kind: SuspensionKind
  readonly occurredAt: number
  readonly expiresAt: number | null
  readonly reason: string | null
  readonly seq: number
}

export interface WabaState {
  readonly known: boolean
  readonly businessManagerId: BusinessManagerId | null
  readonly name: string | null
  readonly onboarding: ReadonlyArray<OnboardingFact>
  readonly suspension: ReadonlyArray<SuspensionFact>
  readonly seq: number
  /** The status last read from Meta's Graph API (absent in states stored before it was read). */
  readonly meta?: MetaStatus | null
  /** When a read from Meta was last asked for (`POST /v1/wabas/{id}/mm-api-status/sync`). */
  readonly metaSyncRequestedAt?: number | null
  /** When a read of the template list from Meta was last asked for (`POST /v1/wabas/{id}/templates/sync`). */
  readonly templateSyncRequestedAt?: number | null
}

export const initialState = (): WabaState => ({
  known: false,
  businessManagerId: null,
  name: null,
  onboarding: [],
  suspension: [],
  seq: 0,
  meta: null,
  metaSyncRequestedAt: null,
  templateSyncRequestedAt: null
})

const addOnboarding = (state: WabaState, fact: Omit<OnboardingFact, "seq">): WabaState => ({
  ...state,
  known: true,
  onboarding: [...state.onboarding, { ...fact, seq: state.seq }],
  seq: state.seq + 1
})

const addSuspension = (state: WabaState, fact: Omit<SuspensionFact, "seq">): WabaState => ({
  ...state,
  known: true,
  suspension: [...state.suspension, { ...fact, seq: state.seq }],
  seq: state.seq + 1
})

export const evolve = (state: WabaState, event: WabaEvent): WabaState =>
  Match.value(event).pipe(
    Match.tagsExhaustive({
      WabaMetaStatusRead: (e) => {
        const read = { ...state, meta: { status: e.status, businessStatus: e.businessStatus, readAt: e.readAt } }
        const onboarded = metaSaysOnboarded(e.status)
        return onboarded === null
          ? read
          : addOnboarding(read, { onboarded, source: "meta_api", at: e.readAt, reason: `meta_${e.status}` })
      },
      WabaMetaSyncRequested: (e) => ({ ...state, metaSyncRequestedAt: e.at }),
      WabaTemplateSyncRequested: (e) => ({ ...state, templateSyncRequestedAt: e.at }),
      WabaRegistered: (e) => ({ ...state, known: true, businessManagerId: e.businessManagerId, name: e.name }),
      WabaDetailsChanged: (e) => ({ ...state, businessManagerId: e.businessManagerId, name: e.name }),
      WabaTermsSigned: (e) =>
        addOnboarding(state, { onboarded: true, source: "waba_webhook", at: e.signedAt, reason: null }),
      WabaTermsNotAccepted: (e) =>
        addOnboarding(state, { onboarded: false, source: "provider_error", at: e.at, reason: `provider_error_${e.errorCode}` }),
      WabaMmStatusSetManually: (e) => {
        // An operator's word is both an onboarding fact and, unless it says "suspended", the end of any suspension.
        const withSuspension = addSuspension(state, {
          action: e.status === "suspended" ? "suspend" : "clear_all",
          kind: "manual",
          occurredAt: e.at,
          expiresAt: null,
          reason: e.reason
        })
        return e.status === "suspended"
          ? withSuspension
          : addOnboarding(withSuspension, { onboarded: e.status === "onboarded", source: "manual", at: e.at, reason: e.reason })
      },
      WabaSuspended: (e) =>
        addSuspension(state, { action: "suspend", kind: e.kind, occurredAt: e.occurredAt, expiresAt: e.expiresAt, reason: e.kind }),
      WabaReinstated: (e) =>
        addSuspension(state, { action: "reinstate", kind: e.kind, occurredAt: e.occurredAt, expiresAt: null, reason: e.kind })
    })
  )

/** Make sure a WABA a webhook talks about exists, learning its Business Manager when the webhook names it. */
const discover = (
  state: WabaState,
  wabaId: WabaId,
  businessManagerId: BusinessManagerId | null,
  at: number
): ReadonlyArray<WabaEvent> => {
  if (!state.known) return [WabaRegistered.make({ wabaId, businessManagerId, name: null, via: "webhook", at })]
  if (state.businessManagerId === null && businessManagerId !== null) {
    return [WabaDetailsChanged.make({ wabaId, businessManagerId, name: state.name, at })]
  }
  return []
}

const latestOnboardingFact = (facts: ReadonlyArray<OnboardingFact>): OnboardingFact | undefined => {
  let latest: OnboardingFact | undefined
  for (const f of facts) {
    if (latest === undefined || f.at > latest.at || (f.at === latest.at && f.seq > latest.seq)) latest = f
  }
  return latest
}

export const decide = (command: WabaCommand, state: WabaState) =>
  Match.value(command).pipe(
    Match.tagsExhaustive({
      // Only what changed is recorded: a read that says what the last one said is nothing new.
      RecordMetaOnboardingStatus: (c) => {
        if (!state.known) return reject(new NotRegistered({ entity: "waba", id: c.wabaId }))
        const last = state.meta ?? null
        if (last !== null && (c.readAt <= last.readAt || (last.status === c.status && last.businessStatus === c.businessStatus))) {
          return nothing
        }
        return accept<WabaEvent>(WabaMetaStatusRead.make({
          wabaId: c.wabaId,
          status: c.status,
          businessStatus: c.businessStatus,
          readAt: c.readAt,
          at: c.at
        }))
      },
      RequestMetaStatusSync: (c) =>
        state.known
          ? accept<WabaEvent>(WabaMetaSyncRequested.make({ wabaId: c.wabaId, requestedBy: c.requestedBy, at: c.at }))
          : reject(new NotRegistered({ entity: "waba", id: c.wabaId })),
      RequestTemplateSync: (c) =>
        state.known
          ? accept<WabaEvent>(WabaTemplateSyncRequested.make({ wabaId: c.wabaId, requestedBy: c.requestedBy, at: c.at }))
          : reject(new NotRegistered({ entity: "waba", id: c.wabaId })),
      RegisterWaba: (c) => {
        if (!state.known) {
          return accept<WabaEvent>(WabaRegistered.make({
            wabaId: c.wabaId,
            businessManagerId: c.businessManagerId,
            name: c.name,
            via: "operator",
            at: c.at
          }))
        }
        if (state.businessManagerId !== null && state.businessManagerId !== c.businessManagerId) {
          return reject(new WabaOwnedByAnotherBusinessManager({
            wabaId: c.wabaId,
            businessManagerId: state.businessManagerId,
            requestedBusinessManagerId: c.businessManagerId
          }))
        }
        const name = c.name ?? state.name
        return state.businessManagerId === c.businessManagerId && name === state.name
          ? nothing
          : accept<WabaEvent>(WabaDetailsChanged.make({ wabaId: c.wabaId, businessManagerId: c.businessManagerId, name, at: c.at }))
      },
      RecordWabaTermsSigned: (c) => {
        const known = discover(state, c.wabaId, c.ownerBusinessId, c.at)
        const repeated = state.onboarding.some((f) => f.source === "waba_webhook" && f.at === c.signedAt)
        return accept<WabaEvent>(
          ...known,
          ...(repeated ? [] : [WabaTermsSigned.make({ wabaId: c.wabaId, signedAt: c.signedAt, at: c.at })])
        )
      },
      RecordSuspension: (c) => {
        const known = discover(state, c.wabaId, null, c.at)
        const repeated = state.suspension.some((f) =>
          f.action === "suspend" && f.kind === c.kind && f.occurredAt === c.occurredAt && f.expiresAt === c.expiresAt
        )
        return accept<WabaEvent>(
          ...known,
          ...(repeated ? [] : [WabaSuspended.make({
            wabaId: c.wabaId,
            kind: c.kind,
            occurredAt: c.occurredAt,
            expiresAt: c.expiresAt,
            at: c.at
          })])
        )
      },
      RecordReinstatement: (c) => {
        const known = discover(state, c.wabaId, null, c.at)
        const repeated = state.suspension.some((f) =>
          f.action === "reinstate" && f.kind === c.kind && f.occurredAt === c.occurredAt
        )
        return accept<WabaEvent>(
          ...known,
          ...(repeated ? [] : [WabaReinstated.make({ wabaId: c.wabaId, kind: c.kind, occurredAt: c.occurredAt, at: c.at })])
        )
      },
      SetMmStatusManually: (c) => {
        if (!state.known) return reject(new NotRegistered({ entity: "waba", id: c.wabaId }))
        const repeated = c.status === "suspended"
          ? state.suspension.some((f) =>
            f.kind === "manual" && f.action === "suspend" && f.occurredAt === c.at && f.reason === c.reason
          )
          : state.onboarding.some((f) =>
            f.source === "manual" && f.at === c.at && f.onboarded === (c.status === "onboarded") && f.reason === c.reason
          )
        return repeated
          ? nothing
          : accept<WabaEvent>(WabaMmStatusSetManually.make({ wabaId: c.wabaId, status: c.status, reason: c.reason, at: c.at }))
      },
      RecordTermsNotAccepted: (c) => {
        if (!state.known) return reject(new NotRegistered({ entity: "waba", id: c.wabaId }))
        // The same answer recorded again (a retried reaction) is nothing new, also when a newer fact
        // (a signature) is the latest one.
        const repeated = state.onboarding.some((f) => f.source === "provider_error" && f.at === c.at)
        // Many messages of one campaign fail the same way at once: record the fact once while it stands.
        const latest = latestOnboardingFact(state.onboarding)
        return repeated || (latest !== undefined && latest.source === "provider_error" && latest.at <= c.at)
          ? nothing
          : accept<WabaEvent>(WabaTermsNotAccepted.make({
            wabaId: c.wabaId,
            errorCode: c.errorCode,
            details: c.details,
            at: c.at
          }))
      }
    })
  )

export const WabaDecider: Decider<WabaCommand, WabaEvent, WabaState, NotRegistered | WabaOwnedByAnotherBusinessManager> = {
  decide,
  evolve,
  initialState
}
