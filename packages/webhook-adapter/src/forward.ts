import type { ForwardEvent } from "@mm-gateway/ports"

/**
 * Forwarding (docs/forwarding.md): one verified webhook cut down, for each tenant's endpoint, to the
 * entries and changes that tenant owns and the events it asked for, in Meta's own JSON shape, with
 * the ids its app knows. Pure functions: the worker looks the owners and messages up and writes the
 * results to the outbox.
 */

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
type JsonObject = { readonly [key: string]: Json }

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v)
const arrayOf = (v: Json | undefined): ReadonlyArray<Json> => (Array.isArray(v) ? v : [])
const stringOf = (v: Json | undefined): string | null => (typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : null)

const TEMPLATE_FIELDS = new Set([
  "message_template_status_update",
  "template_category_update",
  "message_template_quality_update",
  "message_template_components_update"
])
const isAccountField = (field: string) =>
  field.startsWith("account_") || field.startsWith("business_") || field.startsWith("phone_number_") || field === "security"

/**
 * The arrays of a `messages` change and the event each belongs to. A change's other members
 * (`messaging_product`, `metadata`) go with whatever is kept of it; `contacts` and `errors` go with
 * the inbound messages they describe.
 */
const MESSAGE_ARRAYS: ReadonlyArray<readonly [string, ForwardEvent]> = [
  ["messages", "messages"],
  ["contacts", "messages"],
  ["errors", "messages"],
  ["statuses", "statuses"],
  ["user_actions", "clicks"]
]

/**
 * The event of a change other than `messages`: template fields are `templates`, account fields
 * (`account_update`, `business_capability_update`, `phone_number_quality_update`, `security`, …) are
 * `account`, and every other field (`user_preferences`, echoes, calls, fields Meta adds later) is
 * `messages`: what the tenant's users do.
 */
export const eventOfField = (field: string): ForwardEvent =>
  TEMPLATE_FIELDS.has(field) ? "templates" : isAccountField(field) ? "account" : "messages"

/** A webhook body as forwarding reads it: its entries, with what to look up before cutting it. */
export interface ForwardableWebhook {
  readonly object: Json
  readonly entries: ReadonlyArray<JsonObject>
  /** Every entry's id (a WABA's, or a business portfolio's for business-level account updates). */
  readonly entryIds: ReadonlyArray<string>
  /** Every channel (`metadata.phone_number_id`) a change names. */
  readonly channelIds: ReadonlyArray<string>
  /** The wamids statuses and replies name, with the channel and the callback data beside them. */
  readonly references: ReadonlyArray<MessageReference>
}

export interface MessageReference {
  readonly wamid: string
  readonly channel: string | null
  readonly callbackData: string | null
}

/** The body, if it is a JSON object with entries; anything else cannot be cut for a tenant and is not forwarded. */
export const readForwardable = (body: Uint8Array): ForwardableWebhook | null => {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(body))
  } catch {
    return null
  }
  if (!isObject(parsed) || !Array.isArray(parsed["entry"])) return null
  const entries = (parsed["entry"] as ReadonlyArray<Json>).filter(isObject)
  const entryIds = new Set<string>()
  const channelIds = new Set<string>()
  const references: Array<MessageReference> = []
  for (const entry of entries) {
    const id = stringOf(entry["id"])
    if (id !== null) entryIds.add(id)
    for (const change of arrayOf(entry["changes"]).filter(isObject)) {
      const value = change["value"]
      if (!isObject(value)) continue
      const channel = isObject(value["metadata"]) ? stringOf(value["metadata"]["phone_number_id"]) : null
      if (channel !== null) channelIds.add(channel)
      for (const status of arrayOf(value["statuses"]).filter(isObject)) {
        const wamid = stringOf(status["id"])
        if (wamid !== null) references.push({ wamid, channel, callbackData: stringOf(status["biz_opaque_callback_data"]) })
      }
      for (const message of arrayOf(value["messages"]).filter(isObject)) {
        const replied = isObject(message["context"]) ? stringOf(message["context"]["id"]) : null
        if (replied !== null) references.push({ wamid: replied, channel, callbackData: null })
      }
    }
  }
  return { object: (parsed as JsonObject)["object"] ?? null, entries, entryIds: [...entryIds], channelIds: [...channelIds], references }
}

