import { afterAll, assert, beforeAll, describe, it } from "vitest"
import {
  allItems,
  bootStack,
  eventually,
  expectStatus,
  inboxPending,
  postSignedWebhook,
  quiet,
  type TestStack
} from "./support.js"

/**
 * Two campaigns through the public API only, against the three real processes (api, worker, sandbox
 * from their builds) on one temp database:
 *
 * 1. a small campaign over four channels of four WABAs — onboarded by a WABA-level webhook, at
 *    business level, by an operator while the provider says otherwise, and not at all — with the
 *    sandbox's scripted numbers; every message, the campaign's stats and the clicks are checked against
 *    what the scripts promise;
 * 2. a second campaign during which the worker is killed with SIGKILL and a new worker process takes
 *    over its channels: every message still reaches its final state, the sandbox accepted none twice,
 *    and every webhook the api answered 200 was applied.
 */

// Short lease and unknown-outcome window, so the takeover and the settling of cut-off attempts happen
// within the test; a slow provider answer, so the kill finds requests in flight.
// Meta's Graph API and 360dialog are the sandbox too (it speaks both wire styles), so channels with
// `provider: "meta"` and `"360dialog"` go through the clients production uses, configured as the
// README says for real credentials.
let stack: TestStack & { readonly dir: string }
beforeAll(async () => {
  stack = await bootStack((sandboxUrl) => ({
    MMGW_WORKER_LEASE_TTL: "3s",
    MMGW_DISPATCH_UNKNOWN_AFTER: "4s",
    MMGW_SANDBOX_RESPONSE_LATENCY_MS: "100-300",
    MMGW_GRAPH_BASE_URL: sandboxUrl,
    MMGW_360DIALOG_BASE_URL: sandboxUrl
  }))
})
afterAll(async () => {
  await stack?.stop()
})

/** Shows the processes' logs when an assertion about them fails. */
const withLogs = (message: string) => `${message}\n--- stack logs (last 80 lines):\n${stack.logs.slice(-80).join("\n")}`

type Onboarding = "waba_webhook" | "business_webhook" | "manual_but_provider_not" | "none" | "suspended"

const CHANNELS: ReadonlyArray<{ bm: string; waba: string; phone: string; onboarding: Onboarding }> = [
  { bm: "910000000000701", waba: "920000000007011", phone: "930000000070111", onboarding: "waba_webhook" },
  { bm: "910000000000701", waba: "920000000007012", phone: "930000000070122", onboarding: "none" },
  { bm: "910000000000702", waba: "920000000007021", phone: "930000000070211", onboarding: "business_webhook" },
  { bm: "910000000000703", waba: "920000000007031", phone: "930000000070311", onboarding: "manual_but_provider_not" },
  { bm: "910000000000704", waba: "920000000007041", phone: "930000000070411", onboarding: "suspended" }
]
const channel = (onboarding: Onboarding) => CHANNELS.find((c) => c.onboarding === onboarding)!

/** What the gateway decides for a MARKETING template on each channel, and what the provider really uses. */
const DECIDED: Record<Onboarding, "marketing_messages" | "cloud_api" | null> = {
  waba_webhook: "marketing_messages",
  business_webhook: "marketing_messages",
  manual_but_provider_not: "marketing_messages",
  none: "cloud_api",
  suspended: null
}
const OBSERVED: Record<Onboarding, "marketing_messages" | "cloud_api" | null> = {
  waba_webhook: "marketing_messages",
  business_webhook: "marketing_messages",
  // The sandbox treats the number as not onboarded: Meta's fallback carries it on the Cloud API.
  manual_but_provider_not: "cloud_api",
  none: "cloud_api",
  suspended: null
}

