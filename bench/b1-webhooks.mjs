// @ts-check
// B1 — signed status webhooks accepted per second by the api alone (1 status per POST, 50
// connections), side by side with the bare reference receiver. Every body is distinct (the inbox
// dedupes identical deliveries, which would be a cheaper path), signed with the app secret.
import autocannon from "autocannon"
import Database from "better-sqlite3"
import { join, resolve } from "node:path"
import { signMetaWebhook } from "@mm-gateway/webhook-adapter"
import { ENTRY, freePort, ROOT } from "../scripts/stack.mjs"
import { memoryOf, startNode, waitForHttp } from "./lib/proc.mjs"
import { gatewayDatabase } from "./lib/store.mjs"
import pg from "pg"

const SECRET = "bench-app-secret"
const CONNECTIONS = 50

/** A status webhook as Meta sends it (Graph v24 shape, one status), for message number `n`. */
const statusBody = (/** @type {number} */ n) =>
  `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp",` +
  `"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.BENCH${n}",` +
  `"status":"delivered","timestamp":"1764000000","recipient_id":"16505551234","pricing":{"billable":true,"pricing_model":"PMP",` +
  `"type":"regular","category":"marketing_lite"}}]},"field":"messages"}]}]}`

/**
 * One autocannon run against `url`; every request gets a fresh body and its signature. Each connection
 * has one request in flight (no pipelining), so the number it sent is known when its answer comes:
 * `counter.accepted` collects the numbers answered 200.
 * @param {string} url
 * @param {number} seconds
 * @param {{ next: number, accepted?: Set<number> }} counter shared across runs so no body repeats
 */
const load = (url, seconds, counter) =>
  new Promise((resolve, reject) => {
    autocannon({
      url,
      connections: CONNECTIONS,
      duration: seconds,
      requests: [{
        method: "POST",
        setupRequest: (request, context) => {
          const n = counter.next++
          context.n = n
          const body = statusBody(n)
          return {
            ...request,
            body,
            headers: {
              "content-type": "application/json",
              "x-hub-signature-256": signMetaWebhook(body, SECRET)
            }
          }
        },
        onResponse: (status, _body, context) => {
          if (status === 200) counter.accepted?.add(context.n)
        }
      }]
    }, (error, result) => (error ? reject(error) : resolve(result)))
  })

/** @param {any} r autocannon's result */
const summary = (r) => ({
  requestsPerSecond: r.requests.average,
  ok: r["2xx"],
  non2xx: r.non2xx,
  errors: r.errors + r.timeouts,
  p50Ms: r.latency.p50,
  p99Ms: r.latency.p99
})

/**
 * The numbers of the bench bodies stored in the inbox, read back body by body: from the SQLite
 * inbox file beside `database`, or from the PostgreSQL database at `url`.
 * @param {string} database
 * @param {string | undefined} url
 * @returns {Promise<Set<number>>}
 */
const storedNumbersOf = async (database, url) => {
  const numbers = new Set()
  const add = (/** @type {string} */ body) => {
    const n = /wamid\.BENCH(\d+)"/.exec(body)?.[1]
    if (n !== undefined) numbers.add(Number(n))
  }
  if (url === undefined) {
    const inbox = new Database(database.replace(/\.sqlite$/, ".inbox.sqlite"), { readonly: true })
    for (const row of inbox.prepare("SELECT CAST(body AS TEXT) AS body FROM inbox").iterate()) add(/** @type {{ body: string }} */ (row).body)
    inbox.close()
  } else {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      for (const row of (await client.query("SELECT convert_from(body, 'UTF8') AS body FROM inbox")).rows) add(row.body)
    } finally {
      await client.end()
    }
  }
  return numbers
}

