/**
 * The model of the model-based test of invariant 5 (docs/invariants.md#invariant-5): the pure domain over an
 * in-memory log. A command is decided on the fold of its stream, and every read model the API and the worker
 * query is derived here from the folds of the streams — by what the read models mean, not by the SQL that
 * builds them — so the test can compare the two after every command.
 */
import {
  type BusinessManager,
  type Channel,
  Decider,
  type Events,
  Message,
  type PartnerSettings,
  Streams,
  type Template,
  type UserAction,
  Waba
} from "@mm-gateway/domain"
import type { Either } from "effect"
import type {
  BusinessManagerView,
  CampaignStats,
  ChannelDispatchView,
  ClickView,
  MessageResource,
  MessageWork,
  TemplateView,
  TenantScope,
  WabaView
} from "../../src/queries.js"
import * as ReadViews from "../../src/views.js"
import { type AnyCommand, target } from "./commands.js"

interface Logged {
  readonly event: Events.DomainEvent
  /** Append order over the whole log: the model's global position. */
  readonly seq: number
}

const byKey = <A>(key: (a: A) => ReadonlyArray<string | number>) => (a: A, b: A): number => {
  const ka = key(a)
  const kb = key(b)
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1
  return 0
}

/** JSON is how the read models store their views: compare like with like (no `undefined`, plain objects). */
const asStored = <A>(a: A): A => JSON.parse(JSON.stringify(a)) as A

export class LogModel {
  private readonly streams = new Map<string, Array<Logged>>()
  private seq = 0
  /** Folds are asked for many times between two appends: computed once each. */
  private readonly memo = new Map<string, unknown>()

  private cached<A>(key: string, compute: () => A): A {
    if (!this.memo.has(key)) this.memo.set(key, compute())
    return this.memo.get(key) as A
  }

  /** What the domain decides for `c` on the current fold of its stream. */
  decide(c: AnyCommand): Either.Either<ReadonlyArray<Events.DomainEvent>, unknown> {
    const { kind, streamId: id } = target(c)
    return kind.decider.decide(c.command, Decider.fold(kind.decider, this.events(id)))
  }

  append(id: string, events: ReadonlyArray<Events.DomainEvent>): void {
    const stream = this.streams.get(id) ?? []
    for (const event of events) stream.push({ event, seq: ++this.seq })
    if (stream.length > 0) this.streams.set(id, stream)
    this.memo.clear()
  }

  events(id: string): ReadonlyArray<Events.DomainEvent> {
    return (this.streams.get(id) ?? []).map((l) => l.event)
  }

  logged(category: string): ReadonlyArray<readonly [string, ReadonlyArray<Logged>]> {
    return [...this.streams].filter(([id]) => Streams.categoryOf(id) === category)
  }

  // ---- folds -------------------------------------------------------------------------------------

  businessManager(id: string): BusinessManager.BusinessManagerState | null {
    return this.cached(`bm:${id}`, () => {
      const events = this.events(Streams.streamId.businessManager(id))
      return events.length === 0 ? null : Decider.fold(Streams.BusinessManagerStream.decider, events as Array<BusinessManager.BusinessManagerEvent>)
    })
  }

  waba(id: string): Waba.WabaState | null {
    return this.cached(`waba:${id}`, () => {
      const events = this.events(Streams.streamId.waba(id))
      return events.length === 0 ? null : Decider.fold(Streams.WabaStream.decider, events as Array<Waba.WabaEvent>)
    })
  }

  wabaIds(): ReadonlyArray<string> {
    return this.logged("Waba").map(([id]) => id.slice("Waba-".length)).sort()
  }

  message(id: string): Message.MessageRecord | null {
    return this.cached(`message:${id}`, () => {
      const state = Decider.fold(Streams.MessageStream.decider, this.events(Streams.streamId.message(id)) as Array<Message.MessageEvent>)
      return state._tag === "Requested" ? state.message : null
    })
  }

  messages(): ReadonlyArray<Message.MessageRecord> {
    return this.cached("messages", () =>
      this.logged("Message").flatMap(([id]) => {
        const m = this.message(id.slice("Message-".length))
        return m === null ? [] : [m]
      }))
  }

  // ---- the read models ---------------------------------------------------------------------------

