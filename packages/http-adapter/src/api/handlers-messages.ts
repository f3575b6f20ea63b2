import { HttpApiBuilder, type HttpServerRequest } from "@effect/platform"
import { CommandHandler, Events, EventStore, type Ids, Streams } from "@mm-gateway/domain"
import { ClickQueries, clampLimit, decodeCursor, encodeCursor, MessageQueries } from "@mm-gateway/ports"
import { Clock, Effect, Either, ParseResult, Schema } from "effect"
import { iso, requireAdmin, scopeOf, seesChannelOf, visibleChannel, visibleMessage } from "./context.js"
import { CurrentPrincipal, GatewayApi } from "./definition.js"
import { firstIssue } from "./envelope.js"
import { conflict, invalidRequest, notFound, unprocessable } from "./errors.js"
import { CloudMessageBody, MarketingMessageBody } from "./message-body.js"
import { accept, type Endpoint, rawBody, type SendRefusal } from "./send.js"
import { messageOf } from "./views.js"

/** A refused send in the API's error envelope (docs/api.md#error-envelope). */
const errorOf = (refusal: SendRefusal) =>
  refusal._tag === "RouteRejected"
    ? unprocessable("route_rejected", `the message cannot be sent: ${refusal.reasons.join(", ")}`, { reasons: refusal.reasons })
    : refusal._tag === "IdempotencyKeyReused"
    ? conflict("idempotency_key_reused", "this Idempotency-Key was used before with a different request")
    : notFound(refusal.entity, refusal.id)

const single = (endpoint: Endpoint) =>
({ path, payload, headers, request }: {
  readonly path: { readonly phoneNumberId: string }
  readonly payload: CloudMessageBody | MarketingMessageBody
  readonly headers: { readonly "idempotency-key"?: string | undefined; readonly "x-campaign-id"?: string | undefined }
  readonly request: HttpServerRequest.HttpServerRequest
}) =>
  Effect.gen(function*() {
    yield* visibleChannel(path.phoneNumberId, yield* Clock.currentTimeMillis)
    const result = yield* accept({
      phoneNumberId: path.phoneNumberId,
      endpoint,
      raw: yield* rawBody(request),
      body: payload,
      idempotencyKey: headers["idempotency-key"],
      campaignId: headers["x-campaign-id"] ?? null
    })
    if (Either.isLeft(result)) return yield* Effect.fail(errorOf(result.left))
    return {
      messaging_product: "whatsapp" as const,
      contacts: [{ input: result.right.input }],
      messages: [{ id: result.right.id, message_status: "accepted" as const }],
      route: result.right.route
    }
  })

/** A batch item's first decode issue, its field prefixed with the item's place in the batch. */
const itemIssue = (index: number, error: ParseResult.ParseError) => {
  const issue = firstIssue(ParseResult.ArrayFormatter.formatErrorSync(error))
  const field = issue.field === "" ? `messages.${index}` : `messages.${index}.${issue.field}`
  return {
    index,
    error: { code: "invalid_request", message: issue.field === "" ? `${field} must be a message object` : `messages.${index}.${issue.message}`, details: { field } }
  }
}

/** A batch item: a message body plus its own optional idempotency key; every other field is kept for the body. */
const BatchItem = Schema.Struct(
  { idempotencyKey: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))) },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

