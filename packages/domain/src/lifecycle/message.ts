import { Match, Schema } from "effect"
import { ProviderError } from "../dispatch/provider-gateway.js"
import { Endpoint, ProductPolicy, RejectionReason, Route, RouteReason, RouteWarning } from "../routing/decide-route.js"
import { accept, type Decider, nothing, reject } from "../shared/decider.js"
import { DispatchNotAllowed, IdempotencyKeyReused, NotRegistered, ResolutionNotAllowed, RouteRejected } from "../shared/errors.js"
import { CampaignId, MessageId, PhoneNumberId, UserRef, WabaId, Wamid } from "../shared/ids.js"
import { EpochMillis } from "../shared/time.js"
import { TemplateCategory } from "../templates/category.js"
import {
  type MessageStatus,
  observationKey,
  observedRoute,
  type Pricing,
  STATUS_PRECEDENCE,
  StatusObservation
} from "./status.js"

/** A JSON value, as carried in a request body. */
const Json = Schema.Unknown.annotations({
  identifier: "Json",
  arbitrary: () => (fc) => fc.json().map((text) => JSON.parse(text) as unknown)
})

export const TemplateRef = Schema.Struct({
  name: Schema.String,
  language: Schema.String,
  /** The category known when the message was accepted (`null` = unknown). */
  category: Schema.NullOr(TemplateCategory),
  ttlSeconds: Schema.NullOr(Schema.Int),
  /**
   * The time of the category fact the route was decided on (`null`: none was known). Absent in
   * messages requested before MessageRequested schema version 2.
   */
  categoryAt: Schema.optionalWith(Schema.NullOr(EpochMillis), { exact: true })
})
export type TemplateRef = typeof TemplateRef.Type

/** The route decision a message is requested with (see `decideRoute`). */
export const RouteDecisionSchema = Schema.Union(
  Schema.TaggedStruct("Routed", {
    route: Route,
    reasons: Schema.Array(RouteReason),
    warnings: Schema.Array(RouteWarning),
    productPolicy: Schema.NullOr(ProductPolicy),
    mmOptionsApply: Schema.Boolean
  }),
  Schema.TaggedStruct("Rejected", { reasons: Schema.Array(RejectionReason) })
)

/** What the worker decided after a failed attempt (from `classifyProviderOutcome` and the context). */
export const FailureOutcome = Schema.Union(
  Schema.TaggedStruct("RetryLater", { notBefore: EpochMillis }),
  Schema.TaggedStruct("Final", {}),
  Schema.TaggedStruct("Reroute", { to: Route, reason: Schema.String })
)
export type FailureOutcome = typeof FailureOutcome.Type

export const ProviderMessageStatus = Schema.Literal("accepted", "held_for_quality_assessment", "paused")

// ---- commands ----------------------------------------------------------------------------------