/** What each scripted ending of `to` promises (packages/sandbox/README.md). */
const SCRIPTS = {
  normal: { status: "read", priced: true, accepted: 1, stage: "read" },
  "0000": { status: "submitted", priced: false, accepted: 1, stage: "submitted" },
  "0001": { status: "failed", priced: false, accepted: 1, stage: "submitted", code: 131049 },
  "0002": { status: "failed", priced: false, accepted: 0, stage: "accepted", code: 131009 },
  "0003": { status: "delivered", priced: true, accepted: 1, stage: "delivered" },
  "0004": { status: "read", priced: true, accepted: 1, stage: "read" },
  "0005": { status: "read", priced: true, accepted: 1, stage: "read", click: true },
  "0429": { status: "read", priced: true, accepted: 1, stage: "read" },
  "0500": { status: "read", priced: true, accepted: 1, stage: "read" },
  "0999": { status: "read", priced: true, accepted: 1, stage: "read" }
} as const
type Script = keyof typeof SCRIPTS

interface Planned {
  readonly onboarding: Onboarding
  readonly phone: string
  readonly to: string
  readonly script: Script
  readonly utility: boolean
  id?: string
}

const STAGES = ["accepted", "submitted", "sent", "delivered", "read"] as const

/** The funnel, routes and failures the plan promises, computed from the scripts alone. */
const expectedStats = (plan: ReadonlyArray<Planned>, clicked: number) => {
  // The sandbox sends no landing page views: none is counted.
  const funnel = { accepted: 0, submitted: 0, sent: 0, delivered: 0, read: 0, clicked, landingPageViews: 0 }
  const routed = { marketing_messages: 0, cloud_api: 0 }
  const observedRoute = { marketing_messages: 0, cloud_api: 0, unknown: 0 }
  const failuresByCode: Record<string, number> = {}
  let failed = 0
  let routeMismatch = 0
  for (const p of plan) {
    const s: (typeof SCRIPTS)[Script] = SCRIPTS[p.script]
    const stage = STAGES.indexOf(s.stage)
    for (const [i, name] of STAGES.entries()) if (i <= stage) funnel[name]++
    const decided = p.utility ? "cloud_api" : DECIDED[p.onboarding]!
    routed[decided]++
    const observed = !s.priced ? null : p.utility ? "cloud_api" : OBSERVED[p.onboarding]!
    observedRoute[observed ?? "unknown"]++
    if (observed !== null && observed !== decided) routeMismatch++
    if ("code" in s) {
      failed++
      failuresByCode[String(s.code)] = (failuresByCode[String(s.code)] ?? 0) + 1
    }
  }
  return { funnel, routed, observedRoute, failed, expired: 0, dispatchUnknown: 0, routeMismatch, failuresByCode, queued: 0 }
}

const template = (utility: boolean) => ({ name: utility ? "order_update" : "spring_sale", language: { code: "en" } })

/** Sends the plan as batches per channel and endpoint; returns the items the routing policy refused. */
const sendCampaign = async (campaignId: string, plan: Array<Planned>): Promise<Array<{ p: Planned; reasons: Array<string> }>> => {
  const refused: Array<{ p: Planned; reasons: Array<string> }> = []
  for (const c of CHANNELS) {
    for (const utility of [false, true]) {
      const items = plan.filter((p) => p.phone === c.phone && p.utility === utility)
      if (items.length === 0) continue
      const answer = expectStatus(
        await stack.api("POST", `/v1/channels/${c.phone}/message-batches`, {
          campaignId,
          // Utility templates go through /messages; the marketing ones ask for the MM API.
          endpoint: utility ? "messages" : "marketing_messages",
          messages: items.map((p) => ({
            idempotencyKey: `${campaignId}-${p.to}`,
            messaging_product: "whatsapp",
            to: p.to,
            type: "template",
            template: template(utility)
          }))
        }),
        202,
        `batch on ${c.phone}`
      )
      for (const result of answer.results) {
        const p = items[result.index]!
        if (result.error === undefined) p.id = result.id
        else refused.push({ p, reasons: result.error.details?.reasons ?? [result.error.code] })
      }
    }
  }
  return refused
}

const messageOf = async (id: string) => expectStatus(await stack.api("GET", `/v1/messages/${id}`), 200, `message ${id}`)
const statsOf = async (campaignId: string) =>
  expectStatus(await stack.api("GET", `/v1/campaigns/${campaignId}/stats`), 200, `stats of ${campaignId}`)
const sandboxStats = async () => expectStatus(await stack.sandbox("GET", "/sandbox/stats"), 200, "sandbox stats")

