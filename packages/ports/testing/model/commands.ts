/**
 * Commands of every stream kind, as the model-based test of invariant 5 and the two-writer tests run
 * them through a store (docs/invariants.md#invariant-5): builders for the ones they use, the stream
 * each is aimed at, and `run`, the domain's command handler on whatever store is provided.
 */
import {
  type BusinessManager,
  type Channel,
  CommandHandler,
  type Events,
  type EventStore,
  type Message,
  type PartnerSettings,
  type Recipient,
  Streams,
  type Template,
  type UserAction,
  type Waba
} from "@mm-gateway/domain"
import { Effect, type Either } from "effect"

/** A command aimed at the stream it belongs to, so a test can run any mix of them through `handleCommand`. */
export type AnyCommand =
  | { readonly stream: "BusinessManager"; readonly command: BusinessManager.BusinessManagerCommand }
  | { readonly stream: "Waba"; readonly command: Waba.WabaCommand }
  | { readonly stream: "Channel"; readonly command: Channel.ChannelCommand }
  | { readonly stream: "PartnerSettings"; readonly command: PartnerSettings.PartnerSettingsCommand }
  | { readonly stream: "Template"; readonly command: Template.TemplateCommand }
  | { readonly stream: "Message"; readonly command: Message.MessageCommand }
  | { readonly stream: "Recipient"; readonly command: Recipient.RecipientCommand }
  | { readonly stream: "UserAction"; readonly command: UserAction.UserActionCommand }

/** A stream kind of any command, erased to what `handleCommand` and a fold need. */
export type AnyStreamKind = Streams.StreamKind<unknown, Events.DomainEvent, unknown, unknown>

/** The stream a command is aimed at, and its kind. */
export const target = (c: AnyCommand): { readonly kind: AnyStreamKind; readonly streamId: string } => {
  const aim = <C, E extends Events.DomainEvent, S, X>(kind: Streams.StreamKind<C, E, S, X>, streamId: string) => ({
    kind: kind as unknown as AnyStreamKind,
    streamId
  })
  switch (c.stream) {
    case "BusinessManager":
      return aim(Streams.BusinessManagerStream, Streams.streamId.businessManager(c.command.businessManagerId))
    case "Waba":
      return aim(Streams.WabaStream, Streams.streamId.waba(c.command.wabaId))
    case "Channel":
      return aim(Streams.ChannelStream, Streams.streamId.channel(c.command.phoneNumberId))
    case "PartnerSettings":
      return aim(Streams.PartnerSettingsStream, Streams.streamId.partnerSettings())
    case "Template":
      return aim(Streams.TemplateStream, Streams.streamId.template(c.command.wabaId, c.command.name, c.command.language))
    case "Message":
      return aim(Streams.MessageStream, Streams.streamId.message(c.command.messageId))
    case "Recipient":
      return aim(Streams.RecipientStream, Streams.streamId.recipient(c.command.wabaId, c.command.recipient))
    case "UserAction": {
      const u = c.command
      return aim(Streams.UserActionStream, Streams.streamId.userAction(u.channel, u.actionType, u.clickId, u.trackingToken, u.occurredAt))
    }
  }
}

/** Runs one command through the domain's command handler; domain rejections come back as `Left`. */
export const run = (c: AnyCommand): Effect.Effect<Either.Either<CommandHandler.Handled<Events.DomainEvent, unknown>, unknown>, never, EventStore.EventStore> => {
  const { kind, streamId } = target(c)
  return Effect.either(CommandHandler.handleCommand(kind, streamId, c.command))
}

// ---- builders for the commands the scenarios use --------------------------------------------------

export const ids = {
  bm: (n: number) => String(n) as BusinessManager.BusinessManagerCommand["businessManagerId"],
  waba: (n: number) => String(n) as Waba.WabaCommand["wabaId"],
  phone: (n: number) => String(n) as Channel.ChannelCommand["phoneNumberId"],
  message: (s: string) => s as Message.MessageCommand["messageId"],
  wamid: (s: string) => s as (typeof Message.DispatchSucceeded.Type)["wamid"]
}

export const registerBm = (bm: number, at: number, name: string | null = null): AnyCommand => ({
  stream: "BusinessManager",
  command: { _tag: "RegisterBusinessManager", businessManagerId: ids.bm(bm), name, at }
})

export const businessTermsSigned = (bm: number, signedAt: number, at = signedAt): AnyCommand => ({
  stream: "BusinessManager",
  command: { _tag: "RecordBusinessTermsSigned", businessManagerId: ids.bm(bm), signedAt, at }
})

export const registerWaba = (waba: number, bm: number, at: number): AnyCommand => ({
  stream: "Waba",
  command: { _tag: "RegisterWaba", wabaId: ids.waba(waba), businessManagerId: ids.bm(bm), name: null, at }
})

export const wabaTermsSigned = (waba: number, signedAt: number): AnyCommand => ({
  stream: "Waba",
  command: { _tag: "RecordWabaTermsSigned", wabaId: ids.waba(waba), ownerBusinessId: null, signedAt, at: signedAt }
})

export const suspend = (waba: number, occurredAt: number, expiresAt: number | null): AnyCommand => ({
  stream: "Waba",
  command: { _tag: "RecordSuspension", wabaId: ids.waba(waba), kind: "account_restriction", occurredAt, expiresAt, at: occurredAt }
})

