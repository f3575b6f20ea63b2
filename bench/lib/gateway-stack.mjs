// @ts-check
// The gateway as deployed, for the dispatch benchmarks (B3, B5): sandbox, api and worker started from
// their builds on free ports, channels registered through the api, messages accepted through the api
// (`/v1/channels/{id}/message-batches`), and what the sandbox counted.
import { join } from "node:path"
import { DEVELOPMENT_DEFAULTS, ENTRY, freePort } from "../../scripts/stack.mjs"
import { startNode, waitForHttp } from "./proc.mjs"

const ADMIN = DEVELOPMENT_DEFAULTS.MMGW_ADMIN_TOKEN
export const BM_ID = "271828182845904"
export const WABA_ID = "102290129340398"
export const TEMPLATE = { name: "spring_sale", language: { code: "en" } }

/** The phone number id of channel `c` (0-based). */
export const phoneOf = (/** @type {number} */ c) => String(106540352240000 + c)

/**
 * A recipient whose last four digits are `0000`: the sandbox accepts the send, returns a wamid and sends
 * no webhooks (packages/sandbox/README.md). The benchmarks measure dispatch, not the status path (B1,
 * B2 measure that), so neither side's figure includes webhook traffic.
 * @param {string} run distinguishes one benchmark's recipients from another's
 * @param {number} n
 */
export const silentRecipient = (run, n) => `49${run}${String(n).padStart(7, "0")}0000`

/**
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body]
 */