/** What a tenant's endpoint receives. */
export interface ForwardTarget {
  readonly events: ReadonlyArray<ForwardEvent>
  readonly businessManagerIds: ReadonlyArray<string>
  readonly channelIds: ReadonlyArray<string>
}

/** A message of the gateway's that a wamid names: the id its client was given, and the client's own callback data. */
export interface KnownMessage {
  readonly id: string
  readonly clientCallbackData: string | null
}

export interface Lookups {
  /** The Business Manager an entry id belongs to (a WABA's owner, or the business itself), if known. */
  readonly ownerOf: ReadonlyMap<string, string>
  /** Messages by wamid (see `MessageReference`). */
  readonly messages: ReadonlyMap<string, KnownMessage>
}

/**
 * A status as the tenant's app knows its message: `id` the message id the gateway gave the client
 * (what the send answered), `biz_opaque_callback_data` the client's own (the gateway sent its message
 * id there instead), or none when the client gave none. A status of a message the gateway did not
 * send stays as Meta sent it.
 */
const statusForClient = (status: JsonObject, known: KnownMessage | undefined): JsonObject => {
  if (known === undefined) return status
  const { biz_opaque_callback_data: _ours, ...rest } = status
  return known.clientCallbackData === null ? { ...rest, id: known.id } : { ...rest, id: known.id, biz_opaque_callback_data: known.clientCallbackData }
}

/** An inbound reply names the message it answers (`context.id`) by the id the client knows too. */
const messageForClient = (message: JsonObject, messages: ReadonlyMap<string, KnownMessage>): JsonObject => {
  const context = message["context"]
  if (!isObject(context)) return message
  const replied = stringOf(context["id"])
  const known = replied === null ? undefined : messages.get(replied)
  return known === undefined ? message : { ...message, context: { ...context, id: known.id } }
}

/** One delivery's worth of a webhook: one entry with one change, holding one item (a status, a message, a click) or one update. */
export interface ForwardPiece {
  readonly payload: JsonObject
  readonly event: ForwardEvent
}

/**
 * The pieces of one change an endpoint receives. A `messages` change is split into one piece per item
 * (each status, each inbound message with the contacts, each user action), with the change's other
 * members (`messaging_product`, `metadata`) in every piece: Cloud API SDKs read the first item of a
 * notification only (`entry[0].changes[0].value.statuses[0]`), as Meta sends one at a time.
 */
const piecesOfChange = (change: JsonObject, wanted: ReadonlySet<ForwardEvent>, lookups: Lookups): ReadonlyArray<{ readonly change: JsonObject; readonly event: ForwardEvent }> => {
  const field = stringOf(change["field"]) ?? ""
  const value = change["value"]
  if (field !== "messages" || !isObject(value)) {
    const event = eventOfField(field)
    return wanted.has(event) ? [{ change, event }] : []
  }
  const base: Record<string, Json> = {}
  for (const [name, member] of Object.entries(value)) if (!MESSAGE_ARRAYS.some(([array]) => array === name)) base[name] = member
  const piece = (event: ForwardEvent, members: Record<string, Json>) => ({ change: { ...change, value: { ...base, ...members } }, event })
  const pieces: Array<{ readonly change: JsonObject; readonly event: ForwardEvent }> = []
  if (wanted.has("messages")) {
    const contacts = value["contacts"]
    for (const m of arrayOf(value["messages"])) {
      pieces.push(piece("messages", { ...(contacts === undefined ? {} : { contacts }), messages: [isObject(m) ? messageForClient(m, lookups.messages) : m] }))
    }
    if (value["errors"] !== undefined) pieces.push(piece("messages", { errors: value["errors"] }))
  }
  if (wanted.has("statuses")) {
    for (const st of arrayOf(value["statuses"])) {
      pieces.push(piece("statuses", { statuses: [isObject(st) ? statusForClient(st, lookups.messages.get(stringOf(st["id"]) ?? "")) : st] }))
    }
  }
  if (wanted.has("clicks")) for (const action of arrayOf(value["user_actions"])) pieces.push(piece("clicks", { user_actions: [action] }))
  return pieces
}