export const RequestMessage = Schema.TaggedStruct("RequestMessage", {
  messageId: MessageId,
  channel: PhoneNumberId,
  wabaId: WabaId,
  /** The user as the client named them: `to` (a number) when given, else `recipient` (a BSUID). */
  to: UserRef,
  endpoint: Endpoint,
  /** The Cloud API `type` of the body (`template`, `text`, …). */
  messageType: Schema.String,
  template: Schema.NullOr(TemplateRef),
  productPolicy: Schema.NullOr(ProductPolicy),
  messageActivitySharing: Schema.NullOr(Schema.Boolean),
  /** The client's own `biz_opaque_callback_data`, shown back to it; the gateway sends its message id instead. */
  clientCallbackData: Schema.NullOr(Schema.String),
  campaignId: Schema.NullOr(CampaignId),
  idempotencyKey: Schema.NullOr(Schema.String),
  /** Hash of the request as the client sent it: the same key with another body is refused. */
  requestHash: Schema.String,
  /** The API key (or admin) that sent it; idempotency keys are scoped to it. */
  requestedBy: Schema.String,
  /** The Cloud-API-shaped body to send (without the gateway's own fields). */
  payload: Json,
  decision: RouteDecisionSchema,
  at: EpochMillis
})
export const StartDispatch = Schema.TaggedStruct("StartDispatch", {
  messageId: MessageId,
  attempt: Schema.Int,
  at: EpochMillis
})
export const RecordDispatchSucceeded = Schema.TaggedStruct("RecordDispatchSucceeded", {
  messageId: MessageId,
  attempt: Schema.Int,
  wamid: Wamid,
  providerStatus: ProviderMessageStatus,
  at: EpochMillis
})
export const RecordDispatchFailed = Schema.TaggedStruct("RecordDispatchFailed", {
  messageId: MessageId,
  attempt: Schema.Int,
  httpStatus: Schema.NullOr(Schema.Int),
  error: Schema.NullOr(ProviderError),
  reason: Schema.String,
  outcome: FailureOutcome,
  at: EpochMillis
})
export const RecordDispatchOutcomeUnknown = Schema.TaggedStruct("RecordDispatchOutcomeUnknown", {
  messageId: MessageId,
  attempt: Schema.Int,
  reason: Schema.String,
  at: EpochMillis
})
/** The dispatch-unknown window passed with no webhook naming the message. */
export const MarkDispatchUnknown = Schema.TaggedStruct("MarkDispatchUnknown", {
  messageId: MessageId,
  at: EpochMillis
})
export const ResolveDispatch = Schema.TaggedStruct("ResolveDispatch", {
  messageId: MessageId,
  action: Schema.Literal("resend", "give_up"),
  by: Schema.String,
  at: EpochMillis
})
export const ObserveStatus = Schema.TaggedStruct("ObserveStatus", {
  messageId: MessageId,
  observation: StatusObservation,
  at: EpochMillis
})
export const ExpireMessage = Schema.TaggedStruct("ExpireMessage", {
  messageId: MessageId,
  at: EpochMillis
})
export const AttributeClick = Schema.TaggedStruct("AttributeClick", {
  messageId: MessageId,
  clickId: Schema.String,
  at: EpochMillis
})
export const MessageCommand = Schema.Union(
  RequestMessage,
  StartDispatch,
  RecordDispatchSucceeded,
  RecordDispatchFailed,
  RecordDispatchOutcomeUnknown,
  MarkDispatchUnknown,
  ResolveDispatch,
  ObserveStatus,
  ExpireMessage,
  AttributeClick
)
export type MessageCommand = typeof MessageCommand.Type

// ---- events ------------------------------------------------------------------------------------

export const MessageRequested = Schema.TaggedStruct("MessageRequested", {
  messageId: MessageId,
  channel: PhoneNumberId,
  wabaId: WabaId,
  /** The user as the client named them: `to` (a number) when given, else `recipient` (a BSUID). */
  to: UserRef,
  endpoint: Endpoint,
  messageType: Schema.String,
  template: Schema.NullOr(TemplateRef),
  productPolicy: Schema.NullOr(ProductPolicy),
  messageActivitySharing: Schema.NullOr(Schema.Boolean),
  clientCallbackData: Schema.NullOr(Schema.String),
  campaignId: Schema.NullOr(CampaignId),
  idempotencyKey: Schema.NullOr(Schema.String),
  requestHash: Schema.String,
  requestedBy: Schema.String,
  payload: Json,
  at: EpochMillis
})
export const MessageRouted = Schema.TaggedStruct("MessageRouted", {
  messageId: MessageId,
  route: Route,
  reasons: Schema.Array(RouteReason),
  warnings: Schema.Array(RouteWarning),
  productPolicy: Schema.NullOr(ProductPolicy),
  /** The template TTL, honoured on the MM route only. */
  ttlSeconds: Schema.NullOr(Schema.Int),
  at: EpochMillis
})
export const DispatchStarted = Schema.TaggedStruct("DispatchStarted", {
  messageId: MessageId,
  attempt: Schema.Int,
  route: Route,
  at: EpochMillis
})
export const DispatchSucceeded = Schema.TaggedStruct("DispatchSucceeded", {
  messageId: MessageId,
  attempt: Schema.Int,
  wamid: Wamid,
  providerStatus: ProviderMessageStatus,
  at: EpochMillis
})
export const DispatchFailed = Schema.TaggedStruct("DispatchFailed", {
  messageId: MessageId,
  attempt: Schema.Int,
  /** The route the failed attempt was sent to (`null` in events stored before schema version 2). */
  route: Schema.NullOr(Route),
  httpStatus: Schema.NullOr(Schema.Int),
  error: Schema.NullOr(ProviderError),
  reason: Schema.String,
  final: Schema.Boolean,
  notBefore: Schema.NullOr(EpochMillis),
  at: EpochMillis
})
export const MessageRerouted = Schema.TaggedStruct("MessageRerouted", {
  messageId: MessageId,
  from: Route,
  to: Route,
  reason: Schema.String,
  at: EpochMillis
})
export const DispatchOutcomeUnknown = Schema.TaggedStruct("DispatchOutcomeUnknown", {
  messageId: MessageId,
  attempt: Schema.Int,
  reason: Schema.String,
  at: EpochMillis
})
export const DispatchMarkedUnknown = Schema.TaggedStruct("DispatchMarkedUnknown", {
  messageId: MessageId,
  at: EpochMillis
})
export const DispatchResolved = Schema.TaggedStruct("DispatchResolved", {
  messageId: MessageId,
  action: Schema.Literal("resend", "give_up"),
  by: Schema.String,
  at: EpochMillis
})
export const StatusObserved = Schema.TaggedStruct("StatusObserved", {
  messageId: MessageId,
  observation: StatusObservation,
  at: EpochMillis
})
export const MessageExpired = Schema.TaggedStruct("MessageExpired", {
  messageId: MessageId,
  deadline: EpochMillis,
  at: EpochMillis
})
export const ClickAttributed = Schema.TaggedStruct("ClickAttributed", {
  messageId: MessageId,
  clickId: Schema.String,
  at: EpochMillis
})
export const MessageEvent = Schema.Union(
  MessageRequested,
  MessageRouted,
  DispatchStarted,
  DispatchSucceeded,
  DispatchFailed,
  MessageRerouted,
  DispatchOutcomeUnknown,
  DispatchMarkedUnknown,
  DispatchResolved,
  StatusObserved,
  MessageExpired,
  ClickAttributed
)
export type MessageEvent = typeof MessageEvent.Type