/** The campaign has gone out (nothing queued) and every webhook the sandbox sends for it has been applied. */
const settled = (campaignId: string) => async () => (await statsOf(campaignId)).queued === 0 && (await quiet(stack))

const checkEveryMessage = async (plan: ReadonlyArray<Planned>) => {
  const sandbox = await sandboxStats()
  for (const p of plan) {
    const s: (typeof SCRIPTS)[Script] = SCRIPTS[p.script]
    const m = await messageOf(p.id!)
    const what = `${p.to} on ${p.onboarding}${p.utility ? " (utility)" : ""}`
    assert.strictEqual(m.status, s.status, what)
    assert.strictEqual(m.route.decided, p.utility ? "cloud_api" : DECIDED[p.onboarding], what)
    assert.strictEqual(m.route.observed, !s.priced ? null : p.utility ? "cloud_api" : OBSERVED[p.onboarding], what)
    if ("code" in s) assert.deepStrictEqual(m.errors.map((e: { code: number }) => e.code), [s.code], what)
    if (s.accepted === 1) assert.match(m.wamid, /^wamid\./, what)
    if (s.priced) assert.isNotNull(m.timestamps.sentAt, what)
    if (s.status === "read") assert.isNotNull(m.timestamps.readAt, what)
    // The gateway's id is the biz_opaque_callback_data of every request: the sandbox counts by it.
    assert.strictEqual(sandbox.byCallbackData[p.id!]?.accepted ?? 0, s.accepted, `${what}: accepted by the sandbox`)
  }
}

const waitForWaba = (id: string, status: string) =>
  eventually(`WABA ${id} ${status}`, async () =>
    expectStatus(await stack.api("GET", `/v1/wabas/${id}`), 200, `WABA ${id}`).mmApi.status === status)

