import { HttpApiBuilder, type HttpServerRequest } from "@effect/platform"
import {
  type CampaignId,
  encodeEvent,
  EventStore,
  handleCommand,
  type MessageId,
  MessageStream,
  type PhoneNumberId,
  type RecipientNumber,
  sendMessage,
  streamId
} from "@mm-gateway/domain"
import { ClickQueries, clampLimit, decodeCursor, encodeCursor, MessageQueries } from "@mm-gateway/ports"
import { Clock, Effect, Either, ParseResult, Schema } from "effect"
import { createHash, randomUUID } from "node:crypto"
import { iso, requireAdmin, scopeOf, seesChannelOf, visibleChannel, visibleMessage } from "./context.js"
import { CurrentPrincipal, GatewayApi, type Principal } from "./definition.js"
import { firstIssue } from "./envelope.js"
import { conflict, type ErrorBody, invalidRequest, notFound, unprocessable } from "./errors.js"
import { CloudMessageBody, MarketingMessageBody, recipientOf } from "./message-body.js"
import { Metrics } from "./metrics.js"
import { messageOf } from "./views.js"

type Endpoint = "messages" | "marketing_messages"

const ownerOf = (principal: Principal): string => (principal._tag === "Admin" ? "admin" : `key:${principal.id}`)

/**
 * The gateway message id. With an idempotency key it is derived from (key owner, key), so a repeat
 * lands on the same message stream and the domain answers it; without one it is random.
 */
export const messageIdFor = (owner: string, idempotencyKey: string | undefined): MessageId =>
  (idempotencyKey === undefined
    ? `msg_${randomUUID().replace(/-/g, "")}`
    : `msg_${createHash("sha256").update(`${owner}\u0000${idempotencyKey}`).digest("hex").slice(0, 32)}`) as MessageId

/**
 * A stable hash of what the client asked for (channel, endpoint, campaign and body, key order aside): the
 * same key with another request is refused.
 */
const requestHashOf = (channel: string, endpoint: Endpoint, campaignId: string | null, raw: unknown): string =>
  createHash("sha256").update(`[${JSON.stringify(channel)},${JSON.stringify(endpoint)},${JSON.stringify(campaignId)},${canonicalJson(raw)}]`).digest("hex")

/** Array indexes as JSON.stringify orders an object's keys: before the others, in numeric order. */
const isArrayIndex = (key: string): boolean => /^(?:0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 2 ** 32 - 1

/** An object's keys sorted, in the order JSON.stringify writes a copy built with its keys sorted. */
const sortedKeys = (value: object): Array<string> => {
  const indexes: Array<string> = []
  const names: Array<string> = []
  for (const key of Object.keys(value)) (isArrayIndex(key) ? indexes : names).push(key)
  return [...indexes.sort((a, b) => Number(a) - Number(b)), ...names.sort()]
}

/**
 * The JSON text of a parsed body with every object's keys sorted — what `JSON.stringify` writes for a
 * copy with sorted keys, so that hashes recorded before stay the same — built with an explicit stack:
 * it does not depend on the body having been checked against the JSON bounds to stay off the call stack.
 */
export const canonicalJson = (body: unknown): string => {
  let out = ""
  // Text to write as it is, or a value still to serialise; pushed in reverse, so popped in order.
  const stack: Array<{ readonly text: string } | { readonly value: unknown }> = [{ value: body }]
  while (stack.length > 0) {
    const next = stack.pop()!
    if ("text" in next) {
      out += next.text
      continue
    }
    const value = next.value
    if (Array.isArray(value)) {
      stack.push({ text: "]" })
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i] })
        if (i > 0) stack.push({ text: "," })
      }
      stack.push({ text: "[" })
    } else if (value !== null && typeof value === "object") {
      const keys = sortedKeys(value)
      stack.push({ text: "}" })
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ value: (value as Record<string, unknown>)[keys[i]!] })
        stack.push({ text: `${i > 0 ? "," : ""}${JSON.stringify(keys[i])}:` })
      }
      stack.push({ text: "{" })
    } else {
      out += JSON.stringify(value)
    }
  }
  return out
}

interface SendCommand {
  readonly phoneNumberId: string
  readonly endpoint: Endpoint
  /** The body as the client sent it (extra Cloud API fields included), already validated. */
  readonly raw: Record<string, unknown>
  readonly body: CloudMessageBody | MarketingMessageBody
  readonly idempotencyKey: string | undefined
  readonly campaignId: string | null
}