// ---- state -------------------------------------------------------------------------------------

/** Where the message stands with the provider: the at-most-once guard lives here. */
export type DispatchPhase =
  | { readonly _tag: "Ready"; readonly attempt: number; readonly notBefore: number | null }
  | { readonly _tag: "InFlight"; readonly attempt: number; readonly startedAt: number }
  | { readonly _tag: "Submitted"; readonly attempt: number }
  | { readonly _tag: "OutcomeUnknown"; readonly attempt: number; readonly since: number }
  | { readonly _tag: "DispatchUnknown"; readonly attempt: number; readonly since: number }
  | { readonly _tag: "Failed"; readonly attempt: number }
  | { readonly _tag: "GivenUp"; readonly attempt: number }

export interface MessageRecord {
  readonly request: typeof MessageRequested.Type
  readonly route: Route
  readonly reasons: ReadonlyArray<typeof RouteReason.Type>
  readonly warnings: ReadonlyArray<typeof RouteWarning.Type>
  readonly productPolicy: typeof ProductPolicy.Type | null
  readonly ttlSeconds: number | null
  readonly rerouted: ReadonlyArray<{ readonly from: Route; readonly to: Route; readonly reason: string }>
  readonly phase: DispatchPhase
  readonly wamid: Wamid | null
  readonly submittedAt: number | null
  readonly dispatchErrors: ReadonlyArray<{ readonly error: typeof ProviderError.Type | null; readonly reason: string; readonly at: number }>
  readonly observations: ReadonlyArray<StatusObservation>
  readonly expiredAt: number | null
  readonly clicks: ReadonlyArray<string>
}

export type MessageState =
  | { readonly _tag: "Unrequested" }
  | { readonly _tag: "Requested"; readonly message: MessageRecord }

export const initialState = (): MessageState => ({ _tag: "Unrequested" })

const update = (state: MessageState, f: (m: MessageRecord) => MessageRecord): MessageState =>
  state._tag === "Requested" ? { _tag: "Requested", message: f(state.message) } : state