describe("onboarding four ways, then a campaign", () => {
  const campaignId = "e2e-spring"
  const plan: Array<Planned> = []
  let refused: Array<{ p: Planned; reasons: Array<string> }> = []

  beforeAll(async () => {
    for (const c of CHANNELS) {
      expectStatus(await stack.api("PUT", `/v1/business-managers/${c.bm}`, { name: `BM ${c.bm}` }), 200, "BM")
      expectStatus(await stack.api("PUT", `/v1/wabas/${c.waba}`, { businessManagerId: c.bm }), 200, "WABA")
      expectStatus(await stack.api("PUT", `/v1/channels/${c.phone}`, {
        wabaId: c.waba,
        displayPhoneNumber: `+1 555 ${c.phone.slice(-7)}`,
        provider: "sandbox",
        credentials: { apiKey: `sandbox-${c.phone}` }
      }), 200, "channel")
      for (const [name, category] of [["spring_sale", "MARKETING"], ["order_update", "UTILITY"]] as const) {
        expectStatus(await stack.api("PUT", `/v1/wabas/${c.waba}/templates/${name}/en`, { category }), 200, "template")
      }
      // The provider's side: which numbers Meta lets through the MM API.
      const providerOnboarded = c.onboarding === "waba_webhook" || c.onboarding === "business_webhook"
      expectStatus(await stack.sandbox("PUT", `/sandbox/numbers/${c.phone}`, {
        wabaId: c.waba,
        ownerBusinessId: c.bm,
        onboarded: providerOnboarded
      }), 200, "sandbox number")
    }
    expectStatus(await stack.sandbox("PUT", "/sandbox/templates/order_update/en", { category: "UTILITY" }), 200, "sandbox template")

    // The sandbox plays Meta: MM_LITE_TERMS_SIGNED for one WABA, and for a whole Business Manager.
    const byWaba = channel("waba_webhook")
    expectStatus(await stack.sandbox("POST", "/sandbox/onboarding", { wabaId: byWaba.waba, ownerBusinessId: byWaba.bm }), 200, "onboarding")
    expectStatus(await stack.sandbox("POST", "/sandbox/onboarding", { ownerBusinessId: channel("business_webhook").bm }), 200, "onboarding")
    // An operator confirms a WABA the provider has not onboarded yet (Meta will fall back).
    expectStatus(await stack.api("POST", `/v1/wabas/${channel("manual_but_provider_not").waba}/mm-api-status`, {
      status: "onboarded",
      reason: "confirmed by phone"
    }), 200, "manual status")
    // Meta disables a WABA.
    const suspended = channel("suspended")
    expectStatus(await postSignedWebhook(stack, {
      object: "whatsapp_business_account",
      entry: [{
        id: suspended.waba,
        time: Math.floor(Date.now() / 1000),
        changes: [{ field: "account_update", value: { event: "DISABLED_UPDATE", ban_info: { waba_ban_state: "DISABLE", waba_ban_date: "2026-11-29" } } }]
      }]
    }), 200, "suspension webhook")
    await waitForWaba(byWaba.waba, "onboarded")
    await waitForWaba(channel("business_webhook").waba, "onboarded")
    await waitForWaba(suspended.waba, "suspended")

    // 4 channels × 30 marketing messages over every scripted ending, a few utility ones, and 6 to the suspended WABA.
    const endings: Array<Script> = ["0000", "0001", "0002", "0003", "0004", "0005", "0005", ...Array<Script>(23).fill("normal")]
    for (const [ci, c] of CHANNELS.entries()) {
      const count = c.onboarding === "suspended" ? 6 : endings.length
      for (let i = 0; i < count; i++) {
        const script = endings[i]!
        const ending = script === "normal" ? String(1000 + i) : script
        plan.push({ onboarding: c.onboarding, phone: c.phone, to: `4917${ci}${String(i).padStart(4, "0")}${ending}`, script, utility: false })
      }
    }
    for (let i = 0; i < 8; i++) {
      const c = CHANNELS[i % 2]!
      plan.push({ onboarding: c.onboarding, phone: c.phone, to: `4916${String(i).padStart(5, "0")}${2000 + i}`, script: "normal", utility: true })
    }
    refused = await sendCampaign(campaignId, plan)
    await eventually("campaign 1 dispatched and every webhook applied", settled(campaignId))
  })

  it("the WABAs show how they were onboarded", async () => {
    const sources = Object.fromEntries(
      (await allItems(stack, "/v1/onboarding")).filter((w) => CHANNELS.some((c) => c.waba === w.id)).map((w) => [w.id, [w.mmApi.status, w.mmApi.source]])
    )
    assert.deepStrictEqual(sources, {
      [channel("waba_webhook").waba]: ["onboarded", "waba_webhook"],
      [channel("none").waba]: ["not_onboarded", null],
      [channel("business_webhook").waba]: ["onboarded", "business_webhook"],
      [channel("manual_but_provider_not").waba]: ["onboarded", "manual"],
      [channel("suspended").waba]: ["suspended", "waba_webhook"]
    })
  })

  it("the suspended WABA's messages are refused and nothing of them is recorded", () => {
    assert.deepStrictEqual(refused.map((r) => r.p.onboarding), Array(6).fill("suspended"))
    for (const r of refused) assert.deepStrictEqual(r.reasons, ["waba_suspended"])
  })

  it("every message ends as its script says, on the route decided and observed, accepted by the provider at most once", async () => {
    await checkEveryMessage(plan.filter((p) => p.id !== undefined))
  })

  it("each 0005 message that went through the MM API has its link click listed on its channel; attributed, they count in the funnel", async () => {
    let attributed = 0
    for (const c of CHANNELS.filter((c) => c.onboarding !== "suspended")) {
      const clicks = (await allItems(stack, `/v1/channels/${c.phone}/clicks`)).filter((k) => k.kind === "link_click")
      // Link clicks are tracked on the MM API only: a 0005 message Meta carried on the Cloud API gets none.
      const clickers = plan.filter((p) => p.phone === c.phone && p.script === "0005" && !p.utility && OBSERVED[p.onboarding] === "marketing_messages")
      assert.strictEqual(clicks.length, clickers.length, `clicks on ${c.phone}`)
      for (const click of clicks) {
        assert.strictEqual(click.actionType, "marketing_messages_link_click")
        assert.isNull(click.messageId)
      }
      // Clicks carry no wamid; the landing page that received a click_id reports it (here: in order).
      for (const [i, click] of clicks.entries()) {
        const m = expectStatus(
          await stack.api("POST", `/v1/clicks/${encodeURIComponent(click.clickId)}/attribution`, { messageId: clickers[i]!.id }),
          200,
          "attribution"
        )
        assert.include(m.clicks, click.clickId)
        attributed++
      }
    }
    assert.isAbove(attributed, 0)
    const sent = plan.filter((p) => p.id !== undefined)
    assert.deepStrictEqual(await statsOf(campaignId), { campaignId, ...expectedStats(sent, attributed) })
  })
})

