// @ts-check
// B7 — forwarding (docs/forwarding.md): webhooks forwarded / s by the real worker from the api's inbox
// to a local endpoint, side by side with a plain `node:http` keep-alive POST loop of the same bodies to
// the same endpoint (the same concurrency); then the latency from a webhook's 200 to the endpoint's
// receipt while webhooks arrive at 500 / s.
//
// Setup through the real processes: api, worker and sandbox from their builds; one Business Manager,
// WABA and channel; one endpoint of the tenant at a local receiver in this process. The bodies are
// signed 1-status webhooks of messages the gateway did not send (so each is forwarded as Meta sent
// it and the worker parks the status), each distinct.
import { createServer, request as httpRequest, Agent } from "node:http"
import { resolve } from "node:path"
import { signMetaWebhook } from "@mm-gateway/webhook-adapter"
import { DEVELOPMENT_DEFAULTS } from "../scripts/stack.mjs"
import { BM_ID, call, registerChannels, startGatewayStack, WABA_ID } from "./lib/gateway-stack.mjs"
import { cpuSecondsOf } from "./lib/proc.mjs"

const APP_SECRET = DEVELOPMENT_DEFAULTS.MMGW_META_APP_SECRET
/** What the worker keeps in flight at once by default (`WORKER_DEFAULTS.forwardConcurrency`): the reference's concurrency too. */
const CONCURRENCY = 16

/** A status webhook of message number `n` on the bench channel. */
const statusBody = (/** @type {string} */ phone, /** @type {number} */ n) =>
  `{"object":"whatsapp_business_account","entry":[{"id":"${WABA_ID}","changes":[{"value":{"messaging_product":"whatsapp",` +
  `"metadata":{"display_phone_number":"15550783881","phone_number_id":"${phone}"},"statuses":[{"id":"wamid.FWD${n}",` +
  `"status":"delivered","timestamp":"1764000000","recipient_id":"16505551234"}]},"field":"messages"}]}]}`

/** The endpoint: counts deliveries, notes when each status id arrived. */
const startReceiver = async () => {
  /** @type {Map<string, number>} */
  const arrivals = new Map()
  let count = 0
  const server = createServer((req, res) => {
    const chunks = /** @type {Array<Buffer>} */ ([])
    req.on("data", (c) => chunks.push(c))
    req.on("end", () => {
      const at = performance.now()
      count++
      const id = /"id":"(wamid\.FWD\d+)"/.exec(Buffer.concat(chunks).toString("utf8"))?.[1]
      if (id !== undefined && !arrivals.has(id)) arrivals.set(id, at)
      res.writeHead(200).end()
    })
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)))
  const address = /** @type {import("node:net").AddressInfo} */ (server.address())
  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    port: address.port,
    arrivals,
    count: () => count,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve(undefined))
    })
  }
}

/**
 * POSTs each body to the api's webhook endpoint, `parallel` at a time, each answered 200.
 * @param {string} url
 * @param {ReadonlyArray<string>} bodies
 * @param {number} parallel
 */
const postWebhooks = async (url, bodies, parallel) => {
  let next = 0
  const one = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      const body = /** @type {string} */ (bodies[i])
      const response = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", "x-hub-signature-256": signMetaWebhook(body, APP_SECRET) } })
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`webhook ${i}: answered ${response.status}`)
    }
  }
  await Promise.all(Array.from({ length: parallel }, one))
}

/**
 * The reference: the same bodies POSTed to the receiver with plain node:http, keep-alive, `CONCURRENCY` at a time.
 * @param {number} port
 * @param {ReadonlyArray<string>} bodies
 */
const referenceLoop = async (port, bodies) => {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  let next = 0
  const post = (/** @type {string} */ body) =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path: "/hook", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        res.resume()
        res.on("end", () => (res.statusCode === 200 ? resolve(undefined) : reject(new Error(`reference: ${res.statusCode}`))))
      })
      req.on("error", reject)
      req.end(body)
    })
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = next++; i < bodies.length; i = next++) await post(/** @type {string} */ (bodies[i]))
  }))
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  return bodies.length / seconds
}

const percentile = (/** @type {Array<number>} */ sorted, /** @type {number} */ q) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN

/**
 * @param {{ quick: boolean, dir: string, log: (line: string) => void }} options
 */