export const evolve = (state: MessageState, event: MessageEvent): MessageState =>
  Match.value(event).pipe(
    Match.tagsExhaustive({
      MessageRequested: (e): MessageState => ({
        _tag: "Requested",
        message: {
          request: e,
          route: "cloud_api",
          reasons: [],
          warnings: [],
          productPolicy: null,
          ttlSeconds: null,
          rerouted: [],
          phase: { _tag: "Ready", attempt: 1, notBefore: null },
          wamid: null,
          submittedAt: null,
          dispatchErrors: [],
          observations: [],
          expiredAt: null,
          clicks: []
        }
      }),
      MessageRouted: (e) =>
        update(state, (m) => ({
          ...m,
          route: e.route,
          reasons: e.reasons,
          warnings: e.warnings,
          productPolicy: e.productPolicy,
          ttlSeconds: e.ttlSeconds
        })),
      DispatchStarted: (e) => update(state, (m) => ({ ...m, phase: { _tag: "InFlight", attempt: e.attempt, startedAt: e.at } })),
      DispatchSucceeded: (e) =>
        update(state, (m) => ({
          ...m,
          phase: { _tag: "Submitted", attempt: e.attempt },
          wamid: e.wamid,
          submittedAt: m.submittedAt ?? e.at
        })),
      DispatchFailed: (e) =>
        update(state, (m) => ({
          ...m,
          dispatchErrors: [...m.dispatchErrors, { error: e.error, reason: e.reason, at: e.at }],
          phase: e.final
            ? { _tag: "Failed", attempt: e.attempt }
            : { _tag: "Ready", attempt: e.attempt + 1, notBefore: e.notBefore }
        })),
      MessageRerouted: (e) =>
        update(state, (m) => ({
          ...m,
          route: e.to,
          rerouted: [...m.rerouted, { from: e.from, to: e.to, reason: e.reason }],
          // The MM-only options do not travel to the Cloud API; back on the MM route they are the client's again.
          productPolicy: e.to === "marketing_messages" ? m.request.productPolicy : null,
          ttlSeconds: e.to === "marketing_messages" ? m.request.template?.ttlSeconds ?? null : null
        })),
      DispatchOutcomeUnknown: (e) =>
        update(state, (m) => ({ ...m, phase: { _tag: "OutcomeUnknown", attempt: e.attempt, since: e.at } })),
      DispatchMarkedUnknown: (e) =>
        update(state, (m) => ({ ...m, phase: { _tag: "DispatchUnknown", attempt: m.phase.attempt, since: e.at } })),
      DispatchResolved: (e) =>
        update(state, (m) => ({
          ...m,
          phase: e.action === "resend"
            ? { _tag: "Ready", attempt: m.phase.attempt + 1, notBefore: null }
            : { _tag: "GivenUp", attempt: m.phase.attempt }
        })),
      StatusObserved: (e) =>
        update(state, (m) => ({
          ...m,
          observations: [...m.observations, e.observation],
          wamid: m.wamid ?? e.observation.wamid,
          // A webhook naming the message proves the provider took it.
          phase: m.phase._tag === "OutcomeUnknown" || m.phase._tag === "DispatchUnknown" || m.phase._tag === "InFlight"
            ? { _tag: "Submitted", attempt: m.phase.attempt }
            : m.phase
        })),
      MessageExpired: (e) => update(state, (m) => ({ ...m, expiredAt: e.at })),
      ClickAttributed: (e) => update(state, (m) => ({ ...m, clicks: [...m.clicks, e.clickId] }))
    })
  )

// ---- the visible view (a join over everything observed) ----------------------------------------

const earliest = (m: MessageRecord, status: StatusObservation["status"]): number | null => {
  let t: number | null = null
  for (const o of m.observations) if (o.status === status && (t === null || o.timestamp < t)) t = o.timestamp
  return t
}

export interface MessageView {
  readonly status: MessageStatus
  readonly observedRoute: Route | null
  readonly pricing: Pricing | null
  readonly routeMismatch: boolean
  /** A `failed` webhook arrived for a message already delivered or read: kept, not shown as the status. */
  readonly failedAfterDelivery: boolean
  readonly timestamps: {
    readonly acceptedAt: number
    readonly submittedAt: number | null
    readonly sentAt: number | null
    readonly deliveredAt: number | null
    readonly readAt: number | null
    readonly failedAt: number | null
    readonly expiredAt: number | null
  }
  readonly errors: ReadonlyArray<typeof ProviderError.Type>
}