/** @param {import("./run.mjs").BenchOptions} options */
export const b1 = async ({ quick, dir, log, store }) => {
  const seconds = quick ? 5 : 20
  const soakSeconds = quick ? 10 : 60
  /** @type {{ next: number, accepted?: Set<number> }} */
  const counter = { next: 0 }

  // The reference: bare node:http + HMAC + JSON.parse + one insert (better-sqlite3, or pg on a database of its own).
  const refPort = await freePort()
  const referenceDatabase = await gatewayDatabase(store)
  const ref = referenceDatabase.url === undefined
    ? startNode(join(ROOT, "bench/reference/webhook-receiver.mjs"), [String(refPort), join(dir, "b1-reference.sqlite"), SECRET], process.env)
    : startNode(join(ROOT, "bench/reference/webhook-receiver-pg.mjs"), [String(refPort), referenceDatabase.url, SECRET], process.env)
  await waitForHttp(`http://127.0.0.1:${refPort}/`, ref)
  await load(`http://127.0.0.1:${refPort}/webhooks/meta`, 2, counter) // warm-up
  const reference = summary(await load(`http://127.0.0.1:${refPort}/webhooks/meta`, seconds, counter))
  await ref.stop()
  await referenceDatabase.drop()
  log(`B1 reference: ${reference.requestsPerSecond.toFixed(0)} req/s, p99 ${reference.p99Ms} ms`)

  // The api alone, as deployed (`node apps/api/dist/main.js`), development mode, default durability.
  const apiPort = await freePort()
  const database = join(dir, "b1-gateway.sqlite")
  const gatewayDb = await gatewayDatabase(store)
  const profileDir = process.env["BENCH_CPU_PROF"]
  const api = startNode(ENTRY.api, [], {
    ...process.env,
    MMGW_API_PORT: String(apiPort),
    MMGW_DATABASE: database,
    ...(gatewayDb.url === undefined ? {} : { MMGW_DATABASE_URL: gatewayDb.url }),
    MMGW_META_APP_SECRET: SECRET,
    MMGW_MODE: "development"
  }, profileDir === undefined || profileDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir)}`])
  await waitForHttp(`http://127.0.0.1:${apiPort}/readyz`, api)
  const url = `http://127.0.0.1:${apiPort}/webhooks/meta`
  counter.accepted = new Set()
  await load(url, 2, counter) // warm-up
  const gateway = summary(await load(url, seconds, counter))
  log(`B1 api: ${gateway.requestsPerSecond.toFixed(0)} req/s, p99 ${gateway.p99Ms} ms`)

  // Memory under sustained load: RSS sampled every second; growth = last third vs. middle third.
  /** @type {Array<number>} */
  const samples = []
  const sampler = setInterval(() => {
    const m = api.child.pid === undefined ? null : memoryOf(api.child.pid)
    if (m !== null) samples.push(m.rssMiB)
  }, 1000)
  const soak = summary(await load(url, soakSeconds, counter))
  clearInterval(sampler)
  const memory = api.child.pid === undefined ? null : memoryOf(api.child.pid)
  await api.stop()
  const third = Math.max(1, Math.floor(samples.length / 3))
  const mean = (/** @type {Array<number>} */ xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const middle = mean(samples.slice(third, 2 * third))
  const last = mean(samples.slice(2 * third))

  // Every 200 answered is in the inbox (read back body by body).
  const storedNumbers = await storedNumbersOf(database, gatewayDb.url)
  await gatewayDb.drop()
  const stored = storedNumbers.size
  const answered = counter.accepted.size
  const lost = [...counter.accepted].filter((n) => !storedNumbers.has(n)).length
  log(`B1 soak ${soakSeconds} s: ${soak.requestsPerSecond.toFixed(0)} req/s; RSS ${middle.toFixed(0)} → ${last.toFixed(0)} MiB; inbox rows ${stored}, answered 200 ${answered}, answered but missing ${lost}`)

  return {
    id: "B1",
    what: "signed status webhooks accepted / s (api alone, 50 connections)",
    figure: gateway.requestsPerSecond,
    reference: reference.requestsPerSecond,
    unit: "req/s",
    goal: { ratio: 0.6, p99Ms: 25 },
    details: {
      gateway,
      reference,
      soak: { seconds: soakSeconds, ...soak },
      memory: { peakRssMiB: memory?.peakMiB ?? null, rssMiddleThirdMiB: middle, rssLastThirdMiB: last },
      inbox: { rowsStored: stored, answered200: answered, answeredButMissing: lost }
    },
    // Correctness before speed: a 200 that is not in the inbox fails the benchmark whatever the rate.
    verdictOf: (/** @type {number} */ ratio) => ratio >= 0.6 && gateway.p99Ms <= 25 && lost === 0 && answered > 0
  }
}