export const b7 = async ({ quick, dir, log }) => {
  const total = quick ? 2_000 : 10_000
  const rate = 500
  const latencySeconds = quick ? 5 : 20
  const receiver = await startReceiver()
  const stack = await startGatewayStack({ dir, name: "b7" })
  try {
    const [phone] = await registerChannels(stack, 1, 80)
    await call("POST", `${stack.apiUrl}/v1/webhook-endpoints`, { url: receiver.url, secret: "bench-endpoint-secret", businessManagerIds: [BM_ID], events: ["statuses"] })

    // The backlog, stored by the api before the worker runs; its cut bodies are the reference's bodies.
    const bodies = Array.from({ length: total }, (_, n) => statusBody(/** @type {string} */ (phone), n))
    await postWebhooks(`${stack.apiUrl}/webhooks/meta`, bodies, 8)
    const reference = await referenceLoop(receiver.port, bodies)
    log(`B7 reference: ${reference.toFixed(0)} POST/s`)
    receiver.arrivals.clear()

    const profileDir = process.env["BENCH_CPU_PROF"]
    const worker = await stack.startWorker(profileDir === undefined || profileDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir)}`])
    const pid = /** @type {number} */ (worker.child.pid)
    const cpuBefore = cpuSecondsOf(pid) ?? 0
    const started = performance.now()
    while (receiver.arrivals.size < total) {
      if (performance.now() - started > 300_000) throw new Error(`only ${receiver.arrivals.size} of ${total} forwarded in 300 s`)
      await new Promise((r) => setTimeout(r, 20))
    }
    const arrivals = [...receiver.arrivals.values()].sort((a, b) => a - b)
    const forwarded = (total - 1) / (((/** @type {number} */ (arrivals.at(-1))) - (/** @type {number} */ (arrivals[0]))) / 1000)
    // CPU per webhook (processed and forwarded) is steadier than the rate on a machine shared with other work.
    const cpuMsPerWebhook = (((cpuSecondsOf(pid) ?? 0) - cpuBefore) * 1000) / total
    log(`B7 gateway: ${forwarded.toFixed(0)} forwarded/s (${total} webhooks from the inbox), ${(cpuMsPerWebhook * 1000).toFixed(0)} µs of worker CPU per webhook`)

    // Latency at `rate` webhooks / s: each webhook's 200 to its arrival at the endpoint.
    receiver.arrivals.clear()
    /** @type {Map<string, number>} */
    const answered = new Map()
    const count = rate * latencySeconds
    const t0 = performance.now()
    /** @type {Array<Promise<void>>} */
    const inFlight = []
    for (let i = 0; i < count; i++) {
      const due = t0 + (i * 1000) / rate
      const wait = due - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      const n = total + i
      const body = statusBody(/** @type {string} */ (phone), n)
      inFlight.push((async () => {
        const response = await fetch(`${stack.apiUrl}/webhooks/meta`, { method: "POST", body, headers: { "content-type": "application/json", "x-hub-signature-256": signMetaWebhook(body, APP_SECRET) } })
        await response.arrayBuffer()
        if (response.status !== 200) throw new Error(`webhook ${n}: answered ${response.status}`)
        answered.set(`wamid.FWD${n}`, performance.now())
      })())
    }
    await Promise.all(inFlight)
    const sentSeconds = (performance.now() - t0) / 1000
    const waitStarted = performance.now()
    while (receiver.arrivals.size < count && performance.now() - waitStarted < 60_000) await new Promise((r) => setTimeout(r, 20))
    const latencies = [...answered].map(([id, at]) => (receiver.arrivals.get(id) ?? Number.POSITIVE_INFINITY) - at).sort((a, b) => a - b)
    const p50 = percentile(latencies, 0.5)
    const p99 = percentile(latencies, 0.99)
    const missing = latencies.filter((l) => l === Number.POSITIVE_INFINITY).length
    log(`B7 latency at ${(count / sentSeconds).toFixed(0)} webhooks/s: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, ${missing} not forwarded`)

    return {
      id: "B7",
      what: "webhooks forwarded / s from the inbox to a local endpoint; 200 → receipt at 500 / s",
      figure: forwarded,
      reference,
      unit: "deliveries/s",
      goal: { ratio: 0.5, p50Ms: 250, p99Ms: 1000 },
      details: { total, forwardedPerSecond: forwarded, workerCpuMsPerWebhook: cpuMsPerWebhook, referencePerSecond: reference, latency: { rate: count / sentSeconds, webhooks: count, p50Ms: p50, p99Ms: p99, missing } },
      verdictOf: (/** @type {number} */ ratio) => ratio >= 0.5 && p50 <= 250 && p99 <= 1000 && missing === 0
    }
  } finally {
    await stack.stop()
    await receiver.close()
  }
}