export const call = async (method, url, body) => {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text.slice(0, 500)}`)
  return text === "" ? null : JSON.parse(text)
}

/**
 * Sandbox and api on free ports with one shared environment; the workers are started separately
 * (`startWorker`), so messages can be accepted before they run. On SQLite in `dir`, or on the
 * PostgreSQL database `databaseUrl` (`MMGW_DATABASE_URL`) when given.
 * @param {{ dir: string, name: string, sandboxEnv?: NodeJS.ProcessEnv, databaseUrl?: string }} options
 */
export const startGatewayStack = async ({ dir, name, sandboxEnv = {}, databaseUrl }) => {
  const apiPort = await freePort()
  const sandboxPort = await freePort()
  const env = {
    ...process.env,
    MMGW_MODE: "development",
    MMGW_HOST: "127.0.0.1",
    MMGW_API_PORT: String(apiPort),
    MMGW_SANDBOX_PORT: String(sandboxPort),
    MMGW_DATABASE: join(dir, `${name}.sqlite`),
    MMGW_SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${apiPort}/webhooks/meta`,
    MMGW_SANDBOX_SEED: "42",
    ...(databaseUrl === undefined ? {} : { MMGW_DATABASE_URL: databaseUrl })
  }
  const apiUrl = `http://127.0.0.1:${apiPort}`
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`
  const sandbox = startNode(ENTRY.sandbox, [], { ...env, ...sandboxEnv })
  const api = startNode(ENTRY.api, [], env)
  /** @type {Array<ReturnType<typeof startNode>>} */
  const workers = []
  try {
    await waitForHttp(`${sandboxUrl}/healthz`, sandbox)
    await waitForHttp(`${apiUrl}/readyz`, api)
  } catch (error) {
    await Promise.all([sandbox.stop(), api.stop()])
    throw error
  }
  return {
    env,
    apiUrl,
    sandboxUrl,
    sandbox,
    api,
    /** @returns {ReturnType<typeof startNode> | null} the latest worker started */
    worker: () => workers.at(-1) ?? null,
    /** Every worker started. */
    workers: () => [...workers],
    /**
     * Starts a worker (`nodeFlags`, e.g. `--cpu-prof`); resolves once it is at work (its first round of leases done).
     * @param {ReadonlyArray<string>} [nodeFlags]
     */
    startWorker: async (nodeFlags = []) => {
      const started = startNode(ENTRY.worker, [], env, nodeFlags)
      workers.push(started)
      const deadline = Date.now() + 30_000
      while (!started.output.some((line) => line.includes(" at work: holds "))) {
        if (started.child.exitCode !== null) throw new Error(`the worker exited:\n${started.output.join("\n")}`)
        if (Date.now() > deadline) throw new Error(`the worker did not get to work:\n${started.output.join("\n")}`)
        await new Promise((r) => setTimeout(r, 20))
      }
      return started
    },
    stop: async () => {
      // The workers first: they drain their requests in flight, which need the sandbox to answer.
      await Promise.all(workers.map((w) => w.stop()))
      await Promise.all([api.stop(), sandbox.stop()])
    }
  }
}

/** @typedef {Awaited<ReturnType<typeof startGatewayStack>>} GatewayStack */

/**
 * One Business Manager, one WABA onboarded to the MM API (so messages take the MM route), its
 * MARKETING template, and `count` sandbox channels at `throughputMps`.
 * @param {GatewayStack} stack
 * @param {number} count
 * @param {number} throughputMps
 */
export const registerChannels = async (stack, count, throughputMps) => {
  const api = (/** @type {string} */ method, /** @type {string} */ path, /** @type {unknown} */ body) => call(method, `${stack.apiUrl}${path}`, body)
  await api("PUT", `/v1/business-managers/${BM_ID}`, { name: "Bench" })
  await api("PUT", `/v1/wabas/${WABA_ID}`, { businessManagerId: BM_ID, name: "bench" })
  await api("POST", `/v1/wabas/${WABA_ID}/mm-api-status`, { status: "onboarded", reason: "benchmark" })
  await api("PUT", `/v1/wabas/${WABA_ID}/templates/${TEMPLATE.name}/${TEMPLATE.language.code}`, { category: "MARKETING" })
  /** @type {Array<string>} */
  const phones = []
  for (let c = 0; c < count; c++) {
    const phone = phoneOf(c)
    await api("PUT", `/v1/channels/${phone}`, {
      wabaId: WABA_ID,
      displayPhoneNumber: `+1555${phone.slice(-7)}`,
      provider: "sandbox",
      credentials: { apiKey: `sandbox-${phone}` },
      throughputMps
    })
    phones.push(phone)
  }
  return phones
}

/**
 * Accepts `perChannel` template messages on each channel through the api, in batches of 1000 (two
 * batches in flight). Returns the gateway's message ids.
 * @param {GatewayStack} stack
 * @param {ReadonlyArray<string>} phones
 * @param {number} perChannel
 * @param {{ run: string, campaignId: string, firstIndex?: number }} options
 */
export const acceptMessages = async (stack, phones, perChannel, { run, campaignId, firstIndex = 0 }) => {
  /** @type {Array<{ phone: string, messages: Array<unknown> }>} */
  const batches = []
  let n = firstIndex
  for (let start = 0; start < perChannel; start += 1000) {
    for (const phone of phones) {
      const messages = []
      for (let k = start; k < Math.min(perChannel, start + 1000); k++) {
        messages.push({ messaging_product: "whatsapp", to: silentRecipient(run, n++), type: "template", template: TEMPLATE })
      }
      batches.push({ phone, messages })
    }
  }
  /** @type {Array<string>} */
  const ids = []
  const next = async () => {
    for (let batch = batches.shift(); batch !== undefined; batch = batches.shift()) {
      const result = await call("POST", `${stack.apiUrl}/v1/channels/${batch.phone}/message-batches`, {
        campaignId,
        endpoint: "marketing_messages",
        messages: batch.messages
      })
      for (const r of result.results) {
        if (r.error !== undefined) throw new Error(`message refused: ${JSON.stringify(r.error)}`)
        ids.push(r.id)
      }
    }
  }
  await Promise.all([next(), next()])
  return ids
}

/**
 * What the sandbox counted (`GET /sandbox/stats`); without the per-message counts unless `full`
 * (they are large, and polling them would load the sandbox).
 * @param {GatewayStack} stack
 * @param {boolean} [full]
 * @returns {Promise<any>}
 */
export const sandboxStats = (stack, full = false) => call("GET", `${stack.sandboxUrl}/sandbox/stats${full ? "" : "?byCallbackData=false"}`)

/**
 * Waits until the sandbox has accepted `total` sends, or nothing more arrives for `idleMs`.
 * @param {GatewayStack} stack
 * @param {number} total
 * @param {{ idleMs?: number, pollMs?: number }} [options]
 */
export const waitForAccepted = async (stack, total, { idleMs = 10_000, pollMs = 250 } = {}) => {
  let last = -1
  let lastChange = Date.now()
  for (;;) {
    const stats = await sandboxStats(stack)
    if (stats.accepted.total >= total) return sandboxStats(stack, true)
    if (stats.accepted.total !== last) {
      last = stats.accepted.total
      lastChange = Date.now()
    } else if (Date.now() - lastChange > idleMs) {
      return sandboxStats(stack, true)
    }
    for (const worker of stack.workers()) {
      if (worker.child.exitCode !== null) throw new Error(`a worker exited:\n${worker.output.join("\n")}`)
    }
    await new Promise((r) => setTimeout(r, pollMs))
  }
}

/**
 * Each of `ids` reached the sandbox exactly once (one request, one acceptance), and nothing else did.
 * @param {any} stats the sandbox's
 * @param {ReadonlyArray<string>} ids
 */
export const exactlyOnce = (stats, ids) => {
  const counted = /** @type {Record<string, { requests: number, accepted: number }>} */ (stats.byCallbackData)
  let missing = 0
  let twice = 0
  for (const id of ids) {
    const entry = counted[id]
    if (entry === undefined || entry.accepted === 0) missing++
    else if (entry.requests > 1 || entry.accepted > 1) twice++
  }
  const unexpected = Object.keys(counted).length - (ids.length - missing)
  return { expected: ids.length, missing, twice, unexpected, ok: missing === 0 && twice === 0 && unexpected === 0 }
}

/**
 * The sandbox's own rate: accepted sends between its first and its last acceptance, per second.
 * @param {any} stats the sandbox's
 */
export const acceptRateOf = (stats) => {
  const { total, firstAt, lastAt } = stats.accepted
  return firstAt === null || lastAt === null || lastAt === firstAt ? 0 : ((total - 1) / (lastAt - firstAt)) * 1000
}
