import { HttpApiBuilder, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { CommandHandler, type EventStore, Ids, Streams } from "@mm-gateway/domain"
import { ApiKeyStore, type ConfigurationQueries, type OnboardingQueries } from "@mm-gateway/ports"
import { Clock, Effect, Either, Layer } from "effect"
import { authenticate } from "./api-keys.js"
import { ApiSettings, visibleChannel } from "./context.js"
import { CurrentPrincipal, Dialog360Authentication, type DropInGroupLive, GatewayApi, GraphAuthentication, type Principal } from "./definition.js"
import {
  graphForbidden,
  graphIdempotencyKeyReused,
  graphInvalidParameter,
  graphProviderUnavailable,
  graphRouteRejected,
  graphUnauthorized,
  graphUnknownObject
} from "./graph-errors.js"
import { StatusUpdateRelay } from "../provider/status-relay.js"
import { type CloudMessageBody, isStatusUpdate, type MarketingMessageBody, type StatusUpdateBody } from "./message-body.js"
import { Metrics } from "./metrics.js"
import { accept, type Endpoint, rawBody, type SendAccepted, type SendRefusal } from "./send.js"

/**
 * The drop-in send path (docs/api.md#the-drop-in-send-path): the Cloud API's and 360dialog's send
 * endpoints on the gateway, for apps written against them. The body goes through the validation and
 * the use case of `/v1/channels/{id}/messages` (`accept`); only the answer differs — the Cloud API's
 * shape, and Graph's error envelope.
 */

/** A Graph version segment (`v25.0`): accepted whatever it is, and not passed on. */
const GRAPH_VERSION = /^v[0-9]{1,3}\.[0-9]{1,2}$/
const PHONE_NUMBER_ID = /^[0-9]{1,32}$/

/**
 * The Cloud API's answer: the message's id, `to` as sent and its digits (or, for a message addressed by
 * BSUID, `recipient` as sent and `user_id`, without `wa_id`, as Meta answers), `message_status` for
 * templates only (as Meta).
 */
const answerOf = (accepted: SendAccepted, body: CloudMessageBody | MarketingMessageBody) => ({
  messaging_product: "whatsapp" as const,
  contacts: [Ids.isBsuid(accepted.waId) ? { input: accepted.input, user_id: accepted.waId } : { input: accepted.input, wa_id: accepted.waId }],
  messages: [body.type === "template" ? { id: accepted.id, message_status: "accepted" as const } : { id: accepted.id }]
})

const errorOf = (refusal: SendRefusal, phoneNumberId: string) =>
  refusal._tag === "RouteRejected"
    ? graphRouteRejected(refusal.reasons)
    : refusal._tag === "IdempotencyKeyReused"
    ? graphIdempotencyKeyReused()
    : graphUnknownObject(phoneNumberId)

interface SendRequest {
  readonly payload: CloudMessageBody | MarketingMessageBody | StatusUpdateBody
  readonly headers: { readonly "idempotency-key"?: string | undefined; readonly "x-campaign-id"?: string | undefined }
  readonly request: HttpServerRequest.HttpServerRequest
}

/**
 * A status update relayed to the channel's provider with the channel's credentials, the body as the
 * client sent it; the provider's answer is the answer. A provider refusing the channel's credentials
 * (401, 403) is the gateway's trouble, not the client's token: that, and no answer, is Graph's 2.
 */
const relayStatusUpdate = (phoneNumberId: string, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const channel = (yield* CommandHandler.loadState(Streams.ChannelStream, Streams.streamId.channel(phoneNumberId))).state
    if (channel._tag !== "Registered") return yield* Effect.fail(graphUnknownObject(phoneNumberId))
    const answer = yield* (yield* StatusUpdateRelay).relay(channel.config, JSON.stringify(yield* rawBody(request)))
    const provider = channel.config.provider
    ;(yield* Metrics).statusUpdate(provider, answer._tag === "Answered" ? String(answer.status) : answer._tag === "NotSent" ? "not_sent" : "no_answer")
    if (answer._tag === "Answered" && answer.status !== 401 && answer.status !== 403) {
      return HttpServerResponse.text(answer.text, { status: answer.status, contentType: "application/json" })
    }
    const trouble = answer._tag === "Answered" ? `the provider refused the channel's credentials: HTTP ${answer.status}` : answer.reason
    // The operator must see it: the gateway cannot relay for this channel (nothing of the body, no credential in it).
    yield* Effect.logWarning(`status update for channel ${phoneNumberId} (${provider}) not relayed: ${trouble}`)
    return yield* Effect.fail(graphProviderUnavailable(trouble, answer._tag === "NoAnswer"))
  })

