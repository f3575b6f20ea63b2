import { Effect } from "effect"
import type { ChannelState } from "../channels/channel.js"
import type { MessageRecord } from "../lifecycle/message.js"
import { mmApiStatus, type MmApiStatusView } from "../onboarding/mm-status.js"
import { combine, isInMarketingCooldown, type RecipientState } from "../recipients/recipient.js"
import { decideRoute, type Endpoint, type ProductPolicy, type RouteDecision } from "../routing/decide-route.js"
import type { TemplateCategory } from "../templates/category.js"
import { isRefusedAsNotMarketing } from "../templates/template.js"
import { NotRegistered } from "../shared/errors.js"
import { type CampaignId, isBsuid, type MessageId, type PhoneNumberId, type UserRef, type WabaId } from "../shared/ids.js"
import {
  BusinessManagerStream,
  ChannelStream,
  MessageStream,
  PartnerSettingsStream,
  RecipientStream,
  streamId,
  TemplateStream,
  WabaStream
} from "../streams.js"
import { handleCommand, loadState } from "./command-handler.js"
import type { EventStore } from "./event-store.js"

/** Everything routing needs to know about one message, read from the streams at `now`. */
export interface RouteContext {
  readonly channel: Extract<ChannelState, { _tag: "Registered" }>
  readonly wabaId: WabaId
  readonly waba: MmApiStatusView
  readonly template: {
    readonly category: TemplateCategory | null
    /** The time of the category fact `category` comes from (`null`: none known). */
    readonly categoryAt: number | null
    readonly ttlSeconds: number | null
    readonly refusedAsNotMarketing: boolean
  } | null
  readonly settings: { readonly marketingViaMmApi: boolean; readonly ttlOnCloudFallback: "warn" | "reject" }
  readonly recipient: { readonly optedOut: boolean; readonly inMarketingCooldown: boolean; readonly bsuidOnly: boolean }
}

/**
 * How many identifiers of one user are read at most: a number and its BSUID, a parent BSUID, a number
 * the user had before. Far more than one user has; it bounds a read that follows links made by webhooks.
 */
const MAX_LINKED_IDENTIFIERS = 16

/**
 * The recipient as every identifier known to name the same user says (docs/domain.md#recipients): the
 * stream of `to`, then those of the identifiers linked to it, and theirs, combined.
 */
const loadRecipient = (wabaId: WabaId, to: UserRef) =>
  Effect.gen(function*() {
    const states: Array<RecipientState> = []
    const seen = new Set<string>([to])
    const queue: Array<UserRef> = [to]
    while (queue.length > 0 && states.length < MAX_LINKED_IDENTIFIERS) {
      const id = queue.shift()!
      const state = (yield* loadState(RecipientStream, streamId.recipient(wabaId, id))).state
      states.push(state)
      for (const other of state.sameAs) {
        if (!seen.has(other)) {
          seen.add(other)
          queue.push(other)
        }
      }
    }
    return combine(states)
  })

export const loadRouteContext = (input: {
  readonly channel: PhoneNumberId
  readonly to: UserRef
  readonly template: { readonly name: string; readonly language: string } | null
  readonly now: number
}): Effect.Effect<RouteContext, NotRegistered, EventStore> =>
  Effect.gen(function*() {
    const channel = (yield* loadState(ChannelStream, streamId.channel(input.channel))).state
    if (channel._tag !== "Registered") return yield* Effect.fail(new NotRegistered({ entity: "channel", id: input.channel }))
    const wabaId = channel.config.wabaId
    const waba = (yield* loadState(WabaStream, streamId.waba(wabaId))).state
    const bm = waba.businessManagerId === null
      ? null
      : (yield* loadState(BusinessManagerStream, streamId.businessManager(waba.businessManagerId))).state
    const template = input.template === null
      ? null
      : (yield* loadState(TemplateStream, streamId.template(wabaId, input.template.name, input.template.language))).state
    const settings = (yield* loadState(PartnerSettingsStream, streamId.partnerSettings())).state
    const recipient = yield* loadRecipient(wabaId, input.to)
    return {
      channel,
      wabaId,
      waba: mmApiStatus(waba, bm, input.now),
      template: template === null
        ? null
        : {
          category: template.category,
          categoryAt: template.categoryAt,
          ttlSeconds: template.ttlSeconds,
          refusedAsNotMarketing: isRefusedAsNotMarketing(template)
        },
      settings,
      recipient: {
        optedOut: recipient.optedOut,
        inMarketingCooldown: isInMarketingCooldown(recipient, input.now),
        bsuidOnly: isBsuid(input.to)
      }
    }
  })

const routeFor = (
  context: RouteContext,
  endpoint: Endpoint,
  productPolicy: ProductPolicy | null
): RouteDecision =>
  decideRoute({
    endpoint,
    template: context.template,
    wabaStatus: context.waba.status,
    settings: context.settings,
    channelRouting: context.channel.routing,
    productPolicy,
    recipient: context.recipient
  })

export interface SendMessageInput {
  readonly messageId: MessageId
  readonly channel: PhoneNumberId
  readonly endpoint: Endpoint
  /** The number when the client gave `to`, else the BSUID it gave as `recipient`. */
  readonly to: UserRef
  readonly messageType: string
  readonly template: { readonly name: string; readonly language: string } | null
  readonly productPolicy: ProductPolicy | null
  readonly messageActivitySharing: boolean | null
  readonly clientCallbackData: string | null
  readonly campaignId: CampaignId | null
  readonly idempotencyKey: string | null
  readonly requestHash: string
  readonly requestedBy: string
  readonly payload: unknown
  readonly now: number
}

export interface SendMessageResult {
  readonly message: MessageRecord
  /** `false` when an identical request with the same idempotency key was accepted before. */
  readonly created: boolean
}

/**
 * Accept a message: load the routing context, decide the route (docs/domain.md#routing-policy), and record
 * the request with its decision. A repeated idempotent request answers with the message recorded the first
 * time.
 */
export const sendMessage = (input: SendMessageInput) =>
  Effect.gen(function*() {
    const context = yield* loadRouteContext(input)
    const decision = routeFor(context, input.endpoint, input.productPolicy)
    const template = input.template === null ? null : {
      name: input.template.name,
      language: input.template.language,
      category: context.template?.category ?? null,
      ttlSeconds: context.template?.ttlSeconds ?? null,
      categoryAt: context.template?.categoryAt ?? null
    }
    const handled = yield* handleCommand(MessageStream, streamId.message(input.messageId), {
      _tag: "RequestMessage",
      messageId: input.messageId,
      channel: input.channel,
      wabaId: context.wabaId,
      to: input.to,
      endpoint: input.endpoint,
      messageType: input.messageType,
      template,
      productPolicy: input.productPolicy,
      messageActivitySharing: input.messageActivitySharing,
      clientCallbackData: input.clientCallbackData,
      campaignId: input.campaignId,
      idempotencyKey: input.idempotencyKey,
      requestHash: input.requestHash,
      requestedBy: input.requestedBy,
      payload: input.payload,
      decision,
      at: input.now
    })
    if (handled.state._tag !== "Requested") return yield* Effect.die(new Error("a requested message has no state"))
    return { message: handled.state.message, created: handled.events.length > 0 } satisfies SendMessageResult
  })
