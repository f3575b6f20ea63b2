/**
 * Facts for the contract suites, recorded the way the api and the worker record them: through the
 * domain's own command handler and use cases (`CommandHandler.handleCommand`, `SendMessage.sendMessage`,
 * `Dispatch.beginDispatch` / `settleDispatch`, `StatusReports.recordStatusReport`). A domain refusal
 * here is a mistake in the suite, so it is a defect. Every time is given explicitly.
 */
import {
  type Channel,
  CommandHandler,
  Dispatch,
  type EventStore,
  type Ids,
  type ProviderGateway,
  SendMessage,
  type Status,
  StatusReports,
  Streams,
  type Template,
  type UnitOfWork
} from "@mm-gateway/domain"
import { Effect } from "effect"
import { ProjectionRunner } from "../src/projections.js"

/** A fact recorded: what the command appended is not needed, a refusal is a mistake in the suite. */
const fact = <A, E, R>(command: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> => Effect.asVoid(Effect.orDie(command))

const bm = (id: string) => id as Ids.BusinessManagerId
const waba = (id: string) => id as Ids.WabaId
const phone = (id: string) => id as Ids.PhoneNumberId

export const registerBusinessManager = (id: string, at: number, name: string | null = null) =>
  fact(CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(id), { _tag: "RegisterBusinessManager", businessManagerId: bm(id), name, at }))

export const inviteBusinessManager = (id: string, link: string, at: number) =>
  fact(CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(id), { _tag: "IssueOnboardingInvitation", businessManagerId: bm(id), link, at }))

/** Meta's Intent API answered the partner's request for the Business Manager (`requestId` null: already invited). */
export const requestMetaOnboarding = (id: string, requestId: string | null, at: number, solutionId: string | null = null) =>
  fact(CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(id), {
    _tag: "RecordMetaOnboardingRequest",
    businessManagerId: bm(id),
    requestId,
    alreadyInvited: requestId === null,
    solutionId,
    at
  }))

export const signBusinessTerms = (id: string, signedAt: number) =>
  fact(CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(id), { _tag: "RecordBusinessTermsSigned", businessManagerId: bm(id), signedAt, at: signedAt }))

export const registerWaba = (id: string, businessManagerId: string, at: number, name: string | null = null) =>
  fact(CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(id), { _tag: "RegisterWaba", wabaId: waba(id), businessManagerId: bm(businessManagerId), name, at }))

/** `MM_LITE_TERMS_SIGNED` for this WABA; `owner` null when the webhook names no Business Manager. */
export const signWabaTerms = (id: string, signedAt: number, owner: string | null = null) =>
  fact(CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(id), {
    _tag: "RecordWabaTermsSigned",
    wabaId: waba(id),
    ownerBusinessId: owner === null ? null : bm(owner),
    signedAt,
    at: signedAt
  }))

/** The worker read `marketing_messages_onboarding_status` from Meta at `readAt`. */
export const readMetaStatus = (id: string, status: string | null, readAt: number, businessStatus: string | null = null) =>
  fact(CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(id), {
    _tag: "RecordMetaOnboardingStatus",
    wabaId: waba(id),
    status,
    businessStatus,
    readAt,
    at: readAt
  }))

/** `POST /v1/wabas/{id}/mm-api-status/sync`. */
export const requestMetaSync = (id: string, at: number) =>
  fact(CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(id), { _tag: "RequestMetaStatusSync", wabaId: waba(id), requestedBy: "admin", at }))

/** `POST /v1/wabas/{id}/templates/sync`. */
export const requestTemplateSync = (id: string, at: number) =>
  fact(CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(id), { _tag: "RequestTemplateSync", wabaId: waba(id), requestedBy: "admin", at }))

/** An account restriction from `occurredAt`, ending by itself at `expiresAt` (null: until reinstated). */
export const restrictWaba = (id: string, occurredAt: number, expiresAt: number | null) =>
  fact(CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(id), {
    _tag: "RecordSuspension",
    wabaId: waba(id),
    kind: "account_restriction",
    occurredAt,
    expiresAt,
    at: occurredAt
  }))

export const recordTermsNotAccepted = (id: string, at: number) =>
  fact(CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(id), { _tag: "RecordTermsNotAccepted", wabaId: waba(id), errorCode: 131055, details: null, at }))

export const registerChannel = (
  id: string,
  wabaId: string,
  at: number,
  options: { readonly routing?: Channel.ChannelRouting; readonly throughputMps?: number } = {}
) =>
  fact(CommandHandler.handleCommand(Streams.ChannelStream, Streams.streamId.channel(id), {
    _tag: "RegisterChannel",
    phoneNumberId: phone(id),
    wabaId: waba(wabaId),
    displayPhoneNumber: `+1 555 ${id}`,
    provider: "sandbox",
    credentialsRef: `ref-${id}`,
    throughputMps: options.throughputMps ?? 80,
    routing: options.routing ?? "inherit",
    at
  }))