/**
 * What `target` receives of `webhook`: its pieces, one delivery each (`ForwardPiece`), in the order
 * of the body; none when nothing of it is its tenant's or of the events it asked for. An entry is the
 * tenant's when its owner is one of the target's Business Managers; a change is besides when it names
 * one of the target's channels.
 */
export const cutForTarget = (webhook: ForwardableWebhook, target: ForwardTarget, lookups: Lookups): ReadonlyArray<ForwardPiece> => {
  const wanted = new Set(target.events)
  const pieces: Array<ForwardPiece> = []
  for (const entry of webhook.entries) {
    const owner = lookups.ownerOf.get(stringOf(entry["id"]) ?? "")
    const owned = owner !== undefined && target.businessManagerIds.includes(owner)
    for (const change of arrayOf(entry["changes"]).filter(isObject)) {
      const value = change["value"]
      const channel = isObject(value) && isObject(value["metadata"]) ? stringOf(value["metadata"]["phone_number_id"]) : null
      if (!owned && (channel === null || !target.channelIds.includes(channel))) continue
      for (const p of piecesOfChange(change, wanted, lookups)) {
        pieces.push({ payload: { object: webhook.object, entry: [{ ...entry, changes: [p.change] }] }, event: p.event })
      }
    }
  }
  return pieces
}

/** What the gateway knows of a message it failed itself, for the status it forwards in Meta's place. */
export interface GatewayFailure {
  readonly wabaId: string
  readonly phoneNumberId: string
  readonly displayPhoneNumber: string
  /** The id the client was given, and its own callback data. */
  readonly message: KnownMessage
  /** The user as the message names them: the number (`recipient_id`), or for a message addressed by BSUID the BSUID (`recipient_user_id`). */
  readonly recipient: { readonly number: string | null; readonly bsuid: string | null }
  readonly at: number
  /** The provider's error that made the failure final. */
  readonly error: { readonly code: number; readonly title: string | null; readonly message: string | null; readonly details: string | null }
}

/**
 * The `failed` status webhook Meta would have sent, for a message whose dispatch the provider refused
 * for good: an app written for the Cloud API learns of it the way it learns of any failure, since the
 * gateway answered its send with 202 before the provider's refusal came.
 */
export const gatewayFailedStatus = (f: GatewayFailure): ForwardableWebhook => {
  const error: Record<string, Json> = {
    code: f.error.code,
    ...(f.error.title === null ? {} : { title: f.error.title }),
    ...(f.error.message === null ? {} : { message: f.error.message }),
    ...(f.error.details === null ? {} : { error_data: { details: f.error.details } })
  }
  const status: Record<string, Json> = {
    id: f.message.id,
    status: "failed",
    timestamp: String(Math.floor(f.at / 1000)),
    ...(f.recipient.number === null ? {} : { recipient_id: f.recipient.number }),
    ...(f.recipient.bsuid === null ? {} : { recipient_user_id: f.recipient.bsuid }),
    ...(f.message.clientCallbackData === null ? {} : { biz_opaque_callback_data: f.message.clientCallbackData }),
    errors: [error]
  }
  const entry: JsonObject = {
    id: f.wabaId,
    changes: [{
      field: "messages",
      value: {
        messaging_product: "whatsapp",
        metadata: { display_phone_number: f.displayPhoneNumber, phone_number_id: f.phoneNumberId },
        statuses: [status]
      }
    }]
  }
  return { object: "whatsapp_business_account", entries: [entry], entryIds: [f.wabaId], channelIds: [f.phoneNumberId], references: [] }
}

/**
 * JSON as Meta writes it: every character outside ASCII escaped as `\uXXXX` (UTF-16 code units), so the
 * bytes are ASCII and an app's verifier that re-serialises the parsed body the same way computes the
 * same signature.
 */
export const encodeLikeMeta = (payload: unknown): Uint8Array =>
  new TextEncoder().encode(
    JSON.stringify(payload).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
  )
