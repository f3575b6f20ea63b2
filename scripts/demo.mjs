// @ts-check
// `pnpm demo`: a scripted marketing campaign against the sandbox, through the public API only.
// Registers four Business Managers and five WABAs (onboarded by a WABA-level webhook, at business
// level, by an operator while Meta is not ready yet, not at all, and one suspended), sends a campaign
// of a few thousand messages in batches with a progress bar, waits until every webhook has been
// applied, and prints the funnel, the route split and the failures. Every figure printed comes from
// the api's answers (the batch results, GET /v1/campaigns/{id}/stats, /v1/onboarding,
// /v1/channels/{id}/clicks); the sandbox is only told who is onboarded and asked whether it is idle.
//
//   pnpm demo                      # against a running `pnpm start`, or a stack it starts itself
//   pnpm demo -- --messages 5000
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { spawnSync } from "node:child_process"
import { freePort, ROOT, stackSettings, startStack } from "./stack.mjs"

const args = process.argv.slice(2).filter((a) => a !== "--")
const argValue = (/** @type {string} */ name, /** @type {string} */ fallback) => {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback
}
const TOTAL = Number(argValue("--messages", "3000"))
if (!Number.isInteger(TOTAL) || TOTAL < 10 || TOTAL > 99_999) {
  console.error("--messages must be an integer between 10 and 99999")
  process.exit(2)
}
const BATCH = 500

/**
 * The demo's tenants, in an id range of their own so they never collide with the walk-through's.
 * `onboarding` says how the gateway learns the WABA's MM API status; `provider` whether Meta (the
 * sandbox) lets the number use the MM API.
 */
const TENANTS = [
  { bm: "910000000000001", name: "Acme", wabas: [
    { id: "920000000000011", name: "Acme main", phone: "930000000000111", onboarding: "waba_webhook", provider: true },
    { id: "920000000000012", name: "Acme regional", phone: "930000000000122", onboarding: "none", provider: false }
  ] },
  { bm: "910000000000002", name: "Globex", wabas: [
    { id: "920000000000021", name: "Globex", phone: "930000000000211", onboarding: "business_webhook", provider: true }
  ] },
  { bm: "910000000000003", name: "Umbrella", wabas: [
    { id: "920000000000031", name: "Umbrella", phone: "930000000000311", onboarding: "manual", provider: false }
  ] },
  { bm: "910000000000004", name: "Initech", wabas: [
    { id: "920000000000041", name: "Initech", phone: "930000000000411", onboarding: "suspended", provider: true }
  ] }
]
const WABAS = TENANTS.flatMap((t) => t.wabas.map((w) => ({ ...w, bm: t.bm, tenant: t.name })))
const HOW = {
  waba_webhook: "MM_LITE_TERMS_SIGNED for the WABA",
  business_webhook: "MM_LITE_TERMS_SIGNED for the Business Manager",
  manual: "confirmed by an operator; Meta not ready yet",
  none: "not onboarded",
  suspended: "disabled by Meta (DISABLED_UPDATE)"
}

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

/** Builds the packages named (and what they depend on); the demo runs their `dist/`. */
const build = (/** @type {ReadonlyArray<string>} */ packages) => {
  const built = spawnSync("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only",
    ...packages.map((name) => `--filter=${name}`)], { cwd: ROOT, stdio: "inherit" })
  if (built.status !== 0) process.exit(built.status ?? 1)
}
// The demo signs webhooks itself, with the helper the sandbox uses.
const SIGNING = "@mm-gateway/webhook-adapter"

if (await answers(`${settings.apiUrl}/readyz`)) {
  if (!(await answers(`${settings.sandboxUrl}/healthz`))) {
    console.error(`the api answers at ${settings.apiUrl} but no sandbox at ${settings.sandboxUrl}; start the whole stack with pnpm start`)
    process.exit(1)
  }
  console.log(`using the running stack: api ${settings.apiUrl}, sandbox ${settings.sandboxUrl}`)
  build([SIGNING])
} else {
  console.log("no stack running: building and starting api, worker and sandbox on a temporary database…")
  build(["@mm-gateway/api", "@mm-gateway/worker", "@mm-gateway/sandbox", SIGNING])
  ownDir = mkdtempSync(join(tmpdir(), "mmgw-demo-"))
  // A stack of its own: another one's addresses must not leak in from the environment.
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    ...process.env,
    MMGW_API_PORT: String(await freePort()),
    MMGW_SANDBOX_PORT: String(await freePort()),
    MMGW_DATABASE: join(ownDir, "demo.sqlite")
  }
  delete env.MMGW_SANDBOX_WEBHOOK_URL
  delete env.MMGW_SANDBOX_URL
  ownStack = await startStack({
    env,
    // Only errors from the processes: the demo's own output is the point here.
    onLine: (name, line) => {
      if (/ ERROR | FATAL /.test(line)) console.error(`${name}: ${line}`)
    }
  })
  settings = ownStack.settings
}
const cleanup = async () => {
  if (ownStack !== undefined) await ownStack.stop()
  if (ownDir !== "") rmSync(ownDir, { recursive: true, force: true })
}
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)))
// Imported once built (above), from its dist/ like every package a script runs.
const { signMetaWebhook } = await import("@mm-gateway/webhook-adapter")