export const MessagesLive = HttpApiBuilder.group(GatewayApi, "messages", (handlers) =>
  handlers
    .handle("sendMessage", single("messages"))
    .handle("sendMarketingMessage", single("marketing_messages"))
    .handle("sendBatch", ({ path, payload, headers }) =>
      Effect.gen(function*() {
        yield* visibleChannel(path.phoneNumberId, yield* Clock.currentTimeMillis)
        const header = headers["x-campaign-id"]
        if (header !== undefined && payload.campaignId !== undefined && header !== payload.campaignId) {
          return yield* Effect.fail(invalidRequest("campaignId", "campaignId differs from the X-Campaign-Id header; send one of them"))
        }
        const campaignId = payload.campaignId ?? header ?? null
        const endpoint = payload.endpoint ?? "messages"
        const decodeBody = Schema.decodeUnknownEither(endpoint === "messages" ? CloudMessageBody : MarketingMessageBody)
        const results: Array<unknown> = []
        for (let index = 0; index < payload.messages.length; index++) {
          const keyed = Schema.decodeUnknownEither(BatchItem)(payload.messages[index])
          if (Either.isLeft(keyed)) {
            results.push(itemIssue(index, keyed.left))
            continue
          }
          const { idempotencyKey: _, ...raw } = keyed.right
          const body = decodeBody(raw)
          if (Either.isLeft(body)) {
            results.push(itemIssue(index, body.left))
            continue
          }
          const result = yield* accept({
            phoneNumberId: path.phoneNumberId,
            endpoint,
            raw,
            body: body.right,
            idempotencyKey: keyed.right.idempotencyKey,
            campaignId
          })
          results.push(Either.isRight(result) ? { index, id: result.right.id, route: result.right.route } : { index, error: errorOf(result.left).error })
        }
        return { campaignId, results: results as never }
      }))
    .handle("getMessage", ({ path }) =>
      Effect.gen(function*() {
        return messageOf(yield* visibleMessage(path.id, yield* Clock.currentTimeMillis))
      }))
    .handle("getMessageEvents", ({ path }) =>
      Effect.gen(function*() {
        yield* visibleMessage(path.id, yield* Clock.currentTimeMillis)
        const read = yield* (yield* EventStore.EventStore).readStream(Streams.streamId.message(path.id))
        return {
          events: read.events.map((e) => ({
            position: e.globalPosition,
            type: e.event._tag,
            data: Events.encodeEvent(e.event).data,
            recordedAt: iso(e.recordedAt)
          }))
        }
      }))
    .handle("findMessages", ({ urlParams }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const limit = clampLimit(urlParams.limit)
        if ((urlParams.wamid === undefined) === (urlParams.to === undefined)) {
          return yield* Effect.fail(invalidRequest(urlParams.to === undefined ? "wamid" : "to", "give exactly one of wamid and to"))
        }
        if (urlParams.to !== undefined) {
          const page = yield* (yield* MessageQueries).messagesByRecipient(urlParams.to, {
            limit,
            cursor: urlParams.cursor ?? null,
            scope: scopeOf(yield* CurrentPrincipal)
          })
          return { items: page.items.map(messageOf), nextCursor: page.nextCursor }
        }
        const after = decodeCursor<[string]>(urlParams.cursor)?.[0] ?? ""
        // A wamid names one message, or a few after a re-send: the page is cut here rather than in SQL.
        const visible = []
        for (const m of yield* (yield* MessageQueries).messagesByWamid(urlParams.wamid!)) {
          if (m.id > after && (yield* seesChannelOf(m.channel, m.wabaId, now))) visible.push(m)
        }
        const items = visible.slice(0, limit)
        return { items: items.map(messageOf), nextCursor: visible.length > limit ? encodeCursor([items[items.length - 1]!.id]) : null }
      }))
    .handle("resolveMessage", ({ path, payload }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const now = yield* Clock.currentTimeMillis
        yield* visibleMessage(path.id, now)
        yield* CommandHandler.handleCommand(Streams.MessageStream, Streams.streamId.message(path.id), {
          _tag: "ResolveDispatch",
          messageId: path.id as Ids.MessageId,
          action: payload.action,
          by: "admin",
          at: now
        }).pipe(
          Effect.catchTag("ResolutionNotAllowed", (e) =>
            Effect.fail(conflict("not_dispatch_unknown", `message ${path.id} is ${e.status}, not dispatch_unknown`))),
          Effect.catchTag("NotRegistered", () => Effect.fail(notFound("message", path.id))),
          Effect.catchAll((e) => Effect.die(e))
        )
        return messageOf(yield* visibleMessage(path.id, now))
      }))
    .handle("listCampaigns", ({ urlParams }) =>
      Effect.gen(function*() {
        const scope = scopeOf(yield* CurrentPrincipal)
        const queries = yield* MessageQueries
        const page = yield* queries.campaigns({ limit: clampLimit(urlParams.limit, 20, 100), cursor: urlParams.cursor ?? null, scope })
        const items = yield* Effect.forEach(page.items, (c) =>
          Effect.map(queries.campaignStats(c.campaignId, scope), (stats) => ({
            campaignId: c.campaignId,
            messages: c.messages,
            firstAcceptedAt: iso(c.firstAcceptedAt),
            lastAcceptedAt: iso(c.lastAcceptedAt),
            funnel: stats.funnel
          })))
        return { items, nextCursor: page.nextCursor }
      }))
    .handle("campaignStats", ({ path }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const stats = yield* (yield* MessageQueries).campaignStats(path.campaignId, scopeOf(principal))
        // A campaign is only known through its messages: none (visible) is a 404, like any unknown resource.
        if (stats.funnel.accepted === 0) return yield* Effect.fail(notFound("campaign", path.campaignId))
        return stats
      }))
    .handle("attributeClick", ({ path, payload }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const message = yield* visibleMessage(payload.messageId, now)
        // A click id alone names no tenant, and a scoped key must not be able to tell another tenant's click
        // from one that never existed. So a click recorded only on channels the caller cannot see is
        // treated as an unknown one: the attribution is recorded on the caller's message, as for a click
        // whose webhook has not arrived yet, and it is per channel (`ClickQueries.clickAttribution`): it
        // never ties, nor blocks, a click recorded on another tenant's channel, which stays unattributed
        // in that tenant's view and free for its own messages.
        const recordedOn: Array<string> = []
        for (const channel of yield* (yield* ClickQueries).clickChannels(path.clickId)) {
          if (yield* Effect.isSuccess(visibleChannel(channel, now))) recordedOn.push(channel)
        }
        // A click belongs to the channel whose message was clicked: tying one the caller saw recorded on
        // another of its channels to this message would be wrong.
        if (recordedOn.length > 0 && !recordedOn.includes(message.channel)) {
          return yield* Effect.fail(conflict("click_on_another_channel", `click ${path.clickId} was recorded on another channel than message ${payload.messageId}`))
        }
        // Only attributions on this message's channel count: they are the caller's own.
        const owner = yield* (yield* ClickQueries).clickAttribution(path.clickId, message.channel)
        if (owner !== null && owner !== payload.messageId) {
          return yield* Effect.fail(conflict("click_already_attributed", `click ${path.clickId} is attributed to another message`))
        }
        yield* CommandHandler.handleCommand(Streams.MessageStream, Streams.streamId.message(payload.messageId), {
          _tag: "AttributeClick",
          messageId: payload.messageId as Ids.MessageId,
          clickId: path.clickId,
          at: now
        }).pipe(Effect.catchAll((e) => Effect.die(e)))
        return messageOf(yield* visibleMessage(payload.messageId, now))
      })))