  wabaView(id: string, now: number): WabaView | null {
    const state = this.waba(id)
    if (state === null) return null
    const bm = state.businessManagerId === null ? null : this.businessManager(state.businessManagerId)
    const mmApi = Waba.mmApiStatus(state, bm, now)
    const meta = state.meta ?? null
    const says = meta === null ? null : Waba.metaSaysOnboarded(meta.status)
    return {
      id,
      businessManagerId: state.businessManagerId,
      name: state.name,
      mmApi,
      meta: meta === null ? null : { ...meta, agrees: says === null ? null : says === (mmApi.status === "onboarded") },
      metaSyncRequestedAt: state.metaSyncRequestedAt ?? null,
      templateSyncRequestedAt: state.templateSyncRequestedAt ?? null
    }
  }

  wabaViews(now: number, filter: { readonly status?: Waba.MmApiStatusView["status"]; readonly businessManagerIds?: ReadonlyArray<string> } = {}) {
    return this.wabaIds()
      .map((id) => this.wabaView(id, now)!)
      .filter((w) => filter.status === undefined || w.mmApi.status === filter.status)
      .filter((w) => filter.businessManagerIds === undefined || (w.businessManagerId !== null && filter.businessManagerIds.includes(w.businessManagerId)))
  }

  businessManagerView(id: string, now: number): BusinessManagerView | null {
    const state = this.businessManager(id)
    if (state === null) return null
    // The link shown is the latest invitation's; the decider only accepts invitations newer than the last.
    const invitations = this.events(Streams.streamId.businessManager(id)).filter((e) => e._tag === "OnboardingInvitationIssued")
    const last = invitations.at(-1)
    return {
      id,
      name: state.name,
      mmApi: { termsSigned: state.termsSignedAt !== null, signedAt: state.termsSignedAt, invitedAt: state.invitedAt },
      invitationLink: last?._tag === "OnboardingInvitationIssued" ? last.link : null,
      metaRequest: state.metaRequest ?? null,
      wabas: this.wabaViews(now, { businessManagerIds: [id] })
    }
  }

  channelView(id: string): ChannelDispatchView | null {
    const events = this.events(Streams.streamId.channel(id)) as Array<Channel.ChannelEvent>
    const state = Decider.fold(Streams.ChannelStream.decider, events)
    if (state._tag !== "Registered") return null
    return {
      phoneNumberId: id,
      wabaId: state.config.wabaId,
      displayPhoneNumber: state.config.displayPhoneNumber,
      provider: state.config.provider,
      routing: state.routing,
      throughputMps: state.config.throughputMps,
      registeredAt: events[0]!.at,
      updatedAt: events.at(-1)!.at,
      credentialsRef: state.config.credentialsRef
    }
  }

  routingSettings(): PartnerSettings.RoutingSettings {
    const state = Decider.fold(Streams.PartnerSettingsStream.decider, this.events(Streams.streamId.partnerSettings()) as Array<PartnerSettings.PartnerSettingsEvent>)
    return { marketingViaMmApi: state.marketingViaMmApi, ttlOnCloudFallback: state.ttlOnCloudFallback }
  }

  templateView(wabaId: string, name: string, language: string): TemplateView | null {
    const events = this.events(Streams.streamId.template(wabaId, name, language)) as Array<Template.TemplateEvent>
    if (events.length === 0) return null
    const state = Decider.fold(Streams.TemplateStream.decider, events)
    const statuses = events.filter((e) => e._tag === "TemplateStatusChanged")
    const lastStatus = statuses.at(-1)
    return asStored({
      wabaId,
      name,
      language,
      category: state.category,
      categorySource: state.categorySource,
      ttlSeconds: state.ttlSeconds,
      status: state.status,
      statusReason: lastStatus?._tag === "TemplateStatusChanged" ? lastStatus.reason : null,
      impending: state.impending,
      refusedAsNotMarketing: state.refusedAsNotMarketing == null
        ? null
        : { errorCode: state.refusedAsNotMarketing.errorCode, occurredAt: state.refusedAsNotMarketing.occurredAt },
      updatedAt: events.at(-1)!.at
    })
  }