// ---------------------------------------------------------------------------------------------------
// HTTP helpers

const auth = { authorization: `Bearer ${settings.adminToken}`, "content-type": "application/json" }

/** @param {string} method @param {string} url @param {unknown} [body] */
const call = async (method, url, body) => {
  const response = await fetch(url, {
    method,
    headers: auth,
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status} ${text}`)
  return text === "" ? null : JSON.parse(text)
}
const api = (/** @type {string} */ method, /** @type {string} */ path, /** @type {unknown} */ body = undefined) =>
  call(method, `${settings.apiUrl}${path}`, body)
const sandbox = (/** @type {string} */ method, /** @type {string} */ path, /** @type {unknown} */ body = undefined) =>
  call(method, `${settings.sandboxUrl}${path}`, body)

/** Posts a webhook to the api signed like Meta's (the demo plays Meta for the suspension). */
const postSignedWebhook = async (/** @type {unknown} */ payload) => {
  const body = JSON.stringify(payload)
  const response = await fetch(`${settings.apiUrl}/webhooks/meta`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hub-signature-256": signMetaWebhook(body, settings.appSecret) },
    body
  })
  if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`)
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))

const waitFor = async (/** @type {string} */ what, /** @type {() => Promise<boolean>} */ done, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(250)
  }
}