export const viewOf = (m: MessageRecord): MessageView => {
  const candidates: Array<MessageStatus> = ["accepted"]
  if (m.phase._tag === "Submitted" || m.submittedAt !== null) candidates.push("submitted")
  if (m.phase._tag === "DispatchUnknown") candidates.push("dispatch_unknown")
  if (m.phase._tag === "Failed" || m.phase._tag === "GivenUp") candidates.push("failed")
  if (m.expiredAt !== null) candidates.push("expired")
  for (const o of m.observations) candidates.push(o.status)
  const status = candidates.reduce((a, b) => (STATUS_PRECEDENCE[b] > STATUS_PRECEDENCE[a] ? b : a))
  const observed = observedRoute(m.observations)
  const failedWebhookAt = earliest(m, "failed")
  const dispatchFailedAt = m.phase._tag === "Failed" || m.phase._tag === "GivenUp"
    ? m.dispatchErrors[m.dispatchErrors.length - 1]?.at ?? null
    : null
  const readAt = earliest(m, "read")
  const errors = new Map<number, typeof ProviderError.Type>()
  for (const d of m.dispatchErrors) if (d.error !== null && !errors.has(d.error.code)) errors.set(d.error.code, d.error)
  for (const o of m.observations) for (const e of o.errors) if (!errors.has(e.code)) errors.set(e.code, e)
  return {
    status,
    observedRoute: observed?.route ?? null,
    pricing: observed?.pricing ?? null,
    routeMismatch: observed !== null && observed.route !== m.route,
    failedAfterDelivery: failedWebhookAt !== null && (status === "delivered" || status === "read"),
    timestamps: {
      acceptedAt: m.request.at,
      submittedAt: m.submittedAt,
      sentAt: earliest(m, "sent"),
      // `read` implies delivered (Meta may skip the delivered webhook).
      deliveredAt: earliest(m, "delivered") ?? readAt,
      readAt,
      failedAt: failedWebhookAt ?? dispatchFailedAt,
      expiredAt: m.expiredAt
    },
    errors: [...errors.values()].sort((a, b) => a.code - b.code)
  }
}

/** When a message on the MM route with a TTL is considered dropped if Meta has not delivered it. */
export const expiryDeadline = (m: MessageRecord): number | null =>
  m.route === "marketing_messages" && m.ttlSeconds !== null && m.ttlSeconds > 0 && m.submittedAt !== null
    ? m.submittedAt + m.ttlSeconds * 1000
    : null

// ---- decide ------------------------------------------------------------------------------------

const notAllowed = (messageId: string, phase: DispatchPhase, reason: string) =>
  reject(new DispatchNotAllowed({ messageId, phase: phase._tag, reason }))

const requested = <A>(
  state: MessageState,
  messageId: string,
  f: (m: MessageRecord) => A
): A | ReturnType<typeof reject<NotRegistered>> =>
  state._tag === "Requested" ? f(state.message) : reject(new NotRegistered({ entity: "message", id: messageId }))

