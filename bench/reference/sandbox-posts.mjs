// @ts-check
// B3's reference: the least a dispatcher can do — the same number of POSTs of the same bodies to the
// same sandbox, from plain node:http with a keep-alive agent and as many requests in flight as the
// worker allows itself (its default concurrency), round-robin over the channels. No database, no
// rate limit, no bookkeeping beyond counting the answers.
//
//   node bench/reference/sandbox-posts.mjs <sandbox url> <count> <concurrency> <phone,phone,...> <run>
import { Agent, request } from "node:http"
import { silentRecipient, TEMPLATE } from "../lib/gateway-stack.mjs"

const [base, countArg, concurrencyArg, phonesArg, run] = process.argv.slice(2)
const count = Number(countArg)
const concurrency = Number(concurrencyArg)
if (base === undefined || !(count > 0) || !(concurrency > 0) || phonesArg === undefined || run === undefined) {
  console.error("usage: sandbox-posts.mjs <sandbox url> <count> <concurrency> <phones> <run>")
  process.exit(2)
}
const phones = phonesArg.split(",")
const url = new URL(base)
const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency, scheduling: "lifo" })

/** The body the gateway sends for a template message on the MM route (`buildProviderBody`). */
const bodyOf = (/** @type {number} */ n) =>
  JSON.stringify({
    messaging_product: "whatsapp",
    to: silentRecipient(run, n),
    type: "template",
    template: TEMPLATE,
    biz_opaque_callback_data: `ref_${String(n).padStart(22, "0")}`
  })

const post = (/** @type {number} */ n) =>
  new Promise((resolve, reject) => {
    const body = bodyOf(n)
    const phone = phones[n % phones.length]
    const req = request({
      host: url.hostname,
      port: url.port,
      path: `/v25.0/${phone}/marketing_messages`,
      method: "POST",
      agent,
      headers: {
        authorization: `Bearer sandbox-${phone}`,
        accept: "application/json",
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body)
      }
    }, (res) => {
      const chunks = /** @type {Array<Buffer>} */ ([])
      res.on("data", (c) => chunks.push(c))
      res.on("end", () => {
        JSON.parse(Buffer.concat(chunks).toString("utf8"))
        resolve(res.statusCode)
      })
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })

let next = 0
let ok = 0
const started = performance.now()
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < count) {
    const status = await post(next++)
    if (status === 200) ok++
  }
}))
const ms = performance.now() - started
agent.destroy()
console.log(JSON.stringify({ sent: count, ok, ms }))
