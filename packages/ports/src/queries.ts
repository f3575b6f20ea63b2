import type { BusinessManager, Channel, Message, PartnerSettings, ProviderGateway, Routing, Status, Waba } from "@mm-gateway/domain"
import { Context, type Effect } from "effect"
import type { Page } from "./pagination.js"

/*
 * The read side, as small questions named for who asks them. A store answers them from its read
 * models; times that depend on "now" (a restriction's end) take `now` explicitly.
 */

export interface WabaView {
  readonly id: string
  readonly businessManagerId: string | null
  readonly name: string | null
  readonly mmApi: Waba.MmApiStatusView
  /**
   * The status last read from Meta (`marketing_messages_onboarding_status` of the WABA and of its
   * business portfolio), beside the derived one; `agrees` says whether Meta's says the same (`null`: a
   * value that says nothing of onboarding). `null` before the first read.
   */
  readonly meta: {
    readonly status: string | null
    readonly businessStatus: string | null
    readonly readAt: number
    readonly agrees: boolean | null
  } | null
  /** When a read from Meta was last asked for (`null`: never). */
  readonly metaSyncRequestedAt: number | null
  /** When a read of the WABA's template list from Meta was last asked for (`null`: never). */
  readonly templateSyncRequestedAt: number | null
}

export interface BusinessManagerView {
  readonly id: string
  readonly name: string | null
  readonly mmApi: { readonly termsSigned: boolean; readonly signedAt: number | null; readonly invitedAt: number | null }
  readonly invitationLink: string | null
  /** The latest request through Meta's Intent API (`null`: none), as Meta answered it. */
  readonly metaRequest: BusinessManager.MetaOnboardingRequest | null
  readonly wabas: ReadonlyArray<WabaView>
}

/** A channel as the API shows it: never a secret (only the dispatcher resolves `credentialsRef`). */
export interface ChannelView {
  readonly phoneNumberId: string
  readonly wabaId: string
  readonly displayPhoneNumber: string
  readonly provider: Channel.Provider
  readonly routing: Channel.ChannelRouting
  readonly throughputMps: number
  readonly registeredAt: number
  readonly updatedAt: number
}

export interface ChannelDispatchView extends ChannelView {
  readonly credentialsRef: string
}

export interface TemplateView {
  readonly wabaId: string
  readonly name: string
  readonly language: string
  readonly category: string | null
  /** Where the category came from: `operator`, a webhook (`category_update`, `status_update`), Meta's template list (`meta_api`). */
  readonly categorySource: string | null
  readonly ttlSeconds: number | null
  readonly status: string | null
  readonly statusReason: string | null
  readonly impending: { readonly correctCategory: string; readonly effectiveAt: number | null; readonly occurredAt: number } | null
  /** The MM route refused the template as not marketing (131055/134100) and no newer category fact says otherwise: routed to the Cloud API. */
  readonly refusedAsNotMarketing: { readonly errorCode: number; readonly occurredAt: number } | null
  readonly updatedAt: number
}

export interface CampaignStats {
  readonly campaignId: string
  readonly funnel: {
    readonly accepted: number
    readonly submitted: number
    readonly sent: number
    readonly delivered: number
    readonly read: number
    readonly clicked: number
    /** Messages with a landing page view: a view whose click (joined by `tracking_token`, then `click_id`) is attributed to the message. */
    readonly landingPageViews: number
  }
  readonly routed: Record<Routing.Route, number>
  readonly observedRoute: Record<Routing.Route | "unknown", number>
  /**
   * Still at status `accepted`: not yet taken by the provider and not final — waiting for the
   * dispatcher, backing off, in flight, or with an outcome not known yet (until the dispatch-unknown
   * window marks it `dispatch_unknown`).
   */
  readonly queued: number
  readonly failed: number
  readonly expired: number
  readonly dispatchUnknown: number
  readonly routeMismatch: number
  readonly failuresByCode: Readonly<Record<string, number>>
}

/** A campaign as the console lists it: its messages (as the scope sees them) and when they were accepted. */
export interface CampaignSummary {
  readonly campaignId: string
  readonly messages: number
  readonly firstAcceptedAt: number
  readonly lastAcceptedAt: number
}