type SendFailure =
  | { readonly status: 404; readonly error: ErrorBody }
  | { readonly status: 409; readonly error: ErrorBody & { readonly code: "idempotency_key_reused" } }
  | { readonly status: 422; readonly error: ErrorBody & { readonly code: "route_rejected" } }

/** Accept one message through the domain's `sendMessage`; failures are values so batches can report them per item. */
const accept = (command: SendCommand) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    const now = yield* Clock.currentTimeMillis
    const metrics = yield* Metrics
    const template = command.body.template === undefined
      ? null
      : { name: command.body.template.name, language: command.body.template.language.code }
    const marketing = command.body as MarketingMessageBody
    const result = yield* sendMessage({
      messageId: messageIdFor(ownerOf(principal), command.idempotencyKey),
      channel: command.phoneNumberId as PhoneNumberId,
      endpoint: command.endpoint,
      to: recipientOf(command.body.to) as RecipientNumber,
      messageType: command.body.type,
      template,
      productPolicy: marketing.product_policy ?? null,
      messageActivitySharing: marketing.message_activity_sharing ?? null,
      clientCallbackData: command.body.biz_opaque_callback_data ?? null,
      campaignId: command.campaignId as CampaignId | null,
      idempotencyKey: command.idempotencyKey ?? null,
      requestHash: requestHashOf(command.phoneNumberId, command.endpoint, command.campaignId, command.raw),
      requestedBy: ownerOf(principal),
      payload: command.raw,
      now
    }).pipe(Effect.either)
    if (Either.isRight(result)) {
      const m = result.right.message
      if (result.right.created) metrics.sendAccepted(command.endpoint, m.route)
      return Either.right({
        id: m.request.messageId,
        // `to` as the client wrote it, as Meta echoes it; the message records its digits.
        input: command.body.to,
        waId: m.request.to as string,
        route: { decided: m.route, reasons: [...m.reasons], warnings: [...m.warnings] }
      })
    }
    const error = result.left
    const failure: SendFailure = error._tag === "RouteRejected"
      ? {
        status: 422,
        error: { code: "route_rejected" as const, message: `the message cannot be sent: ${error.reasons.join(", ")}`, details: { reasons: error.reasons } }
      }
      : error._tag === "IdempotencyKeyReused"
      ? { status: 409, error: { code: "idempotency_key_reused" as const, message: "this Idempotency-Key was used before with a different request" } }
      : error._tag === "NotRegistered"
      ? { status: 404, error: { code: "not_found", message: `${error.entity} ${error.id} not found`, details: { resource: error.entity, id: error.id } } }
      : yield* Effect.die(error)
    metrics.sendRejected(command.endpoint, failure.error.code)
    return Either.left(failure)
  })

const raiseFailure = (failure: SendFailure) =>
  failure.status === 422
    ? Effect.fail(unprocessable(failure.error.code, failure.error.message, failure.error.details))
    : failure.status === 409
    ? Effect.fail(conflict(failure.error.code, failure.error.message))
    : Effect.fail(notFound("channel", String((failure.error.details as { id?: string } | undefined)?.id ?? "")))

const rawBody = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(Effect.orDie(request.json), (json) => json as Record<string, unknown>)

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
    if (Either.isLeft(result)) return yield* raiseFailure(result.left)
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
          results.push(Either.isRight(result) ? { index, id: result.right.id, route: result.right.route } : { index, error: result.left.error })
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
        const read = yield* (yield* EventStore).readStream(streamId.message(path.id))
        return {
          events: read.events.map((e) => ({
            position: e.globalPosition,
            type: e.event._tag,
            data: encodeEvent(e.event).data,
            recordedAt: iso(e.recordedAt)
          }))
        }
      }))
    .handle("findMessages", ({ urlParams }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const limit = clampLimit(urlParams.limit)
        const after = decodeCursor<[string]>(urlParams.cursor)?.[0] ?? ""
        // A wamid names one message, or a few after a re-send: the page is cut here rather than in SQL.
        const visible = []
        for (const m of yield* (yield* MessageQueries).messagesByWamid(urlParams.wamid)) {
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
        yield* handleCommand(MessageStream, streamId.message(path.id), {
          _tag: "ResolveDispatch",
          messageId: path.id as MessageId,
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
        yield* handleCommand(MessageStream, streamId.message(payload.messageId), {
          _tag: "AttributeClick",
          messageId: payload.messageId as MessageId,
          clickId: path.clickId,
          at: now
        }).pipe(Effect.catchAll((e) => Effect.die(e)))
        return messageOf(yield* visibleMessage(payload.messageId, now))
      })))

