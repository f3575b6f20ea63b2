// @ts-check
// Builds an event log of about N events: messages over 10 channels and 20 campaigns, whose lifecycle
// (requested and routed, dispatch started, succeeded, then sent, delivered, read) is decided by the
// domain's Message decider once and stamped out with fresh ids and times (names: log-shape.mjs).
// Stored exactly as the event store stores events, without projecting them. B4 projects the whole
// lifecycle (that is what it measures); B2 stops at the dispatch (`--until=dispatched`), projects it
// with the rebuild, and then sends the statuses as webhooks.
//
//   node bench/lib/make-log.mjs <database file> <approximate number of events> [--until=dispatched] [--t0=<epoch ms>]
import { Decider, Events, Message } from "@mm-gateway/domain"
import { mainMigrations, migrate, openDatabase } from "@mm-gateway/sqlite-projection"
import { CHANNELS, MESSAGE_SPACING_MS, messageIdOf, phoneOf, recipientOf, wabaOf, wamidOf } from "./log-shape.mjs"

const [file, countArg, ...options] = process.argv.slice(2)
const target = Number(countArg)
const option = (/** @type {string} */ name) => options.find((o) => o.startsWith(`--${name}=`))?.split("=")[1]
const untilDispatched = option("until") === "dispatched"
const T0 = option("t0") === undefined ? Date.UTC(2026, 10, 1) : Number(option("t0"))
if (file === undefined || !Number.isInteger(target) || target < 1000 || !Number.isSafeInteger(T0)) {
  console.error("usage: make-log.mjs <database> <events ≥ 1000> [--until=dispatched] [--t0=<epoch ms>]")
  process.exit(2)
}
const db = openDatabase(file, "normal")
await migrate(db, mainMigrations)

/** Events of one message, decided by the domain, with placeholders where ids and times go. */
const lifecycle = (() => {
  const messageId = "msg_TEMPLATE"
  const wamid = "wamid.TEMPLATE"
  const to = "491519999999999"
  const observation = (/** @type {"sent" | "delivered" | "read"} */ status, /** @type {number} */ at) => ({
    wamid,
    status,
    timestamp: at,
    recipient: to,
    pricing: status === "read" ? null : { category: "marketing_lite", pricingModel: "PMP", type: "regular", billable: true },
    originType: null,
    errors: []
  })
  const commands = [
    {
      _tag: "RequestMessage", messageId, channel: "999000000000001", wabaId: "999000000000002", to, endpoint: "marketing_messages",
      messageType: "template", template: { name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: 86_400, categoryAt: T0 },
      productPolicy: null, messageActivitySharing: true, clientCallbackData: null, campaignId: "CAMPAIGN", idempotencyKey: null,
      requestHash: "hash", requestedBy: "admin",
      payload: { messaging_product: "whatsapp", to, type: "template", template: { name: "spring_sale", language: { code: "en" } } },
      decision: { _tag: "Routed", route: "marketing_messages", reasons: ["mm_api_eligible"], warnings: [], productPolicy: null, mmOptionsApply: true },
      at: T0 + 1
    },
    { _tag: "StartDispatch", messageId, attempt: 1, at: T0 + 2 },
    { _tag: "RecordDispatchSucceeded", messageId, attempt: 1, wamid, providerStatus: "accepted", at: T0 + 3 },
    ...(untilDispatched ? [] : [
      { _tag: "ObserveStatus", messageId, observation: observation("sent", T0 + 4), at: T0 + 5 },
      { _tag: "ObserveStatus", messageId, observation: observation("delivered", T0 + 6), at: T0 + 7 },
      { _tag: "ObserveStatus", messageId, observation: observation("read", T0 + 8), at: T0 + 9 }
    ])
  ]
  /** @type {Array<any>} */
  const events = []
  for (const command of commands) {
    const decided = Message.decide(/** @type {any} */ (command), Decider.fold(Message.MessageDecider, events))
    if (decided._tag === "Left") throw new Error(`${command._tag} refused: ${JSON.stringify(decided.left)}`)
    events.push(...decided.right)
  }
  return events.map((e) => {
    const encoded = Events.encodeEvent(e)
    return { type: encoded.type, schemaVersion: encoded.schemaVersion, data: JSON.stringify(encoded.data) }
  })
})()

const insert = db.prepare("INSERT INTO events (stream_id, version, type, schema_version, data, recorded_at) VALUES (?, ?, ?, ?, ?, ?)")
let written = 0
let n = 0
const batch = db.transaction((/** @type {number} */ size) => {
  for (let k = 0; k < size && written < target; k++, n++) {
    const c = n % CHANNELS
    const at = T0 + n * MESSAGE_SPACING_MS
    const stream = `Message-${messageIdOf(n)}`
    lifecycle.forEach((e, i) => {
      let data = e.data
        .replaceAll("msg_TEMPLATE", messageIdOf(n))
        .replaceAll("wamid.TEMPLATE", wamidOf(n))
        .replaceAll("491519999999999", recipientOf(n))
        .replaceAll("999000000000001", phoneOf(c))
        .replaceAll("999000000000002", wabaOf(c))
        .replaceAll('"CAMPAIGN"', `"campaign-${n % 20}"`)
      // Every time in the template is T0 + k (k < 10): move the whole lifecycle to this message's time.
      for (let k = 0; k < 10; k++) data = data.replaceAll(String(T0 + k), String(at + k))
      insert.run(stream, i + 1, e.type, e.schemaVersion, data, at + i)
    })
    written += lifecycle.length
  }
})
while (written < target) batch(5000)
db.close()
console.log(JSON.stringify({ events: written, messages: n, eventsPerMessage: lifecycle.length, t0: T0 }))
