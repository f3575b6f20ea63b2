// @ts-check
// `pnpm demo`: a scripted marketing campaign against the sandbox, through the public API only.
// Registers three Business Managers (one onboarded WABA by WABA, one at business level, one suspended),
// sends a campaign of a few thousand messages in batches with a progress bar, waits until every
// webhook has been applied, and prints the funnel and the route split. Every figure printed comes from
// the api (GET /v1/campaigns/{id}/stats, /v1/onboarding, /v1/channels/{id}/clicks).
//
//   pnpm demo                 # against a running `pnpm start`, or a stack it starts itself
//   pnpm demo -- --messages 5000
import { createHmac } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { spawnSync } from "node:child_process"
import { freePort, ROOT, stackSettings, startStack } from "./stack.mjs"

const args = process.argv.slice(2)
const argValue = (/** @type {string} */ name, /** @type {string} */ fallback) => {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback
}
const TOTAL = Number(argValue("--messages", "3000"))
if (!Number.isInteger(TOTAL) || TOTAL < 10 || TOTAL > 100_000) {
  console.error("--messages must be an integer between 10 and 100000")
  process.exit(2)
}
const BATCH = 500

/** The demo's tenants: ids in a range of their own so they never collide with a walk-through's. */
const TENANTS = [
  { bm: "910000000000001", name: "Acme (onboarded WABA by WABA)", wabas: [
    { id: "920000000000011", name: "Acme main", phone: "930000000000111", onboarding: "waba" },
    { id: "920000000000012", name: "Acme regional", phone: "930000000000122", onboarding: "none" }
  ] },
  { bm: "910000000000002", name: "Globex (onboarded at business level)", wabas: [
    { id: "920000000000021", name: "Globex", phone: "930000000000211", onboarding: "business" }
  ] },
  { bm: "910000000000003", name: "Initech (suspended)", wabas: [
    { id: "920000000000031", name: "Initech", phone: "930000000000311", onboarding: "suspended" }
  ] }
]
const WABAS = TENANTS.flatMap((t) => t.wabas.map((w) => ({ ...w, bm: t.bm })))

// ---------------------------------------------------------------------------------------------------
// The stack: a running one (answers on the configured ports), or one started here on a temp database.

let settings = stackSettings(process.env)
/** @type {Awaited<ReturnType<typeof startStack>> | undefined} */
let ownStack
let ownDir = ""

const answers = async (/** @type {string} */ url) => {
  try {
    const r = await fetch(url)
    await r.arrayBuffer()
    return r.ok
  } catch {
    return false
  }
}

if (await answers(`${settings.apiUrl}/readyz`)) {
  if (!(await answers(`${settings.sandboxUrl}/healthz`))) {
    console.error(`the api answers at ${settings.apiUrl} but no sandbox at ${settings.sandboxUrl}; start the whole stack with pnpm start`)
    process.exit(1)
  }
  console.log(`using the running stack: api ${settings.apiUrl}, sandbox ${settings.sandboxUrl}`)
} else {
  console.log("no stack running: building and starting api, worker and sandbox on a temporary database…")
  const built = spawnSync("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only",
    "--filter=@mm-gateway/api", "--filter=@mm-gateway/worker", "--filter=@mm-gateway/sandbox"], { cwd: ROOT, stdio: "inherit" })
  if (built.status !== 0) process.exit(built.status ?? 1)
  ownDir = mkdtempSync(join(tmpdir(), "mmgw-demo-"))
  const env = {
    ...process.env,
    MMGW_API_PORT: String(await freePort()),
    MMGW_SANDBOX_PORT: String(await freePort()),
    MMGW_DATABASE: join(ownDir, "demo.sqlite")
  }
  delete env.MMGW_SANDBOX_WEBHOOK_URL
  ownStack = await startStack({
    env,
    // Only errors from the processes: the demo's own output is the point here.
    onLine: (name, line) => {
      if (/ERROR|FATAL/.test(line)) console.error(`${name}: ${line}`)
    }
  })
  settings = ownStack.settings
}
const cleanup = async () => {
  if (ownStack !== undefined) await ownStack.stop()
  if (ownDir !== "") rmSync(ownDir, { recursive: true, force: true })
}
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)))

// ---------------------------------------------------------------------------------------------------
// HTTP helpers

const auth = { authorization: `Bearer ${settings.adminToken}`, "content-type": "application/json" }

/** @param {string} method @param {string} url @param {unknown} [body] @param {Record<string, string>} [headers] */
const call = async (method, url, body, headers = {}) => {
  const response = await fetch(url, {
    method,
    headers: { ...auth, ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status} ${text}`)
  return text === "" ? null : JSON.parse(text)
}
const api = (/** @type {string} */ method, /** @type {string} */ path, /** @type {unknown} */ body, /** @type {Record<string, string>} */ headers) =>
  call(method, `${settings.apiUrl}${path}`, body, headers)
const sandbox = (/** @type {string} */ method, /** @type {string} */ path, /** @type {unknown} */ body) =>
  call(method, `${settings.sandboxUrl}${path}`, body)

/** Posts a webhook to the api signed like Meta's (the demo plays Meta for the suspension). */
const postSignedWebhook = async (/** @type {unknown} */ payload) => {
  const body = JSON.stringify(payload)
  const signature = createHmac("sha256", settings.appSecret).update(body).digest("hex")
  const response = await fetch(`${settings.apiUrl}/webhooks/meta`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hub-signature-256": `sha256=${signature}` },
    body
  })
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`)
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))

