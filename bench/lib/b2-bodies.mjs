// @ts-check
// B2's webhooks: the sent, delivered and read statuses of the messages of a generated log
// (make-log.mjs --until=dispatched), as Meta sends them under load — bodies of up to 1000 statuses,
// one entry per WABA, one `messages` change per phone number (Graph v24 shape).
import { CHANNELS, channelOf, phoneOf, recipientOf, wabaOf, wamidOf } from "./log-shape.mjs"

export const STATUSES_PER_BODY = 1000

/** @typedef {"sent" | "delivered" | "read"} Status */

/**
 * One status item. Times are unix seconds, a few seconds after the message was accepted.
 * @param {number} n message number
 * @param {Status} status
 * @param {number} acceptedAtMs
 */
const item = (n, status, acceptedAtMs) => ({
  id: wamidOf(n),
  status,
  timestamp: String(Math.floor(acceptedAtMs / 1000) + (status === "sent" ? 1 : status === "delivered" ? 2 : 30)),
  recipient_id: recipientOf(n),
  ...(status === "read" ? {} : {
    conversation: { origin: { type: "marketing_lite" } },
    pricing: { billable: true, pricing_model: "PMP", type: "regular", category: "marketing_lite" }
  })
})

/**
 * A body with `status` for messages `from` to `to - 1`, grouped by WABA and phone number.
 * @param {number} from
 * @param {number} to
 * @param {Status} status
 * @param {(n: number) => number} acceptedAt
 */
const body = (from, to, status, acceptedAt) => {
  /** @type {Array<Array<any>>} */
  const perChannel = Array.from({ length: CHANNELS }, () => [])
  for (let n = from; n < to; n++) perChannel[channelOf(n)]?.push(item(n, status, acceptedAt(n)))
  const entry = perChannel.flatMap((statuses, c) =>
    statuses.length === 0 ? [] : [{
      id: wabaOf(c),
      changes: [{
        field: "messages",
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: `1555078${String(3880 + c)}`, phone_number_id: phoneOf(c) },
          statuses
        }
      }]
    }]
  )
  return JSON.stringify({ object: "whatsapp_business_account", entry })
}

/**
 * Every body, in the order they are delivered: the sent statuses of a chunk of 1000 messages, then the
 * delivered statuses of the chunk before it (delivery follows within seconds), and every read at the
 * end (reads come minutes later). Each message gets exactly sent, delivered and read.
 * @param {number} messages
 * @param {(n: number) => number} acceptedAt
 * @returns {Array<{ body: string, statuses: number }>}
 */
export const statusBodies = (messages, acceptedAt) => {
  const chunks = Math.ceil(messages / STATUSES_PER_BODY)
  const range = (/** @type {number} */ k) => /** @type {const} */ ([k * STATUSES_PER_BODY, Math.min(messages, (k + 1) * STATUSES_PER_BODY)])
  /** @type {Array<{ body: string, statuses: number }>} */
  const bodies = []
  const push = (/** @type {number} */ k, /** @type {Status} */ status) => {
    const [from, to] = range(k)
    bodies.push({ body: body(from, to, status, acceptedAt), statuses: to - from })
  }
  for (let k = 0; k <= chunks; k++) {
    if (k < chunks) push(k, "sent")
    if (k > 0) push(k - 1, "delivered")
  }
  for (let k = 0; k < chunks; k++) push(k, "read")
  return bodies
}