export const decide = (command: MessageCommand, state: MessageState) =>
  Match.value(command).pipe(
    Match.tagsExhaustive({
      RequestMessage: (c) => {
        if (state._tag === "Requested") {
          // Idempotency: the same key (same message id) with the same request changes nothing.
          return state.message.request.requestHash === c.requestHash
            ? nothing
            : reject(new IdempotencyKeyReused({ messageId: c.messageId }))
        }
        if (c.decision._tag === "Rejected") return reject(new RouteRejected({ reasons: c.decision.reasons }))
        const { _tag: _, decision, ...request } = c
        return accept<MessageEvent>(
          MessageRequested.make(request),
          MessageRouted.make({
            messageId: c.messageId,
            route: decision.route,
            reasons: decision.reasons,
            warnings: decision.warnings,
            productPolicy: decision.route === "marketing_messages" ? decision.productPolicy : null,
            ttlSeconds: decision.route === "marketing_messages" ? c.template?.ttlSeconds ?? null : null,
            at: c.at
          })
        )
      },
      StartDispatch: (c) =>
        requested(state, c.messageId, (m) => {
          const phase = m.phase
          if (phase._tag !== "Ready") return notAllowed(c.messageId, phase, "not_ready")
          if (phase.attempt !== c.attempt) return notAllowed(c.messageId, phase, "stale_attempt")
          if (phase.notBefore !== null && c.at < phase.notBefore) return notAllowed(c.messageId, phase, "backing_off")
          return accept<MessageEvent>(DispatchStarted.make({ messageId: c.messageId, attempt: c.attempt, route: m.route, at: c.at }))
        }),
      RecordDispatchSucceeded: (c) =>
        requested(state, c.messageId, (m) => {
          if (m.wamid === c.wamid && m.submittedAt !== null) return nothing
          const phase = m.phase
          const answersThisAttempt = phase.attempt === c.attempt &&
            (phase._tag === "InFlight" || phase._tag === "OutcomeUnknown" || phase._tag === "DispatchUnknown" ||
              (phase._tag === "Submitted" && m.submittedAt === null))
          return answersThisAttempt
            ? accept<MessageEvent>(DispatchSucceeded.make({
              messageId: c.messageId,
              attempt: c.attempt,
              wamid: c.wamid,
              providerStatus: c.providerStatus,
              at: c.at
            }))
            : notAllowed(c.messageId, phase, "no_such_attempt_in_flight")
        }),
      RecordDispatchFailed: (c) =>
        requested(state, c.messageId, (m) => {
          const phase = m.phase
          if (phase._tag !== "InFlight" || phase.attempt !== c.attempt) {
            return notAllowed(c.messageId, phase, "no_such_attempt_in_flight")
          }
          const strict = m.request.productPolicy === "STRICT"
          const outcome = c.outcome
          // Re-route once, never under STRICT; otherwise the failure is final.
          const reroute = outcome._tag === "Reroute" && !strict && m.rerouted.length === 0 && outcome.to !== m.route
            ? outcome
            : null
          const retry = outcome._tag === "RetryLater" ? outcome : null
          const events: Array<MessageEvent> = [DispatchFailed.make({
            messageId: c.messageId,
            attempt: c.attempt,
            // The route only changes between attempts, so the message's route is the attempt's.
            route: m.route,
            httpStatus: c.httpStatus,
            error: c.error,
            reason: c.reason,
            final: reroute === null && retry === null,
            notBefore: retry?.notBefore ?? null,
            at: c.at
          })]
          if (reroute !== null) {
            events.push(MessageRerouted.make({ messageId: c.messageId, from: m.route, to: reroute.to, reason: reroute.reason, at: c.at }))
          }
          return accept(...events)
        }),
      RecordDispatchOutcomeUnknown: (c) =>
        requested(state, c.messageId, (m) => {
          const phase = m.phase
          if ((phase._tag === "OutcomeUnknown" || phase._tag === "DispatchUnknown") && phase.attempt === c.attempt) return nothing
          if (phase._tag !== "InFlight" || phase.attempt !== c.attempt) {
            return notAllowed(c.messageId, phase, "no_such_attempt_in_flight")
          }
          return accept<MessageEvent>(DispatchOutcomeUnknown.make({
            messageId: c.messageId,
            attempt: c.attempt,
            reason: c.reason,
            at: c.at
          }))
        }),
      MarkDispatchUnknown: (c) =>
        requested(state, c.messageId, (m) =>
          m.phase._tag === "OutcomeUnknown" && m.observations.length === 0
            ? accept<MessageEvent>(DispatchMarkedUnknown.make({ messageId: c.messageId, at: c.at }))
            : nothing),
      ResolveDispatch: (c) =>
        requested(state, c.messageId, (m) => {
          if (m.phase._tag !== "DispatchUnknown") {
            return reject(new ResolutionNotAllowed({ messageId: c.messageId, status: viewOf(m).status }))
          }
          return accept<MessageEvent>(DispatchResolved.make({ messageId: c.messageId, action: c.action, by: c.by, at: c.at }))
        }),
      ObserveStatus: (c) =>
        requested(state, c.messageId, (m) => {
          const key = observationKey(c.observation)
          return m.observations.some((o) => observationKey(o) === key)
            ? nothing
            // The command's fields are schema values already (the webhook adapter checks the observation
            // against this schema): checked again here, they cost a third of deciding, once per status.
            : accept<MessageEvent>(StatusObserved.make({ messageId: c.messageId, observation: c.observation, at: c.at }, true))
        }),
      ExpireMessage: (c) =>
        requested(state, c.messageId, (m) => {
          const deadline = expiryDeadline(m)
          const view = viewOf(m)
          const open = view.status === "submitted" || view.status === "sent"
          return deadline !== null && c.at >= deadline && open && m.expiredAt === null && view.observedRoute !== "cloud_api"
            ? accept<MessageEvent>(MessageExpired.make({ messageId: c.messageId, deadline, at: c.at }))
            : nothing
        }),
      AttributeClick: (c) =>
        requested(state, c.messageId, (m) =>
          m.clicks.includes(c.clickId)
            ? nothing
            : accept<MessageEvent>(ClickAttributed.make({ messageId: c.messageId, clickId: c.clickId, at: c.at })))
    })
  )

export type MessageError =
  | NotRegistered
  | IdempotencyKeyReused
  | RouteRejected
  | DispatchNotAllowed
  | ResolutionNotAllowed

export const MessageDecider: Decider<MessageCommand, MessageEvent, MessageState, MessageError> = {
  decide,
  evolve,
  initialState
}