const waitFor = async (/** @type {string} */ what, /** @type {() => Promise<boolean>} */ done, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

const inboxPending = async () => {
  const text = await (await fetch(`${settings.apiUrl}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith("mmgw_webhook_inbox_pending "))
  return line === undefined ? 0 : Number(line.split(" ")[1])
}

// ---------------------------------------------------------------------------------------------------
// 1. Tenants, WABAs, channels, templates, onboarding

const main = async () => {
  console.log("\n1. registering 3 Business Managers, 4 WABAs, 4 sandbox channels and their templates")
  for (const t of TENANTS) await api("PUT", `/v1/business-managers/${t.bm}`, { name: t.name })
  for (const w of WABAS) {
    await api("PUT", `/v1/wabas/${w.id}`, { businessManagerId: w.bm, name: w.name })
    await api("PUT", `/v1/channels/${w.phone}`, {
      wabaId: w.id,
      displayPhoneNumber: `+1 555 ${w.phone.slice(-7)}`,
      provider: "sandbox",
      credentials: { apiKey: `sandbox-${w.phone}` }
    })
    await api("PUT", `/v1/wabas/${w.id}/templates/spring_sale/en`, { category: "MARKETING" })
    await api("PUT", `/v1/wabas/${w.id}/templates/order_update/en`, { category: "UTILITY" })
    await sandbox("PUT", `/sandbox/numbers/${w.phone}`, { wabaId: w.id, ownerBusinessId: w.bm, onboarded: w.onboarding !== "none" })
  }

  console.log("2. onboarding by webhook: the sandbox sends MM_LITE_TERMS_SIGNED (WABA level for Acme main, business level for Globex); Initech is suspended")
  for (const w of WABAS) {
    if (w.onboarding === "waba") await sandbox("POST", "/sandbox/onboarding", { wabaId: w.id, ownerBusinessId: w.bm })
    if (w.onboarding === "business") await sandbox("POST", "/sandbox/onboarding", { ownerBusinessId: w.bm })
    if (w.onboarding === "suspended") {
      await postSignedWebhook({
        object: "whatsapp_business_account",
        entry: [{
          id: w.id,
          time: Math.floor(Date.now() / 1000),
          changes: [{ field: "account_update", value: { event: "DISABLED_UPDATE", ban_info: { waba_ban_state: "DISABLE", waba_ban_date: new Date().toISOString().slice(0, 10) } } }]
        }]
      })
    }
  }
  const expected = { waba: "onboarded", business: "onboarded", none: "not_onboarded", suspended: "suspended" }
  await waitFor("the onboarding webhooks to be applied", async () => {
    for (const w of WABAS) {
      const waba = await api("GET", `/v1/wabas/${w.id}`)
      if (waba.mmApi.status !== expected[/** @type {keyof typeof expected} */ (w.onboarding)]) return false
    }
    return true
  })
  const onboarding = await api("GET", "/v1/onboarding?limit=100")
  const ours = onboarding.items.filter((/** @type {{id: string}} */ w) => WABAS.some((x) => x.id === w.id))
  console.table(ours.map((/** @type {any} */ w) => ({ waba: w.id, businessManager: w.businessManagerId, "MM API": w.mmApi.status, source: w.mmApi.source })))

  // -------------------------------------------------------------------------------------------------
  // 3. The campaign

  const campaignId = `demo-${new Date().toISOString().replace(/[-:.TZ]/g, "").slice(0, 14)}`
  console.log(`3. campaign ${campaignId}: ${TOTAL} marketing messages over ${WABAS.length} channels, in batches of ${BATCH}`)
  // The last four digits of a sandbox recipient script its fate (packages/sandbox/README.md).
  const scripted = (/** @type {number} */ i) => {
    const r = i % 100
    if (r < 4) return "0001" // failed: 131049 per-user marketing limit
    if (r < 6) return "0002" // refused at once: 131009
    if (r < 16) return "0005" // read, then a link click
    if (r < 20) return "0003" // delivered, never read
    return String(1000 + (i % 8000)).padStart(4, "0") // sent → delivered → read
  }
  /** @type {Map<string, Array<unknown>>} */
  const perChannel = new Map(WABAS.map((w) => [w.phone, []]))
  for (let i = 0; i < TOTAL; i++) {
    const w = WABAS[i % WABAS.length]
    const utility = i % 25 === 0
    const to = `4915${String(10_000_000 + i).slice(-7)}${scripted(i)}`
    perChannel.get(w.phone)?.push({
      idempotencyKey: `${campaignId}-${i}`,
      messaging_product: "whatsapp",
      to,
      type: "template",
      template: { name: utility ? "order_update" : "spring_sale", language: { code: "en" } }
    })
  }
  const rejectedAtApi = new Map()
  const campaignStart = Date.now()
  for (const [phone, messages] of perChannel) {
    for (let start = 0; start < messages.length; start += BATCH) {
      // Utility templates go through /messages; everything else asks for the MM API.
      const slice = messages.slice(start, start + BATCH)
      const endpoints = /** @type {const} */ (["marketing_messages", "messages"])
      for (const endpoint of endpoints) {
        const items = slice.filter((m) => (/** @type {any} */ (m).template.name === "order_update") === (endpoint === "messages"))
        if (items.length === 0) continue
        const result = await api("POST", `/v1/channels/${phone}/message-batches`, { campaignId, endpoint, messages: items })
        for (const r of result.results) {
          if (r.error !== undefined) {
            const reason = r.error.details?.reasons?.join(",") ?? r.error.code
            rejectedAtApi.set(reason, (rejectedAtApi.get(reason) ?? 0) + 1)
          }
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------------
  // 4. Progress: dispatched (left the queue), then the webhooks

  const bar = (/** @type {number} */ done, /** @type {number} */ total, /** @type {string} */ label) => {
    const width = 40
    const filled = total === 0 ? width : Math.round((done / total) * width)
    const line = `  ${label.padEnd(12)} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total}`
    if (process.stdout.isTTY) process.stdout.write(`\r${line}`)
    return line
  }
  let stats = await api("GET", `/v1/campaigns/${campaignId}/stats`)
  let lastPrinted = 0
  await waitFor("the campaign to be dispatched", async () => {
    stats = await api("GET", `/v1/campaigns/${campaignId}/stats`)
    const line = bar(stats.funnel.accepted - stats.queued, stats.funnel.accepted, "dispatched")
    if (!process.stdout.isTTY && Date.now() - lastPrinted > 2000) {
      console.log(line)
      lastPrinted = Date.now()
    }
    return stats.queued === 0
  }, 10 * 60_000)
  if (process.stdout.isTTY) process.stdout.write("\n")
  await waitFor("the sandbox's webhooks to be delivered and applied", async () => {
    const s = await sandbox("GET", "/sandbox/stats")
    stats = await api("GET", `/v1/campaigns/${campaignId}/stats`)
    const line = bar(stats.funnel.read, stats.funnel.accepted, "read")
    if (!process.stdout.isTTY && Date.now() - lastPrinted > 2000) {
      console.log(line)
      lastPrinted = Date.now()
    }
    return s.webhooks.pending === 0 && (await inboxPending()) === 0
  }, 10 * 60_000)
  if (process.stdout.isTTY) process.stdout.write("\n")
  stats = await api("GET", `/v1/campaigns/${campaignId}/stats`)

  // -------------------------------------------------------------------------------------------------
  // 5. The report

  const pct = (/** @type {number} */ n) => (stats.funnel.accepted === 0 ? "" : `${((100 * n) / stats.funnel.accepted).toFixed(1)} %`)
  console.log(`\n4. campaign ${campaignId} — from GET /v1/campaigns/${campaignId}/stats\n`)
  console.log(`requests: ${TOTAL}; refused by the routing policy (422, nothing sent): ${
    [...rejectedAtApi].map(([k, v]) => `${v} ${k}`).join(", ") || "none"
  }`)
  console.table(Object.fromEntries(Object.entries(stats.funnel).map(([stage, n]) => [stage, { messages: n, "of accepted": pct(/** @type {number} */ (n)) }])))
  console.table({
    "decided by the gateway": { marketing_messages: stats.routed.marketing_messages, cloud_api: stats.routed.cloud_api, unknown: "" },
    "observed from pricing": {
      marketing_messages: stats.observedRoute.marketing_messages,
      cloud_api: stats.observedRoute.cloud_api,
      unknown: stats.observedRoute.unknown
    }
  })
  console.table({
    failed: stats.failed,
    expired: stats.expired,
    dispatch_unknown: stats.dispatchUnknown,
    "route mismatch": stats.routeMismatch,
    ...Object.fromEntries(Object.entries(stats.failuresByCode).map(([code, n]) => [`failed with ${code}`, n]))
  })
  let clicks = 0
  for (const w of WABAS) {
    let cursor = null
    do {
      const page = await api("GET", `/v1/channels/${w.phone}/clicks?limit=200${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`)
      clicks += page.items.filter((/** @type {{kind: string, occurredAt: string}} */ c) =>
        c.kind === "click" && Date.parse(c.occurredAt) >= campaignStart - 1000).length
      cursor = page.nextCursor
    } while (cursor !== null)
  }
  // Clicks carry no wamid: the funnel's "clicked" counts clicks a landing page attributed to a message
  // (POST /v1/clicks/{clickId}/attribution); what the channels received is listed per channel.
  console.log(`link clicks received on the demo's channels during this campaign: ${clicks} (GET /v1/channels/{id}/clicks)`)
}

try {
  await main()
  await cleanup()
} catch (error) {
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`)
  await cleanup()
  process.exit(1)
}