const inboxPending = async () => {
  const text = await (await fetch(`${settings.apiUrl}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith("mmgw_webhook_inbox_pending "))
  return line === undefined ? 0 : Number(line.split(" ")[1])
}

/** Every page of a list endpoint. @param {string} path */
const allItems = async (path) => {
  /** @type {Array<any>} */
  const items = []
  /** @type {string | null} */
  let cursor = null
  do {
    const page = await api("GET", `${path}${path.includes("?") ? "&" : "?"}limit=500${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`)
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor !== null)
  return items
}

/**
 * A plain aligned table. @param {ReadonlyArray<string>} head @param {ReadonlyArray<ReadonlyArray<string | number>>} rows
 * @param {ReadonlyArray<"l" | "r">} [align] per column; numbers align right by default
 */
const table = (head, rows, align = []) => {
  const cells = [head, ...rows.map((r) => r.map(String))]
  const widths = head.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)))
  const side = (/** @type {number} */ c) => align[c] ?? (c === 0 ? "l" : "r")
  const line = (/** @type {ReadonlyArray<string>} */ r) =>
    "  " + r.map((cell, c) => (side(c) === "l" ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join("   ")
  return [line(cells[0] ?? []), "  " + widths.map((w) => "─".repeat(w)).join("───"), ...cells.slice(1).map(line)].join("\n")
}

const tty = process.stdout.isTTY === true
let lastPrinted = 0
/** A progress line: redrawn in place on a terminal, every few seconds otherwise. @param {string} text @param {boolean} [final] */
const progress = (text, final = false) => {
  if (tty) process.stdout.write(`\r\u001b[2K${text}${final ? "\n" : ""}`)
  else if (final || Date.now() - lastPrinted > 3000) {
    console.log(text)
    lastPrinted = Date.now()
  }
}
const bar = (/** @type {number} */ done, /** @type {number} */ total) => {
  const width = 30
  const filled = total === 0 ? width : Math.min(width, Math.round((done / total) * width))
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total}`
}

// ---------------------------------------------------------------------------------------------------

const main = async () => {
  console.log(`\n1. Registering ${TENANTS.length} Business Managers, ${WABAS.length} WABAs, ${WABAS.length} sandbox channels and their templates`)
  for (const t of TENANTS) await api("PUT", `/v1/business-managers/${t.bm}`, { name: t.name })
  await sandbox("PUT", "/sandbox/templates/order_update/en", { category: "UTILITY" })
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
    // Meta's side (the sandbox): whether this number may use the MM API.
    await sandbox("PUT", `/sandbox/numbers/${w.phone}`, { wabaId: w.id, ownerBusinessId: w.bm, onboarded: w.provider })
  }

  console.log("2. Onboarding: the sandbox sends MM_LITE_TERMS_SIGNED (WABA level for Acme main, business level for Globex),")
  console.log("   an operator confirms Umbrella, Meta disables Initech")
  for (const w of WABAS) {
    if (w.onboarding === "waba_webhook") await sandbox("POST", "/sandbox/onboarding", { wabaId: w.id, ownerBusinessId: w.bm })
    if (w.onboarding === "business_webhook") await sandbox("POST", "/sandbox/onboarding", { ownerBusinessId: w.bm })
    if (w.onboarding === "manual") {
      await api("POST", `/v1/wabas/${w.id}/mm-api-status`, { status: "onboarded", reason: "terms signed, confirmed by phone" })
    }
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
  /** @type {Record<string, string>} */
  const expected = { waba_webhook: "onboarded", business_webhook: "onboarded", manual: "onboarded", none: "not_onboarded", suspended: "suspended" }
  /** @type {Array<any>} */
  let ours = []
  await waitFor("the onboarding webhooks to be applied", async () => {
    ours = (await allItems("/v1/onboarding")).filter((w) => WABAS.some((x) => x.id === w.id))
    return WABAS.every((w) => ours.find((o) => o.id === w.id)?.mmApi.status === expected[w.onboarding])
  })
  console.log(`\n${table(
    ["WABA", "Business Manager", "MM API status", "source", "how"],
    WABAS.map((w) => {
      const o = ours.find((x) => x.id === w.id)
      return [`${w.id} ${w.name}`, `${w.bm} ${w.tenant}`, o.mmApi.status, o.mmApi.source ?? "—", HOW[/** @type {keyof typeof HOW} */ (w.onboarding)]]
    }),
    ["l", "l", "l", "l", "l"]
  )}\n   (GET /v1/onboarding)\n`)

  // -------------------------------------------------------------------------------------------------
  // 3. The campaign

  const campaignId = `demo-${new Date().toISOString().replace(/[-:.TZ]/g, "").slice(0, 14)}`
  // Recipients of this run only (the 131049 cooldown of an earlier run must not refuse this one's).
  const run = String(Date.now() % 10_000).padStart(4, "0")
  // The last four digits of a sandbox recipient script its fate (packages/sandbox/README.md); `j`
  // counts a channel's messages, so every channel gets the same mix.
  const scripted = (/** @type {number} */ j) => {
    const r = j % 100
    if (r < 3) return "0001" // failed webhook: 131049 per-user marketing limit
    if (r < 5) return "0002" // refused at once: 131009
    if (r < 15) return "0005" // read, then a link click
    if (r < 20) return "0003" // delivered, never read
    return String(1000 + (j % 8000)).padStart(4, "0") // sent → delivered → read
  }
  // Of every 20 messages: 6 each to the two onboarded WABAs, 3 each to the fallback and mismatch
  // ones, 2 to the suspended one.
  const SHARE = [0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 1, 1, 1, 3, 3, 3, 4, 4]
  /** @type {Map<string, Array<{ idempotencyKey: string, messaging_product: string, to: string, type: string, template: { name: string, language: { code: string } } }>>} */
  const perChannel = new Map(WABAS.map((w) => [w.phone, []]))
  for (let i = 0; i < TOTAL; i++) {
    const w = WABAS[SHARE[i % SHARE.length] ?? 0]
    const messages = w === undefined ? undefined : perChannel.get(w.phone)
    if (messages === undefined) continue
    const j = messages.length
    const utility = j % 25 === 0
    messages.push({
      idempotencyKey: `${campaignId}-${i}`,
      messaging_product: "whatsapp",
      to: `49${run}${String(i).padStart(5, "0")}${scripted(j)}`,
      type: "template",
      template: { name: utility ? "order_update" : "spring_sale", language: { code: "en" } }
    })
  }
  console.log(`3. Campaign ${campaignId}: ${TOTAL} messages over ${WABAS.length} channels (1 in 25 a utility template through /messages,`)
  console.log(`   the others through /marketing_messages), in batches of up to ${BATCH}`)
  // Clicks are timed by the provider to the second: those of this campaign come at or after this.
  const campaignStart = Math.floor(Date.now() / 1000) * 1000
  /** @type {Map<string, number>} */
  const refused = new Map()
  let requested = 0
  for (const [phone, messages] of perChannel) {
    for (let start = 0; start < messages.length; start += BATCH) {
      const slice = messages.slice(start, start + BATCH)
      for (const endpoint of /** @type {const} */ (["marketing_messages", "messages"])) {
        const items = slice.filter((m) => (m.template.name === "order_update") === (endpoint === "messages"))
        if (items.length === 0) continue
        const result = await api("POST", `/v1/channels/${phone}/message-batches`, { campaignId, endpoint, messages: items })
        for (const r of result.results) {
          if (r.error !== undefined) {
            const reason = r.error.details?.reasons?.join(", ") ?? r.error.code
            refused.set(reason, (refused.get(reason) ?? 0) + 1)
          }
        }
        requested += items.length
        progress(`   sending      ${bar(requested, TOTAL)}`)
      }
    }
  }
  progress(`   sending      ${bar(requested, TOTAL)}`, true)

  // -------------------------------------------------------------------------------------------------
  // 4. Progress: handed to the provider (the stats' `queued` falls to 0), then the webhooks

  /** @type {any} */
  let stats
  const readStats = async () => (stats = await api("GET", `/v1/campaigns/${campaignId}/stats`))
  await waitFor("the campaign to be dispatched", async () => {
    await readStats()
    const done = stats.queued === 0
    progress(`   dispatching  ${bar(stats.funnel.accepted - stats.queued, stats.funnel.accepted)}`, done)
    return done
  }, 15 * 60_000)
  await waitFor("the sandbox's webhooks to be delivered and applied", async () => {
    const idle = (await sandbox("GET", "/sandbox/stats")).webhooks.pending === 0 && (await inboxPending()) === 0
    await readStats()
    const f = stats.funnel
    progress(`   webhooks     sent ${f.sent}  delivered ${f.delivered}  read ${f.read}  failed ${stats.failed}${idle ? "  — all applied" : ""}`, idle)
    return idle
  }, 15 * 60_000)
  await readStats()

  // -------------------------------------------------------------------------------------------------
  // 5. The report

  const accepted = stats.funnel.accepted
  const pct = (/** @type {number} */ n) => (accepted === 0 ? "" : `${((100 * n) / accepted).toFixed(1)} %`)
  console.log(`\n4. Campaign ${campaignId}  (GET /v1/campaigns/${campaignId}/stats)\n`)
  const refusedTotal = [...refused.values()].reduce((a, b) => a + b, 0)
  console.log(`   ${TOTAL} requested: ${accepted} accepted, ${refusedTotal} refused by the routing policy (422, nothing sent${
    refusedTotal === 0 ? "" : `: ${[...refused].map(([k, v]) => `${v} ${k}`).join(", ")}`
  })\n`)
  console.log(table(
    ["funnel and outcomes", "messages", "of accepted"],
    [
      ["accepted", accepted, pct(accepted)],
      ["submitted (provider took it)", stats.funnel.submitted, pct(stats.funnel.submitted)],
      ["sent", stats.funnel.sent, pct(stats.funnel.sent)],
      ["delivered", stats.funnel.delivered, pct(stats.funnel.delivered)],
      ["read", stats.funnel.read, pct(stats.funnel.read)],
      ["clicked (attributed)", stats.funnel.clicked, pct(stats.funnel.clicked)],
      ["failed", stats.failed, pct(stats.failed)],
      ["expired", stats.expired, pct(stats.expired)],
      ["dispatch unknown", stats.dispatchUnknown, pct(stats.dispatchUnknown)]
    ]
  ))
  console.log()
  console.log(table(
    ["route", "decided by the gateway", "observed (pricing.category)"],
    [
      ["MM API (/marketing_messages)", stats.routed.marketing_messages, stats.observedRoute.marketing_messages],
      ["Cloud API (/messages)", stats.routed.cloud_api, stats.observedRoute.cloud_api],
      ["not observed (no priced status)", "", stats.observedRoute.unknown]
    ]
  ))
  console.log(`   route mismatch (decided MM API, Meta used the Cloud API — Meta's fallback): ${stats.routeMismatch}\n`)
  /** @type {Record<string, string>} */
  const meaning = { 131049: "per-user marketing limit (24 h cooldown started)", 131009: "parameter value not valid", 131026: "undeliverable", 131050: "user stopped marketing messages" }
  const codes = Object.entries(stats.failuresByCode)
  if (codes.length > 0) {
    console.log(table(["failed with", "messages", "meaning"], codes.map(([code, n]) => [code, /** @type {number} */ (n), meaning[code] ?? ""]), ["l", "r", "l"]))
    console.log()
  }
  /** @type {Array<[string, number]>} */
  const clicks = []
  for (const w of WABAS) {
    const listed = await allItems(`/v1/channels/${w.phone}/clicks`)
    clicks.push([`${w.phone} ${w.name}`, listed.filter((c) => c.kind === "link_click" && Date.parse(c.occurredAt) >= campaignStart).length])
  }
  console.log(table(["link clicks received since the campaign began", "clicks"], clicks))
  // Clicks carry no wamid: the funnel's "clicked" counts the clicks a landing page tied to a message
  // (POST /v1/clicks/{clickId}/attribution). The demo has no landing page, so it attributes none.
  console.log("   (GET /v1/channels/{id}/clicks; a click counts in the funnel once your landing page reports its")
  console.log("   click_id: POST /v1/clicks/{clickId}/attribution {messageId})")
}

try {
  await main()
  await cleanup()
} catch (error) {
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`)
  await cleanup()
  process.exit(1)
}