export const registerChannel = (phone: number, waba: number, at: number, routing: "inherit" | "cloud_api" | "marketing_messages" = "inherit"): AnyCommand => ({
  stream: "Channel",
  command: {
    _tag: "RegisterChannel",
    phoneNumberId: ids.phone(phone),
    wabaId: ids.waba(waba),
    displayPhoneNumber: `+1 555 ${phone}`,
    provider: "sandbox",
    credentialsRef: `cred-${phone}`,
    throughputMps: 80,
    routing,
    at
  }
})

export const recordTemplate = (waba: number, name: string, category: "MARKETING" | "UTILITY", ttlSeconds: number | null, at: number): AnyCommand => ({
  stream: "Template",
  command: { _tag: "RecordTemplate", wabaId: ids.waba(waba), name, language: "en", category, ttlSeconds, at }
})

export const requestMessage = (
  id: string,
  options: {
    readonly channel?: number
    readonly waba?: number
    readonly campaign?: string | null
    readonly route?: "marketing_messages" | "cloud_api"
    readonly at?: number
    readonly to?: string
    readonly ttlSeconds?: number | null
  }
): AnyCommand => {
  const route = options.route ?? "marketing_messages"
  return {
    stream: "Message",
    command: {
      _tag: "RequestMessage",
      messageId: ids.message(id),
      channel: ids.phone(options.channel ?? 100),
      wabaId: ids.waba(options.waba ?? 10),
      to: (options.to ?? "16505551234") as (typeof Message.RequestMessage.Type)["to"],
      endpoint: "marketing_messages",
      messageType: "template",
      template: { name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: options.ttlSeconds ?? null },
      productPolicy: null,
      messageActivitySharing: null,
      clientCallbackData: null,
      campaignId: options.campaign === undefined ? "c1" as never : options.campaign as never,
      idempotencyKey: null,
      requestHash: `hash-${id}`,
      requestedBy: "admin",
      payload: { type: "template" },
      decision: {
        _tag: "Routed",
        route,
        reasons: [route === "marketing_messages" ? "mm_api_eligible" : "waba_not_onboarded"],
        warnings: [],
        productPolicy: null,
        mmOptionsApply: route === "marketing_messages"
      },
      at: options.at ?? 1000
    }
  }
}

export const startDispatch = (id: string, attempt: number, at: number): AnyCommand => ({
  stream: "Message",
  command: { _tag: "StartDispatch", messageId: ids.message(id), attempt, at }
})

export const dispatchSucceeded = (id: string, attempt: number, wamid: string, at: number): AnyCommand => ({
  stream: "Message",
  command: { _tag: "RecordDispatchSucceeded", messageId: ids.message(id), attempt, wamid: ids.wamid(wamid), providerStatus: "accepted", at }
})

export const dispatchFailed = (id: string, attempt: number, code: number, final: boolean, at: number): AnyCommand => ({
  stream: "Message",
  command: {
    _tag: "RecordDispatchFailed",
    messageId: ids.message(id),
    attempt,
    httpStatus: 400,
    error: { code, title: "error", message: null, details: null },
    reason: `meta_${code}`,
    outcome: final ? { _tag: "Final" } : { _tag: "RetryLater", notBefore: at + 1000 },
    at
  }
})

export const dispatchOutcomeUnknown = (id: string, attempt: number, at: number): AnyCommand => ({
  stream: "Message",
  command: { _tag: "RecordDispatchOutcomeUnknown", messageId: ids.message(id), attempt, reason: "timeout", at }
})

export const markDispatchUnknown = (id: string, at: number): AnyCommand => ({
  stream: "Message",
  command: { _tag: "MarkDispatchUnknown", messageId: ids.message(id), at }
})

export const observe = (
  id: string,
  wamid: string,
  status: "sent" | "delivered" | "read" | "failed",
  timestamp: number,
  pricingCategory: string | null = null,
  errorCode: number | null = null
): AnyCommand => ({
  stream: "Message",
  command: {
    _tag: "ObserveStatus",
    messageId: ids.message(id),
    observation: {
      wamid: ids.wamid(wamid),
      status,
      timestamp,
      recipient: null,
      pricing: pricingCategory === null ? null : { category: pricingCategory, pricingModel: "PMP", type: "regular", billable: true },
      originType: null,
      errors: errorCode === null ? [] : [{ code: errorCode, title: "failed", message: null, details: null }]
    },
    at: timestamp
  }
})

export const attributeClick = (id: string, clickId: string, at: number): AnyCommand => ({
  stream: "Message",
  command: { _tag: "AttributeClick", messageId: ids.message(id), clickId, at }
})

export const userAction = (phone: number, clickId: string | null, occurredAt: number, actionType = "marketing_messages_link_click"): AnyCommand => ({
  stream: "UserAction",
  command: {
    _tag: "RecordUserAction",
    channel: ids.phone(phone),
    actionType,
    clickId,
    trackingToken: clickId === null ? null : `tt-${clickId}`,
    component: "CTA",
    productId: null,
    occurredAt,
    at: occurredAt
  }
})

export const changeRouting = (marketingViaMmApi: boolean, ttl: "warn" | "reject", at: number): AnyCommand => ({
  stream: "PartnerSettings",
  command: { _tag: "ChangeRoutingSettings", marketingViaMmApi, ttlOnCloudFallback: ttl, at }
})