export interface ClickView {
  readonly actionType: string
  readonly kind: string
  readonly clickId: string | null
  readonly trackingToken: string | null
  readonly component: string | null
  readonly productId: string | null
  readonly occurredAt: number
  /**
   * The message the action is tied to: the one its click id is attributed to — for a landing page view,
   * the click id of the click it joins when it joins one, else its own.
   */
  readonly messageId: string | null
  /**
   * For a landing page view, the link click it joins (docs/domain.md#clicks): on its channel, the one
   * with its `tracking_token`, else the one with its `click_id`, whichever arrived first; `null` while
   * there is none (the view is kept all the same). `null` for every other action.
   */
  readonly joinedClick: { readonly clickId: string | null; readonly trackingToken: string | null; readonly occurredAt: number } | null
}

/** What the worker needs to pick a message up; it folds the stream itself before deciding anything. */
export interface MessageWork {
  readonly id: string
  readonly channel: string
  readonly acceptedAt: number
  readonly attempt: number
  /** Since when the message has been in its dispatch phase, where the phase says (`InFlight`, `OutcomeUnknown`, `DispatchUnknown`). */
  readonly phaseSince: number | null
  readonly expiryDeadline: number | null
}

export interface ListOptions {
  readonly limit?: number
  readonly cursor?: string | null
}

/** A message as the API shows it (docs/api.md#resources), times in epoch milliseconds; the API renders ISO-8601. */
export interface MessageResource {
  readonly id: string
  readonly channel: string
  readonly wabaId: string
  /** The recipient's number; `null` for a message addressed by BSUID (then `recipient`). */
  readonly to: string | null
  readonly recipient: string | null
  readonly campaignId: string | null
  /** The client's own `biz_opaque_callback_data`, shown back to it. */
  readonly clientCallbackData: string | null
  readonly template: { readonly name: string; readonly language: string; readonly category: string | null } | null
  readonly route: {
    readonly decided: Routing.Route
    readonly reasons: ReadonlyArray<string>
    readonly warnings: ReadonlyArray<string>
    readonly observed: Routing.Route | null
    readonly rerouted: ReadonlyArray<{ readonly from: Routing.Route; readonly to: Routing.Route; readonly reason: string }>
  }
  readonly status: Status.MessageStatus
  readonly wamid: string | null
  readonly timestamps: Message.MessageView["timestamps"]
  readonly errors: ReadonlyArray<ProviderGateway.ProviderError>
  readonly pricing: Message.MessageView["pricing"]
  readonly routeMismatch: boolean
  readonly failedAfterDelivery: boolean
  readonly clickIds: ReadonlyArray<string>
  readonly dispatch: { readonly phase: Message.DispatchPhase["_tag"]; readonly attempt: number }
}

/** The API's onboarding reads: Business Managers and WABAs with their MM API status, as of `now`. */
export class OnboardingQueries extends Context.Tag("@mm-gateway/ports/OnboardingQueries")<OnboardingQueries, {
  readonly businessManager: (id: string, now: number) => Effect.Effect<BusinessManagerView | null>
  /** Business Managers by id, each as `businessManager` shows it; `businessManagerIds` narrows the list to those (a scoped API key). */
  readonly businessManagers: (
    options: ListOptions & { readonly now: number; readonly businessManagerIds?: ReadonlyArray<string> }
  ) => Effect.Effect<Page<BusinessManagerView>>
  readonly waba: (id: string, now: number) => Effect.Effect<WabaView | null>
  /** WABAs by id; `businessManagerIds` narrows the list to those Business Managers (a scoped API key). */
  readonly wabas: (
    options: ListOptions & { readonly status?: Waba.MmApiStatus; readonly now: number; readonly businessManagerIds?: ReadonlyArray<string> }
  ) => Effect.Effect<Page<WabaView>>
}>() {}

/** The API's configuration reads: channels (without secrets), the partner-wide routing setting, templates. */
export class ConfigurationQueries extends Context.Tag("@mm-gateway/ports/ConfigurationQueries")<ConfigurationQueries, {
  readonly channel: (phoneNumberId: string) => Effect.Effect<ChannelView | null>
  readonly routingSettings: () => Effect.Effect<PartnerSettings.RoutingSettings>
  readonly template: (wabaId: string, name: string, language: string) => Effect.Effect<TemplateView | null>
  readonly templates: (wabaId: string, options?: ListOptions) => Effect.Effect<Page<TemplateView>>
  /**
   * Every channel by phone number id; a `scope` keeps those it sees: the channels of its Business
   * Managers' WABAs and its own channels.
   */
  readonly listChannels: (options?: ListOptions & { readonly scope?: TenantScope | null }) => Effect.Effect<Page<ChannelView>>
}>() {}

/**
 * What a scoped API key sees: its Business Managers and everything under them, and its channels with
 * their messages (docs/api.md#authentication-and-tenancy).
 */
