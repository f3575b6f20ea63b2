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

/** The part of one change an endpoint receives, with the events it holds; null when nothing is left. */
const cutChange = (
  change: JsonObject,
  wanted: ReadonlySet<ForwardEvent>,
  lookups: Lookups
): { readonly change: JsonObject; readonly events: ReadonlyArray<ForwardEvent> } | null => {
  const field = stringOf(change["field"]) ?? ""
  const value = change["value"]
  if (field !== "messages" || !isObject(value)) {
    const event = eventOfField(field)
    return wanted.has(event) ? { change, events: [event] } : null
  }
  const kept: Record<string, Json> = {}
  const events = new Set<ForwardEvent>()
  let held = false
  for (const [name, member] of Object.entries(value)) {
    const event = MESSAGE_ARRAYS.find(([array]) => array === name)?.[1]
    if (event === undefined) {
      kept[name] = member
      continue
    }
    if (!wanted.has(event)) continue
    if (name === "statuses") kept[name] = arrayOf(member).map((s) => (isObject(s) ? statusForClient(s, lookups.messages.get(stringOf(s["id"]) ?? "")) : s))
    else if (name === "messages") kept[name] = arrayOf(member).map((m) => (isObject(m) ? messageForClient(m, lookups.messages) : m))
    else kept[name] = member
    events.add(event)
    held = true
  }
  return held ? { change: { ...change, value: kept }, events: [...events] } : null
}

/**
 * The body `target` receives of `webhook`, and the events in it; null when nothing of it is its
 * tenant's or of the events it asked for. An entry is the tenant's when its owner is one of the
 * target's Business Managers; a change is besides when it names one of the target's channels.
 */
export const cutForTarget = (
  webhook: ForwardableWebhook,
  target: ForwardTarget,
  lookups: Lookups
): { readonly payload: JsonObject; readonly events: ReadonlyArray<ForwardEvent> } | null => {
  const wanted = new Set(target.events)
  const events = new Set<ForwardEvent>()
  const entries: Array<JsonObject> = []
  for (const entry of webhook.entries) {
    const owner = lookups.ownerOf.get(stringOf(entry["id"]) ?? "")
    const owned = owner !== undefined && target.businessManagerIds.includes(owner)
    const changes: Array<JsonObject> = []
    for (const change of arrayOf(entry["changes"]).filter(isObject)) {
      const value = change["value"]
      const channel = isObject(value) && isObject(value["metadata"]) ? stringOf(value["metadata"]["phone_number_id"]) : null
      if (!owned && (channel === null || !target.channelIds.includes(channel))) continue
      const cut = cutChange(change, wanted, lookups)
      if (cut === null) continue
      changes.push(cut.change)
      for (const e of cut.events) events.add(e)
    }
    if (changes.length > 0) entries.push({ ...entry, changes })
  }
  return entries.length === 0 ? null : { payload: { object: webhook.object, entry: entries }, events: [...events].sort() }
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