describe("a second campaign: the worker is killed with SIGKILL mid-dispatch and a new one takes over", () => {
  const campaignId = "e2e-crash"
  const plan: Array<Planned> = []
  const resolved: Array<string> = []
  let acceptedAtKill = 0
  let killedWith: NodeJS.Signals | null = null

  beforeAll(async () => {
    // Every twentieth a scripted failure, click, 500 or dropped connection; one 0429 per channel (each
    // 130429 pauses the whole channel for a second, as Meta asks).
    const SCATTERED: Record<number, Script> = { 0: "0001", 5: "0005", 10: "0500", 15: "0999" }
    const onboardings: Array<Onboarding> = ["waba_webhook", "none", "business_webhook"]
    for (const [ci, onboarding] of onboardings.entries()) {
      const c = channel(onboarding)
      for (let i = 0; i < 200; i++) {
        const script: Script = i === 101 ? "0429" : SCATTERED[i % 20] ?? "normal"
        const ending = script === "normal" ? String(3000 + (i % 5000)) : script
        plan.push({ onboarding, phone: c.phone, to: `4915${ci}${String(i).padStart(4, "0")}${ending}`, script, utility: false })
      }
    }
    const before = (await sandboxStats()).accepted.total
    const killed = stack.process("worker")
    assert.deepStrictEqual(await sendCampaign(campaignId, plan), [])

    // Kill when a quarter of the campaign is with the provider and the rest is still queued.
    await eventually("a quarter of campaign 2 accepted by the sandbox", async () => (await sandboxStats()).accepted.total - before >= plan.length / 4)
    killed.child.kill("SIGKILL")
    killedWith = (await killed.exited).signal
    acceptedAtKill = (await sandboxStats()).accepted.total - before

    stack.restart("worker")
    await eventually("campaign 2 dispatched by the new worker and every webhook applied", settled(campaignId))
    // An attempt cut off in flight that no webhook ever named is dispatch_unknown: an operator decides.
    // Here the operator asks the provider (the sandbox's count) and resends only what never arrived.
    const sandbox = await sandboxStats()
    for (const p of plan) {
      const m = await messageOf(p.id!)
      if (m.status !== "dispatch_unknown") continue
      assert.strictEqual(sandbox.byCallbackData[p.id!]?.accepted ?? 0, 0, `${p.id} is dispatch_unknown though the provider accepted it`)
      expectStatus(await stack.api("POST", `/v1/messages/${p.id}/resolution`, { action: "resend" }), 200, "resolution")
      resolved.push(p.id!)
    }
    await eventually("resent messages settled", settled(campaignId))
  })

  it("the kill came mid-campaign; the dead worker never released its leases, and the new one took its channels over", () => {
    assert.strictEqual(killedWith, "SIGKILL")
    assert.isBelow(acceptedAtKill, plan.length)
    const text = stack.logs.join("\n")
    // Every worker that took channels, in the order they first did (docs/worker.md#many-workers).
    const takers = [...new Set([...text.matchAll(/^worker +│ .* channel\(s\) .* taken by (\S+)/gm)].map((m) => m[1]!))]
    const [dead, ...after] = takers
    // Only the new worker took channels after the kill (more than once, maybe: with a lease this short,
    // a renewal late on a loaded machine loses a channel, and the worker takes it again).
    assert.strictEqual(after.length, 1, withLogs("channel takers after the kill"))
    assert.notStrictEqual(after[0], dead)
    // A SIGKILL leaves the leases taken until their TTL passes; whether the new worker had to wait for
    // them depends on how fast it started, so only the release is asserted: it never happened.
    assert.notInclude(text, `leases released by ${dead}`)
  })

  it("every message reaches its final state and the sandbox accepted each exactly once", async () => {
    await checkEveryMessage(plan)
    const sandbox = await sandboxStats()
    for (const [id, counted] of Object.entries(sandbox.byCallbackData) as Array<[string, { accepted: number }]>) {
      assert.isAtMost(counted.accepted, 1, `${id} accepted twice`)
    }
    let cutOff = 0
    for (const p of plan) {
      const types = expectStatus(await stack.api("GET", `/v1/messages/${p.id}/events`), 200, "events").events.map((e: { type: string }) => e.type)
      if (p.script !== "0999" && types.includes("DispatchOutcomeUnknown")) cutOff++
    }
    // Not asserted (it depends on timing): how many requests the kill cut off in flight.
    console.info(`campaign 2: ${acceptedAtKill}/${plan.length} accepted at the kill; ${cutOff} attempts cut off in flight, ${resolved.length} of them never arrived and were resent by resolution`)
  })

  it("the campaign's stats match the scripts", async () => {
    assert.deepStrictEqual(await statsOf(campaignId), { campaignId, ...expectedStats(plan, 0) })
  })

  it("every webhook the api answered 200 was applied: no inbox row pending or quarantined, none failed at the sandbox", async () => {
    assert.strictEqual(await inboxPending(stack), 0)
    assert.deepStrictEqual(await allItems(stack, "/v1/webhook-inbox?state=quarantined"), [])
    const webhooks = (await sandboxStats()).webhooks
    assert.strictEqual(webhooks.failed, 0)
    assert.strictEqual(webhooks.pending, 0)
    assert.isAbove(webhooks.delivered, 0)
  })
})