export const changeRoutingSettings = (marketingViaMmApi: boolean, ttlOnCloudFallback: "warn" | "reject", at: number) =>
  fact(CommandHandler.handleCommand(Streams.PartnerSettingsStream, Streams.streamId.partnerSettings(), { _tag: "ChangeRoutingSettings", marketingViaMmApi, ttlOnCloudFallback, at }))

export const recordTemplate = (
  wabaId: string,
  name: string,
  category: Template.TemplateCategory,
  at: number,
  options: { readonly language?: string; readonly ttlSeconds?: number | null } = {}
) =>
  fact(CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(wabaId, name, options.language ?? "en"), {
    _tag: "RecordTemplate",
    wabaId: waba(wabaId),
    name,
    language: options.language ?? "en",
    category,
    ttlSeconds: options.ttlSeconds ?? null,
    at
  }))

export const recordTemplateStatus = (wabaId: string, name: string, status: string, reason: string | null, occurredAt: number, language = "en") =>
  fact(CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(wabaId, name, language), {
    _tag: "RecordTemplateStatus",
    wabaId: waba(wabaId),
    name,
    language,
    status,
    reason,
    category: null,
    occurredAt,
    at: occurredAt
  }))

/** A completed `template_category_update` of `occurredAt`. */
export const recordCategoryChange = (wabaId: string, name: string, newCategory: Template.TemplateCategory, occurredAt: number) =>
  fact(CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(wabaId, name, "en"), {
    _tag: "RecordCategoryChange",
    wabaId: waba(wabaId),
    name,
    language: "en",
    previousCategory: null,
    newCategory,
    occurredAt,
    at: occurredAt
  }))

/** The worker read the template from Meta's template list (`GET /{WABA_ID}/message_templates`), asking at `readAt`. */
export const readMetaTemplate = (
  wabaId: string,
  name: string,
  listed: { readonly category: Template.TemplateCategory | null; readonly status: string | null; readonly ttlSeconds: number | null },
  readAt: number
) =>
  fact(CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(wabaId, name, "en"), {
    _tag: "RecordMetaTemplate",
    wabaId: waba(wabaId),
    name,
    language: "en",
    ...listed,
    readAt,
    at: readAt
  }))

export const recordImpendingRecategorization = (wabaId: string, name: string, correctCategory: Template.TemplateCategory, effectiveAt: number | null, occurredAt: number) =>
  fact(CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(wabaId, name, "en"), {
    _tag: "RecordImpendingRecategorization",
    wabaId: waba(wabaId),
    name,
    language: "en",
    currentCategory: null,
    correctCategory,
    effectiveAt,
    occurredAt,
    at: occurredAt
  }))

/** The MM route refused a message routed on the category fact of `routedOnCategoryAt` as not marketing. */
export const recordRefusedAsNotMarketing = (wabaId: string, name: string, errorCode: number, routedOnCategoryAt: number | null, occurredAt: number) =>
  fact(CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(wabaId, name, "en"), {
    _tag: "RecordRefusedAsNotMarketing",
    wabaId: waba(wabaId),
    name,
    language: "en",
    errorCode,
    routedOnCategoryAt,
    occurredAt,
    at: occurredAt
  }))

export interface Send {
  readonly id: string
  readonly channel: string
  readonly at: number
  readonly to?: string
  readonly campaign?: string | null
  readonly template?: string | null
  readonly callbackData?: string | null
}

/** A client's send, as `POST /v1/channels/{id}/marketing_messages` records it (the route is the domain's decision). */
export const send = (s: Send): Effect.Effect<void, never, EventStore.EventStore> =>
  fact(SendMessage.sendMessage({
      messageId: s.id as Ids.MessageId,
      channel: phone(s.channel),
      endpoint: "marketing_messages",
      to: (s.to ?? "16505551234") as Ids.UserRef,
      messageType: "template",
      template: s.template === null ? null : { name: s.template ?? "spring_sale", language: "en" },
      productPolicy: null,
      messageActivitySharing: null,
      clientCallbackData: s.callbackData ?? null,
      campaignId: (s.campaign === undefined ? "c1" : s.campaign) as Ids.CampaignId | null,
      idempotencyKey: null,
      requestHash: `hash-${s.id}`,
      requestedBy: "admin",
      payload: { type: "template" },
      now: s.at
    }))

/** Starts attempt `attempt` (the worker's `Dispatch.beginDispatch`) and returns its ticket. */
export const begin = (id: string, attempt: number, now: number) =>
  Effect.flatMap(Effect.orDie(Dispatch.beginDispatch({ messageId: id as Ids.MessageId, attempt, now })), (outcome) =>
    outcome._tag === "Send" ? Effect.succeed(outcome.ticket) : Effect.dieMessage(`dispatch of ${id} did not start: ${outcome.reason}`))

