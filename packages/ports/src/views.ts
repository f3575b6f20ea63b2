/**
 * The read side's views built from the domain's own states: what every store answers the query ports
 * with, whatever it keeps its rows in. A store folds the events with the domain's `evolve` and derives
 * each view here, so two stores cannot disagree on what a view says for the same facts
 * (docs/persistence.md#projections). Pure: no I/O, no clock.
 */
import { type BusinessManager, Ids, Message, type Template, Waba } from "@mm-gateway/domain"
import type { CampaignStats, MessageResource, MessageWork, TemplateView, WabaView } from "./queries.js"

/** A message as the API shows it (docs/api.md#resources). */
export const messageResource = (m: Message.MessageRecord, view: Message.MessageView = Message.viewOf(m)): MessageResource => ({
  id: m.request.messageId,
  channel: m.request.channel,
  wabaId: m.request.wabaId,
  // A message names its user by number (`to`) or, without one, by BSUID (`recipient`).
  to: Ids.isBsuid(m.request.to) ? null : m.request.to,
  recipient: Ids.isBsuid(m.request.to) ? m.request.to : null,
  campaignId: m.request.campaignId,
  clientCallbackData: m.request.clientCallbackData,
  template: m.request.template === null
    ? null
    : { name: m.request.template.name, language: m.request.template.language, category: m.request.template.category },
  route: { decided: m.route, reasons: m.reasons, warnings: m.warnings, observed: view.observedRoute, rerouted: m.rerouted },
  status: view.status,
  wamid: m.wamid,
  timestamps: view.timestamps,
  errors: view.errors,
  pricing: view.pricing,
  routeMismatch: view.routeMismatch,
  failedAfterDelivery: view.failedAfterDelivery,
  clickIds: m.clicks,
  dispatch: { phase: m.phase._tag, attempt: m.phase.attempt }
})

/** Since when the message has been in its dispatch phase, where the phase says. */
export const phaseSince = (phase: Message.DispatchPhase): number | null =>
  phase._tag === "InFlight" ? phase.startedAt : "since" in phase ? phase.since : null

/** What the worker needs to pick a message up. */
export const messageWork = (m: Message.MessageRecord): MessageWork => ({
  id: m.request.messageId,
  channel: m.request.channel,
  acceptedAt: m.request.at,
  attempt: m.phase.attempt,
  phaseSince: phaseSince(m.phase),
  expiryDeadline: Message.expiryDeadline(m)
})

/** Funnel stages of the campaign stats (docs/api.md#resources); a message counts in every stage up to the highest it reached. */
export const FUNNEL_STAGE = { accepted: 0, submitted: 1, sent: 2, delivered: 3, read: 4 } as const

export const funnelStage = (m: Message.MessageRecord, view: Message.MessageView): number => {
  const t = view.timestamps
  if (t.readAt !== null) return FUNNEL_STAGE.read
  if (t.deliveredAt !== null) return FUNNEL_STAGE.delivered
  if (t.sentAt !== null) return FUNNEL_STAGE.sent
  // Any status webhook, even `failed`, proves the provider took the message.
  if (m.submittedAt !== null || m.phase._tag === "Submitted" || m.observations.length > 0) return FUNNEL_STAGE.submitted
  return FUNNEL_STAGE.accepted
}

/** The error codes a message counts under in `failuresByCode`: each code once, and only while it is failed. */
export const failureCodes = (view: Message.MessageView): ReadonlyArray<number> =>
  view.status === "failed" ? [...new Set(view.errors.map((e) => e.code))].sort((a, b) => a - b) : []

/**
 * A campaign's stats counted message by message over the messages given (those of the campaign in
 * the caller's scope). A store that aggregates in its database counts the same things:
 * `funnelStage`, the status, the routes and `failureCodes` of each message.
 */
