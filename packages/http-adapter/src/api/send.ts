import type { HttpServerRequest } from "@effect/platform"
import { type Errors, type EventStore, type Ids, SendMessage } from "@mm-gateway/domain"
import { Clock, Effect, Either } from "effect"
import { createHash, randomUUID } from "node:crypto"
import { CurrentPrincipal, type Principal } from "./definition.js"
import { type CloudMessageBody, type MarketingMessageBody, userOf } from "./message-body.js"
import { Metrics } from "./metrics.js"

/**
 * Accepting a message, for both ways in (the `/v1` API and the drop-in path, docs/api.md#sending):
 * one call of the domain's `SendMessage.sendMessage`, with the gateway's message id, the request hash of the
 * idempotency key and the recipient's digits. Each way in answers the outcome in its own shape.
 */

export type Endpoint = "messages" | "marketing_messages"

const ownerOf = (principal: Principal): string => (principal._tag === "Admin" ? "admin" : `key:${principal.id}`)

/**
 * The gateway message id. With an idempotency key it is derived from (key owner, key), so a repeat
 * lands on the same message stream and the domain answers it; without one it is random.
 */
export const messageIdFor = (owner: string, idempotencyKey: string | undefined): Ids.MessageId =>
  (idempotencyKey === undefined
    ? `msg_${randomUUID().replace(/-/g, "")}`
    : `msg_${createHash("sha256").update(`${owner}\u0000${idempotencyKey}`).digest("hex").slice(0, 32)}`) as Ids.MessageId

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

export interface SendCommand {
  readonly phoneNumberId: string
  readonly endpoint: Endpoint
  /** The body as the client sent it (extra Cloud API fields included), already validated. */
  readonly raw: Record<string, unknown>
  readonly body: CloudMessageBody | MarketingMessageBody
  readonly idempotencyKey: string | undefined
  readonly campaignId: string | null
}

/** Why a message was not accepted: the domain's refusals a client can act on; each way in answers them in its shape. */
export type SendRefusal = Errors.NotRegistered | Errors.IdempotencyKeyReused | Errors.RouteRejected

/** What was accepted (or, for a repeated idempotency key, accepted before). */
export interface SendAccepted {
  readonly id: string
  /** `to` (or, without it, `recipient`) as the client wrote it, as Meta echoes it in `contacts[].input`. */
  readonly input: string
  /** The user as the message records them: the number's digits (Meta's `contacts[].wa_id`) or the BSUID (`contacts[].user_id`). */
  readonly waId: string
  readonly route: { readonly decided: "marketing_messages" | "cloud_api"; readonly reasons: Array<string>; readonly warnings: Array<string> }
}

const METRIC_CODES: Readonly<Record<SendRefusal["_tag"], string>> = {
  NotRegistered: "not_found",
  IdempotencyKeyReused: "idempotency_key_reused",
  RouteRejected: "route_rejected"
}

/** Accept one message through the domain's `SendMessage.sendMessage`; refusals are values so batches can report them per item. */
export const accept = (command: SendCommand): Effect.Effect<
  Either.Either<SendAccepted, SendRefusal>,
  never,
  CurrentPrincipal | Metrics | EventStore.EventStore
> =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    const now = yield* Clock.currentTimeMillis
    const metrics = yield* Metrics
    const template = command.body.template === undefined
      ? null
      : { name: command.body.template.name, language: command.body.template.language.code }
    const marketing = command.body as MarketingMessageBody
    const result = yield* SendMessage.sendMessage({
      messageId: messageIdFor(ownerOf(principal), command.idempotencyKey),
      channel: command.phoneNumberId as Ids.PhoneNumberId,
      endpoint: command.endpoint,
      to: userOf(command.body) as Ids.UserRef,
      messageType: command.body.type,
      template,
      productPolicy: marketing.product_policy ?? null,
      messageActivitySharing: marketing.message_activity_sharing ?? null,
      clientCallbackData: command.body.biz_opaque_callback_data ?? null,
      campaignId: command.campaignId as Ids.CampaignId | null,
      idempotencyKey: command.idempotencyKey ?? null,
      requestHash: requestHashOf(command.phoneNumberId, command.endpoint, command.campaignId, command.raw),
      requestedBy: ownerOf(principal),
      payload: command.raw,
      now
    }).pipe(Effect.either)
    if (Either.isRight(result)) {
      const m = result.right.message
      if (result.right.created) metrics.sendAccepted(command.endpoint, m.route)
      return Either.right<SendAccepted>({
        id: m.request.messageId,
        input: command.body.to ?? command.body.recipient!,
        waId: m.request.to,
        route: { decided: m.route, reasons: [...m.reasons], warnings: [...m.warnings] }
      })
    }
    const error = result.left
    if (error._tag !== "RouteRejected" && error._tag !== "IdempotencyKeyReused" && error._tag !== "NotRegistered") return yield* Effect.die(error)
    metrics.sendRejected(command.endpoint, METRIC_CODES[error._tag])
    return Either.left<SendRefusal>(error)
  })

export const rawBody = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(Effect.orDie(request.json), (json) => json as Record<string, unknown>)