  templateViews(wabaId: string): ReadonlyArray<TemplateView> {
    return this.logged("Template")
      .map(([, logged]) => logged[0]!.event as Template.TemplateEvent)
      .filter((e) => e.wabaId === wabaId)
      .map((e) => this.templateView(e.wabaId, e.name, e.language)!)
      .sort(byKey((t) => [t.name, t.language]))
  }

  messageView(id: string): MessageResource | null {
    const m = this.messages().find((r) => r.request.messageId === id)
    return m === undefined ? null : asStored(ReadViews.messageResource(m))
  }

  messagesByWamid(wamid: string): ReadonlyArray<MessageResource> {
    return this.messages()
      .filter((m) => m.wamid === wamid)
      .sort(byKey((m) => [m.request.messageId]))
      .map((m) => asStored(ReadViews.messageResource(m)))
  }

  messagesToRecipient(channel: string, recipient: string, from: number, to: number): ReadonlyArray<MessageResource> {
    return this.messages()
      .filter((m) => m.request.channel === channel && m.request.to === recipient && m.request.at >= from && m.request.at <= to)
      .sort(byKey((m) => [m.request.at, m.request.messageId]))
      .map((m) => asStored(ReadViews.messageResource(m)))
  }

  /** The campaign stats (docs/api.md#resources), counted message by message. */
  campaignStats(campaignId: string, scope: TenantScope | null = null): CampaignStats {
    const inScope = (m: Message.MessageRecord) => {
      if (scope === null || scope.channelIds.includes(m.request.channel)) return true
      const owner = this.waba(m.request.wabaId)?.businessManagerId ?? null
      return owner !== null && scope.businessManagerIds.includes(owner)
    }
    const messages = this.messages().filter((m) => m.request.campaignId === campaignId && inScope(m))
    const viewed = this.viewedMessages()
    const count = (p: (m: Message.MessageRecord, v: Message.MessageView) => boolean) =>
      messages.filter((m) => p(m, Message.viewOf(m))).length
    // The provider took the message: it answered the dispatch, or a status webhook names it (even `failed`).
    const submitted = (m: Message.MessageRecord) => m.submittedAt !== null || m.phase._tag === "Submitted" || m.observations.length > 0
    const failuresByCode: Record<string, number> = {}
    for (const m of messages) {
      const v = Message.viewOf(m)
      if (v.status !== "failed") continue
      for (const code of new Set(v.errors.map((e) => e.code))) failuresByCode[String(code)] = (failuresByCode[String(code)] ?? 0) + 1
    }
    return {
      campaignId,
      funnel: {
        accepted: messages.length,
        submitted: count(submitted),
        sent: count((_, v) => v.timestamps.sentAt !== null || v.timestamps.deliveredAt !== null),
        delivered: count((_, v) => v.timestamps.deliveredAt !== null),
        read: count((_, v) => v.timestamps.readAt !== null),
        clicked: count((m) => m.clicks.length > 0),
        landingPageViews: count((m) => viewed.has(m.request.messageId))
      },
      routed: { marketing_messages: count((m) => m.route === "marketing_messages"), cloud_api: count((m) => m.route === "cloud_api") },
      observedRoute: {
        marketing_messages: count((_, v) => v.observedRoute === "marketing_messages"),
        cloud_api: count((_, v) => v.observedRoute === "cloud_api"),
        unknown: count((_, v) => v.observedRoute === null)
      },
      queued: count((_, v) => v.status === "accepted"),
      failed: count((_, v) => v.status === "failed"),
      expired: count((_, v) => v.status === "expired"),
      dispatchUnknown: count((_, v) => v.status === "dispatch_unknown"),
      routeMismatch: count((_, v) => v.routeMismatch),
      failuresByCode
    }
  }

  /**
   * The message of `channel` a click id was attributed to first (in log order), whichever came first,
   * click or attribution; attributions to messages of other channels do not count.
   */
  clickAttribution(clickId: string, channel: string): string | null {
    const attributions = this.logged("Message")
      .flatMap(([, logged]) => logged)
      .filter((l) =>
        l.event._tag === "ClickAttributed" && l.event.clickId === clickId && this.message(l.event.messageId)?.request.channel === channel
      )
      .sort(byKey((l) => [l.seq]))
    const first = attributions[0]?.event
    return first?._tag === "ClickAttributed" ? first.messageId : null
  }