export interface TenantScope {
  readonly businessManagerIds: ReadonlyArray<string>
  readonly channelIds: ReadonlyArray<string>
}

/** The API's message reads: one message, by wamid or by recipient, a campaign's funnel, the campaigns. */
export class MessageQueries extends Context.Tag("@mm-gateway/ports/MessageQueries")<MessageQueries, {
  readonly message: (id: string) => Effect.Effect<MessageResource | null>
  readonly messagesByWamid: (wamid: string) => Effect.Effect<ReadonlyArray<MessageResource>>
  /**
   * The funnel over the campaign's messages; a `scope` counts only the messages it sees: those of its
   * Business Managers' WABAs and those sent on its channels.
   */
  readonly campaignStats: (campaignId: string, scope?: TenantScope | null) => Effect.Effect<CampaignStats>
  /**
   * The campaigns, newest first (by their first message's acceptance, then id, descending); a `scope`
   * counts only the messages it sees (as `campaignStats`), and a campaign it sees none of is not listed.
   */
  readonly campaigns: (options?: ListOptions & { readonly scope?: TenantScope | null }) => Effect.Effect<Page<CampaignSummary>>
  /**
   * The messages to one recipient on any channel, newest first (by acceptance, then id, descending); a
   * `scope` keeps those it sees (as `campaignStats`).
   */
  readonly messagesByRecipient: (
    recipient: string,
    options?: ListOptions & { readonly scope?: TenantScope | null }
  ) => Effect.Effect<Page<MessageResource>>
}>() {}

/** The API's click reads: user actions per channel and which message a click is attributed to. */
export class ClickQueries extends Context.Tag("@mm-gateway/ports/ClickQueries")<ClickQueries, {
  /**
   * The message of `channel` a click id is attributed to (the earliest such attribution), if any.
   * Attributions are per channel: one to a message elsewhere says nothing about this channel's click.
   */
  readonly clickAttribution: (clickId: string, channel: string) => Effect.Effect<string | null>
  /** The channels a click id was recorded on by webhook (none while its webhook has not arrived). */
  readonly clickChannels: (clickId: string) => Effect.Effect<ReadonlyArray<string>>
  /** The channel's user actions in arrival order, each tied to the message `clickAttribution` names for it. */
  readonly clicks: (channel: string, options?: ListOptions) => Effect.Effect<Page<ClickView>>
}>() {}

/** `DispatchQueue.recentStarts` answers for at least this long before the channel's latest start. */
export const RECENT_STARTS_KEPT_MS = 60_000

/**
 * The worker's reads: what is ready to send, what waits in a dispatch phase, what expired, the
 * channels and a channel with its credentials reference, and what a channel sent lately.
 */
export class DispatchQueue extends Context.Tag("@mm-gateway/ports/DispatchQueue")<DispatchQueue, {
  /**
   * Messages ready for a dispatch attempt at `now` (not backing off), oldest first; `after` continues
   * from the last one of a previous page (so a dispatcher can sweep past a channel whose queue is full);
   * `channels`, when given, keeps to those channels' messages (the ones a worker holds).
   */
  readonly dispatchable: (
    now: number,
    limit: number,
    after?: { readonly acceptedAt: number; readonly id: string } | null,
    channels?: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<MessageWork>>
  readonly channelForDispatch: (phoneNumberId: string) => Effect.Effect<ChannelDispatchView | null>
  /** Every registered channel's phone number id, in order: what the workers share out. */
  readonly channels: () => Effect.Effect<ReadonlyArray<string>>
  /**
   * When the channel's dispatch attempts started (each `DispatchStarted`'s time), at or after `since`,
   * oldest first: what a worker taking the channel over counts in its rate window. A store answers
   * this for at least `RECENT_STARTS_KEPT_MS` before the channel's latest start.
   */
  readonly recentStarts: (channel: string, since: number) => Effect.Effect<ReadonlyArray<number>>
  /** Messages in a dispatch phase (e.g. `OutcomeUnknown` for the dispatch-unknown timer), by id. */
  readonly inDispatchPhase: (phase: Message.DispatchPhase["_tag"], options?: ListOptions) => Effect.Effect<Page<MessageWork>>
  /** Messages whose TTL deadline has passed at `now` and that are still only submitted or sent. */
  readonly expiryDue: (now: number, limit: number) => Effect.Effect<ReadonlyArray<MessageWork>>
  /** Messages to one recipient from one channel accepted within [from, to]: matching a status whose wamid is unknown. */
  readonly messagesToRecipient: (channel: string, recipient: string, from: number, to: number) => Effect.Effect<ReadonlyArray<MessageResource>>
}>() {}