export const settle = (ticket: Dispatch.DispatchTicket, result: ProviderGateway.ProviderSendResult, now: number) => Dispatch.settleDispatch(ticket, result, now, 0)

export const accepted = (wamid: string): ProviderGateway.ProviderSendResult => ({ _tag: "Accepted", wamid, messageStatus: "accepted" })
export const refused = (code: number, status = 400): ProviderGateway.ProviderSendResult => ({
  _tag: "HttpError",
  status,
  error: { code, title: "error", message: null, details: null },
  retryAfterMs: null
})
export const noAnswer: ProviderGateway.ProviderSendResult = { _tag: "NoDefinitiveAnswer", reason: "timeout" }

/** One attempt from start to the provider's answer. */
export const dispatch = (id: string, attempt: number, now: number, result: ProviderGateway.ProviderSendResult) =>
  Effect.flatMap(begin(id, attempt, now), (ticket) => settle(ticket, result, now + 1))

/** The dispatch-unknown timer marks a send whose outcome stayed unknown. */
export const markDispatchUnknown = (id: string, at: number) =>
  fact(CommandHandler.handleCommand(Streams.MessageStream, Streams.streamId.message(id), { _tag: "MarkDispatchUnknown", messageId: id as Ids.MessageId, at }))

export const attributeClick = (id: string, clickId: string, at: number) =>
  fact(CommandHandler.handleCommand(Streams.MessageStream, Streams.streamId.message(id), { _tag: "AttributeClick", messageId: id as Ids.MessageId, clickId, at }))

/** A user action webhook; its tracking token is `tt-<clickId>` unless given. */
export const userAction = (
  channel: string,
  clickId: string | null,
  occurredAt: number,
  actionType = "marketing_messages_link_click",
  trackingToken: string | null = clickId === null ? null : `tt-${clickId}`
) =>
  fact(CommandHandler.handleCommand(Streams.UserActionStream, Streams.streamId.userAction(channel, actionType, clickId, trackingToken, occurredAt), {
    _tag: "RecordUserAction",
    channel: phone(channel),
    actionType,
    clickId,
    trackingToken,
    component: "CTA",
    productId: null,
    occurredAt,
    at: occurredAt
  }))

export interface StatusFact {
  readonly channel: string
  readonly wamid: string
  readonly status: Status.StatusObservation["status"]
  readonly timestamp: number
  readonly recipient?: string | null
  readonly pricingCategory?: string | null
  readonly errorCode?: number | null
  readonly callbackData?: string | null
}

export const observation = (s: Omit<StatusFact, "channel" | "callbackData">): Status.StatusObservation => ({
  wamid: s.wamid as Ids.Wamid,
  status: s.status,
  timestamp: s.timestamp,
  recipient: s.recipient === undefined ? "16505551234" : s.recipient,
  pricing: s.pricingCategory == null ? null : { category: s.pricingCategory, pricingModel: "PMP", type: "regular", billable: true },
  originType: null,
  errors: s.errorCode == null ? [] : [{ code: s.errorCode, title: "failed", message: null, details: null }]
})

/** One status webhook item, as the worker's inbox processor records it: matched and observed, or parked. */
export const status = (s: StatusFact): Effect.Effect<StatusReports.StatusReportOutcome, never, EventStore.EventStore | StatusReports.StatusMatching> =>
  Effect.orDie(StatusReports.recordStatusReport({
    channel: s.channel,
    bizOpaqueCallbackData: s.callbackData ?? null,
    observation: observation(s),
    dedupeKey: `status:${s.wamid}:${s.status}:${s.timestamp}`
  }, s.timestamp))

/** Brings the read side up to date before a question: whatever a store left behind its checkpoints. */
export const caughtUp = Effect.asVoid(Effect.flatMap(ProjectionRunner, (runner) => runner.catchUp()))

/** What every read-side suite's store provides: the domain's write side, the runner and the port asked. */
export type ReadSide<Port> = Port | EventStore.EventStore | UnitOfWork.UnitOfWork | StatusReports.StatusMatching | ProjectionRunner

/**
 * Two tenants, as the contract suites use them: Business Manager 1 with WABA 10, onboarded (terms
 * signed at 1), its channel 100 and channel 101 forced to the Cloud API; Business Manager 2 with WABA
 * 20, not onboarded, and its channel 200. Both WABAs have the MARKETING template `spring_sale`.
 */
export const twoTenants = Effect.all([
  registerBusinessManager("1", 1, "Acme"),
  registerWaba("10", "1", 1),
  signWabaTerms("10", 1),
  registerChannel("100", "10", 1),
  registerChannel("101", "10", 1, { routing: "cloud_api" }),
  recordTemplate("10", "spring_sale", "MARKETING", 1),
  registerBusinessManager("2", 1, "Globex"),
  registerWaba("20", "2", 1),
  registerChannel("200", "20", 1),
  recordTemplate("20", "spring_sale", "MARKETING", 1)
], { discard: true })