  /** Every user action once, in log order. */
  private userActions(): ReadonlyArray<UserAction.UserActionEvent> {
    return this.logged("UserAction")
      .map(([, logged]) => logged[0]!)
      .sort(byKey((l) => [l.seq]))
      .map((l) => l.event as UserAction.UserActionEvent)
  }

  /**
   * A landing page view's click: of the link clicks of its channel in log order, the first that shares
   * its tracking token, or else the first that shares its click id.
   */
  private clickOfView(view: UserAction.UserActionEvent): UserAction.UserActionEvent | null {
    if (view.actionType !== "landing_page_view") return null
    const clicks = this.userActions().filter((a) => a.channel === view.channel && a.kind === "link_click")
    return clicks.find((a) => view.trackingToken !== null && a.trackingToken === view.trackingToken) ??
      clicks.find((a) => view.clickId !== null && a.clickId === view.clickId) ?? null
  }

  private messageOfAction(e: UserAction.UserActionEvent): string | null {
    const clickId = this.clickOfView(e)?.clickId ?? e.clickId
    return clickId === null ? null : this.clickAttribution(clickId, e.channel)
  }

  /** The messages some landing page view is tied to. */
  private viewedMessages(): ReadonlySet<string> {
    return new Set(this.userActions().filter((e) => e.actionType === "landing_page_view").flatMap((e) => {
      const m = this.messageOfAction(e)
      return m === null ? [] : [m]
    }))
  }

  clicks(channel: string): ReadonlyArray<ClickView> {
    return this.userActions()
      .filter((e) => e.channel === channel)
      .map((e) => {
        const click = this.clickOfView(e)
        return {
          actionType: e.actionType,
          kind: e.kind,
          clickId: e.clickId,
          trackingToken: e.trackingToken,
          component: e.component,
          productId: e.productId,
          occurredAt: e.occurredAt,
          messageId: this.messageOfAction(e),
          joinedClick: click === null ? null : { clickId: click.clickId, trackingToken: click.trackingToken, occurredAt: click.occurredAt }
        }
      })
  }

  // ---- the worker's look-ups ---------------------------------------------------------------------

  private work(m: Message.MessageRecord): MessageWork {
    const phase = m.phase
    return {
      id: m.request.messageId,
      channel: m.request.channel,
      acceptedAt: m.request.at,
      attempt: phase.attempt,
      phaseSince: phase._tag === "InFlight" ? phase.startedAt : "since" in phase ? phase.since : null,
      expiryDeadline: Message.expiryDeadline(m)
    }
  }

  /** The times at which a worker look-up changes its answer: when a backoff ends, when a TTL runs out. */
  boundaries(): ReadonlyArray<number> {
    const times = new Set<number>()
    for (const m of this.messages()) {
      if (m.phase._tag === "Ready" && m.phase.notBefore !== null) times.add(m.phase.notBefore)
      const deadline = Message.expiryDeadline(m)
      if (deadline !== null) times.add(deadline)
    }
    return [...times].flatMap((t) => [t - 1, t])
  }

  dispatchable(now: number): ReadonlyArray<MessageWork> {
    return this.messages()
      .filter((m) => m.phase._tag === "Ready" && (m.phase.notBefore === null || m.phase.notBefore <= now))
      .sort(byKey((m) => [m.request.at, m.request.messageId]))
      .map((m) => this.work(m))
  }

  inDispatchPhase(phase: Message.DispatchPhase["_tag"]): ReadonlyArray<MessageWork> {
    return this.messages()
      .filter((m) => m.phase._tag === phase)
      .sort(byKey((m) => [m.request.messageId]))
      .map((m) => this.work(m))
  }

  expiryDue(now: number): ReadonlyArray<MessageWork> {
    return this.messages()
      .filter((m) => {
        const deadline = Message.expiryDeadline(m)
        const status = Message.viewOf(m).status
        return deadline !== null && deadline <= now && (status === "submitted" || status === "sent")
      })
      .sort(byKey((m) => [Message.expiryDeadline(m)!, m.request.messageId]))
      .map((m) => this.work(m))
  }
}