export const campaignStats = (
  campaignId: string,
  messages: Iterable<Message.MessageRecord>,
  /** The ids of the messages a landing page view is tied to (`ClickView.messageId` of the views). */
  viewed: ReadonlySet<string> = new Set()
): CampaignStats => {
  const funnel = { accepted: 0, submitted: 0, sent: 0, delivered: 0, read: 0, clicked: 0, landingPageViews: 0 }
  const routed = { marketing_messages: 0, cloud_api: 0 }
  const observedRoute = { marketing_messages: 0, cloud_api: 0, unknown: 0 }
  const counts = { queued: 0, failed: 0, expired: 0, dispatchUnknown: 0, routeMismatch: 0 }
  const failuresByCode: Record<string, number> = {}
  for (const m of messages) {
    const view = Message.viewOf(m)
    const stage = funnelStage(m, view)
    funnel.accepted++
    if (stage >= FUNNEL_STAGE.submitted) funnel.submitted++
    if (stage >= FUNNEL_STAGE.sent) funnel.sent++
    if (stage >= FUNNEL_STAGE.delivered) funnel.delivered++
    if (stage >= FUNNEL_STAGE.read) funnel.read++
    if (m.clicks.length > 0) funnel.clicked++
    if (viewed.has(m.request.messageId)) funnel.landingPageViews++
    routed[m.route]++
    observedRoute[view.observedRoute ?? "unknown"]++
    if (view.status === "accepted") counts.queued++
    if (view.status === "failed") counts.failed++
    if (view.status === "expired") counts.expired++
    if (view.status === "dispatch_unknown") counts.dispatchUnknown++
    if (view.routeMismatch) counts.routeMismatch++
    for (const code of failureCodes(view)) failuresByCode[String(code)] = (failuresByCode[String(code)] ?? 0) + 1
  }
  return { campaignId, funnel, routed, observedRoute, ...counts, failuresByCode }
}

/** The action type of a landing page view (docs/domain.md#clicks). */
export const LANDING_PAGE_VIEW = "landing_page_view"

/** What the join of a landing page view to its click needs of a user action. */
export interface UserActionKeys {
  readonly position: number
  readonly channel: string
  readonly actionType: string
  readonly kind: string
  readonly clickId: string | null
  readonly trackingToken: string | null
}

/**
 * The link click a landing page view joins (docs/domain.md#clicks): on the view's channel, the first
 * click with its `tracking_token`; without one, the first with its `click_id`; `null` when neither
 * (yet). Either may arrive first: the join is made when read.
 */
export const joinedClick = <A extends UserActionKeys>(view: A, actions: Iterable<A>): A | null => {
  if (view.actionType !== LANDING_PAGE_VIEW) return null
  let byToken: A | null = null
  let byClickId: A | null = null
  for (const a of actions) {
    if (a.channel !== view.channel || a.kind !== "link_click") continue
    if (view.trackingToken !== null && a.trackingToken === view.trackingToken && (byToken === null || a.position < byToken.position)) byToken = a
    if (view.clickId !== null && a.clickId === view.clickId && (byClickId === null || a.position < byClickId.position)) byClickId = a
  }
  return byToken ?? byClickId
}

/** A WABA with its MM status as of `now` (recomputed from the state: a restriction ends by itself). */
export const waba = (
  id: string,
  state: Waba.WabaState,
  businessManager: BusinessManager.BusinessManagerState | null,
  now: number
): WabaView => {
  const mmApi = Waba.mmApiStatus(state, businessManager, now)
  const meta = state.meta ?? null
  const says = meta === null ? null : Waba.metaSaysOnboarded(meta.status)
  return {
    id,
    businessManagerId: state.businessManagerId,
    name: state.name,
    mmApi,
    meta: meta === null
      ? null
      : { status: meta.status, businessStatus: meta.businessStatus, readAt: meta.readAt, agrees: says === null ? null : says === (mmApi.status === "onboarded") },
    metaSyncRequestedAt: state.metaSyncRequestedAt ?? null,
    templateSyncRequestedAt: state.templateSyncRequestedAt ?? null
  }
}

/** The latest request through Meta's Intent API, from a state stored before there was one too. */
export const metaRequest = (state: BusinessManager.BusinessManagerState): BusinessManager.MetaOnboardingRequest | null =>
  state.metaRequest ?? null

/** The invitation link shown after `event`: the link of the latest invitation, which the state's `invitedAt` names. */
export const invitationLink = (
  previous: string | null,
  after: BusinessManager.BusinessManagerState,
  event: BusinessManager.BusinessManagerEvent
): string | null => (event._tag === "OnboardingInvitationIssued" && after.invitedAt === event.at ? event.link : previous)

/** The reason shown with a template's status after `event`: the last status change's. */
export const templateStatusReason = (previous: string | null, event: Template.TemplateEvent): string | null =>
  event._tag === "TemplateStatusChanged" ? event.reason : previous

export const template = (
  key: { readonly wabaId: string; readonly name: string; readonly language: string },
  state: Template.TemplateState,
  statusReason: string | null,
  updatedAt: number
): TemplateView => ({
  wabaId: key.wabaId,
  name: key.name,
  language: key.language,
  category: state.category,
  categorySource: state.categorySource,
  ttlSeconds: state.ttlSeconds,
  status: state.status,
  statusReason,
  impending: state.impending,
  refusedAsNotMarketing: state.refusedAsNotMarketing == null
    ? null
    : { errorCode: state.refusedAsNotMarketing.errorCode, occurredAt: state.refusedAsNotMarketing.occurredAt },
  updatedAt
})