/**
 * One send on a channel the caller may see (an unknown or invisible one is Graph's unknown object):
 * a message through the use case, or a status update to the provider.
 */
const send = (endpoint: Endpoint, phoneNumberId: string, { headers, payload, request }: SendRequest) =>
  Effect.gen(function*() {
    if (!PHONE_NUMBER_ID.test(phoneNumberId)) return yield* Effect.fail(graphUnknownObject(phoneNumberId))
    yield* visibleChannel(phoneNumberId, yield* Clock.currentTimeMillis).pipe(Effect.mapError(() => graphUnknownObject(phoneNumberId)))
    if (isStatusUpdate(payload)) return yield* relayStatusUpdate(phoneNumberId, request)
    const result = yield* accept({
      phoneNumberId,
      endpoint,
      raw: yield* rawBody(request),
      body: payload,
      idempotencyKey: headers["idempotency-key"],
      campaignId: headers["x-campaign-id"] ?? null
    })
    if (Either.isLeft(result)) return yield* Effect.fail(errorOf(result.left, phoneNumberId))
    return answerOf(result.right, payload)
  })

const versioned = (endpoint: Endpoint) => (args: SendRequest & { readonly path: { readonly version: string; readonly phoneNumberId: string } }) =>
  GRAPH_VERSION.test(args.path.version)
    ? send(endpoint, args.path.phoneNumberId, args)
    : Effect.fail(graphInvalidParameter("version", "must be a Graph API version such as v25.0"))

const unversioned = (endpoint: Endpoint) => (args: SendRequest & { readonly path: { readonly phoneNumberId: string } }) =>
  send(endpoint, args.path.phoneNumberId, args)

/**
 * A `D360-API-KEY` names its channel: it must be an API key scoped to exactly one channel (and no
 * Business Manager), as a 360dialog key belongs to one number.
 */
const channelOfKey = (principal: Principal) => {
  if (principal._tag === "ApiKey" && principal.businessManagerIds.size === 0 && principal.channelIds.size === 1) {
    return Effect.succeed([...principal.channelIds][0]!)
  }
  return Effect.fail(graphForbidden("A D360-API-KEY must be a gateway API key scoped to exactly one channel (POST /v1/api-keys with channelIds)"))
}

const dialog360 = (endpoint: Endpoint) => (args: SendRequest) =>
  Effect.gen(function*() {
    const channel = yield* channelOfKey(yield* CurrentPrincipal)
    return yield* send(endpoint, channel, args)
  })

/** What the handlers ask besides their middleware: the send use case's ports and the channel lookups. */
type SendPorts = EventStore.EventStore | Metrics | ConfigurationQueries | OnboardingQueries | StatusUpdateRelay

export const GraphSendLive: DropInGroupLive<"graphSend", GraphAuthentication, SendPorts> = HttpApiBuilder.group(GatewayApi, "graphSend", (handlers) =>
  handlers
    .handle("sendMessage", versioned("messages"))
    .handle("sendMarketingMessage", versioned("marketing_messages"))
    .handle("sendMessageUnversioned", unversioned("messages"))
    .handle("sendMarketingMessageUnversioned", unversioned("marketing_messages")))

export const Dialog360SendLive: DropInGroupLive<"dialog360Send", Dialog360Authentication, SendPorts> = HttpApiBuilder.group(GatewayApi, "dialog360Send", (handlers) =>
  handlers
    .handle("sendMessage", dialog360("messages"))
    .handle("sendMarketingMessage", dialog360("marketing_messages")))

/** Who the token or key is, as `/v1` asks it (`authenticate`); anything else is Graph's 190. */
const principalOr401 = (message: string) => (token: Parameters<typeof authenticate>[1]) =>
  Effect.gen(function*() {
    const settings = yield* ApiSettings
    const principal = yield* authenticate(settings.adminToken, token)
    return principal === null ? yield* Effect.fail(graphUnauthorized(message)) : principal
  })

export const DropInAuthenticationLive = Layer.mergeAll(
  Layer.effect(GraphAuthentication, Effect.gen(function*() {
    const context = yield* Effect.context<ApiSettings | ApiKeyStore>()
    const check = principalOr401("Invalid OAuth access token - Cannot parse access token")
    return GraphAuthentication.of({ bearer: (token) => Effect.provide(check(token), context) })
  })),
  Layer.effect(Dialog360Authentication, Effect.gen(function*() {
    const context = yield* Effect.context<ApiSettings | ApiKeyStore>()
    const check = principalOr401("Invalid D360-API-KEY")
    return Dialog360Authentication.of({ d360ApiKey: (key) => Effect.provide(check(key), context) })
  }))
)