describe("channels on Meta's Graph API and on 360dialog (both played by the sandbox)", () => {
  const bm = "910000000000705"
  const waba = "920000000007051"
  const channels = [
    { phone: "930000000070511", provider: "meta", credentials: { accessToken: "EAAG-e2e-system-user-token" }, endpoint: "graph /marketing_messages" },
    // 360dialog's key names the number; the sandbox reads `sandbox-<phone number id>`.
    { phone: "930000000070522", provider: "360dialog", credentials: { apiKey: "sandbox-930000000070522" }, endpoint: "360dialog /marketing_messages" }
  ] as const

  it("a marketing message on each goes out through that provider's wire style and ends read on the MM API", async () => {
    expectStatus(await stack.api("PUT", `/v1/business-managers/${bm}`, {}), 200, "BM")
    expectStatus(await stack.api("PUT", `/v1/wabas/${waba}`, { businessManagerId: bm }), 200, "WABA")
    expectStatus(await stack.api("PUT", `/v1/wabas/${waba}/templates/spring_sale/en`, { category: "MARKETING" }), 200, "template")
    expectStatus(await stack.sandbox("POST", "/sandbox/onboarding", { wabaId: waba, ownerBusinessId: bm }), 200, "onboarding")
    await waitForWaba(waba, "onboarded")
    const before = (await sandboxStats()).accepted.byEndpoint
    const ids: Array<string> = []
    for (const c of channels) {
      expectStatus(await stack.api("PUT", `/v1/channels/${c.phone}`, {
        wabaId: waba,
        displayPhoneNumber: `+1 555 ${c.phone.slice(-7)}`,
        provider: c.provider,
        credentials: c.credentials
      }), 200, `${c.provider} channel`)
      const sent = expectStatus(await stack.api("POST", `/v1/channels/${c.phone}/marketing_messages`, {
        messaging_product: "whatsapp",
        to: "4917700001234",
        type: "template",
        template: template(false)
      }), 202, `send on ${c.provider}`)
      ids.push(sent.messages[0].id)
    }
    await eventually("both messages read", async () => {
      for (const id of ids) if ((await messageOf(id)).status !== "read") return false
      return true
    })
    const after = (await sandboxStats()).accepted.byEndpoint
    for (const [i, c] of channels.entries()) {
      const m = await messageOf(ids[i]!)
      assert.strictEqual(m.route.observed, "marketing_messages", c.provider)
      assert.strictEqual((after[c.endpoint] ?? 0) - (before[c.endpoint] ?? 0), 1, `${c.endpoint} requests`)
    }
  })
})
