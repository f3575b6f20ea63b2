import { signMetaWebhook } from "@mm-gateway/webhook-adapter"
import { createDatabase, type PostgresServer, startPostgresServer, type TestDatabase } from "@mm-gateway/postgres-projection/testing/standalone"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freePort, type StackProcess, startProcess, stopProcesses, waitUntilUp } from "../../scripts/stack.mjs"
import { type Answer, allItems, bootStack, eventually, expectStatus, inboxPending, postSignedWebhook, quiet, SECRETS, type TestStack } from "./support.js"

/**
 * The gateway scaled out (README, "Scaling out"): two api processes, three worker processes and the
 * sandbox, from their builds, on one PostgreSQL database of a real server. A campaign goes in over both
 * apis on four channels; mid-dispatch the worker holding the most channels is killed with SIGKILL, and
 * one api is killed with SIGKILL under a burst of signed status webhooks. Then every message ends in its
 * final state (read; a send cut off in flight that never reached the sandbox is `dispatch_unknown` and
 * resent by an operator), the sandbox accepted none twice, no channel's second at the sandbox holds more
 * than its `throughputMps`, and every webhook an api answered 200 was applied.
 *
 * Built to hold on a loaded two-core machine: every wait is a condition polled with a generous deadline,
 * the backlogs last many seconds at the channels' rates so the kill finds them under way, and nothing is
 * asserted about time but the rate window.
 */
const BM = "910000000000951"
const WABAS = ["920000000009511", "920000000009512"]
const CHANNELS = [
  { phone: "930000000095111", waba: WABAS[0]!, rate: 5 },
  { phone: "930000000095112", waba: WABAS[0]!, rate: 5 },
  { phone: "930000000095121", waba: WABAS[1]!, rate: 6 },
  { phone: "930000000095122", waba: WABAS[1]!, rate: 6 }
]
/** Messages a channel in the campaign: twenty seconds of its rate and more, so a kill finds it under way. */
const PER_CHANNEL = 100
/** Messages a channel that the sandbox accepts silently (ending 0000), whose statuses the burst brings. */
const SILENT_PER_CHANNEL = 10
const CAMPAIGN = "scale-out"
const template = { name: "spring_sale", language: { code: "en" } }

let server: PostgresServer
let database: TestDatabase
let stack: TestStack & { readonly dir: string }
/** The second api: the one killed under the burst. */
let second: { readonly url: string; readonly process: StackProcess }
const workers: Array<StackProcess> = []
const logs: Array<string> = []

beforeAll(async () => {
  server = await startPostgresServer()
  database = await createDatabase(server.url)
  // Short leases and unknown-outcome window, so the takeover and the settling of cut-off sends happen
  // within the test; a slow provider answer, so the kill finds requests in flight; a rate margin that
  // covers how late a loaded machine may carry a request to the sandbox.
  stack = await bootStack(() => ({
    MMGW_DATABASE_URL: database.url,
    MMGW_DATABASE_POOL_SIZE: "4",
    MMGW_WORKER_LEASE_TTL: "3s",
    MMGW_DISPATCH_UNKNOWN_AFTER: "4s",
    MMGW_WORKER_RATE_MARGIN: "300ms",
    MMGW_SANDBOX_RESPONSE_LATENCY_MS: "100-300"
  }))
  workers.push(stack.process("worker"))
  const port = await freePort()
  const api = startProcess("api", { ...stack.env, MMGW_API_PORT: String(port) }, (line) => logs.push(`api#2    │ ${line}`))
  second = { url: `http://127.0.0.1:${port}`, process: api }
  for (const n of [2, 3]) workers.push(startProcess("worker", stack.env, (line) => logs.push(`worker#${n} │ ${line}`)))
  await waitUntilUp(`${second.url}/readyz`, 60_000, () => api.child.exitCode !== null)
}, 180_000)

afterAll(async () => {
  if (second !== undefined) await stopProcesses([second.process, ...workers.slice(1)])
  await stack?.stop()
  await database?.drop()
  await server?.stop()
})

const withLogs = (message: string) => `${message}\n--- logs (last 80 lines):\n${[...stack.logs, ...logs].slice(-80).join("\n")}`

const request = async (base: string, method: string, path: string, body?: unknown): Promise<Answer> => {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${SECRETS.MMGW_ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, json: text === "" ? null : JSON.parse(text) }
}
const viaSecond = (method: string, path: string, body?: unknown) => request(second.url, method, path, body)

const messageOf = async (id: string) => expectStatus(await stack.api("GET", `/v1/messages/${id}`), 200, `message ${id}`)
const sandboxStats = async () => expectStatus(await stack.sandbox("GET", "/sandbox/stats"), 200, "sandbox stats")
const liveWorkers = async (): Promise<Array<{ instance: string; channels: Array<{ phoneNumberId: string }> }>> =>
  expectStatus(await stack.api("GET", "/v1/workers"), 200, "workers").workers

/** Sends `count` messages on the channel through the api at `base` in one batch; their ids. */
const sendBatch = async (base: string, phone: string, campaignId: string, recipients: ReadonlyArray<string>): Promise<Array<string>> => {
  const answer = expectStatus(await request(base, "POST", `/v1/channels/${phone}/message-batches`, {
    campaignId,
    endpoint: "marketing_messages",
    messages: recipients.map((to) => ({ idempotencyKey: `${campaignId}-${to}`, messaging_product: "whatsapp", to, type: "template", template }))
  }), 202, `batch on ${phone}`)
  return answer.results.map((r: { id?: string; error?: unknown }) => {
    assert.isString(r.id, JSON.stringify(r))
    return r.id!
  })
}

interface Silent {
  readonly id: string
  readonly phone: string
  readonly waba: string
  readonly to: string
  wamid: string
}

type Status = "sent" | "delivered" | "read"

/** One signed status webhook of the burst, as Meta sends it, and whether an api answered it 200. */
interface BurstWebhook {
  readonly message: Silent
  readonly status: Status
  readonly body: string
  /** The status's own time (unix seconds), which the message shows once the status is applied. */
  readonly at: number
  acknowledged: boolean
}

/** Each status of the burst at a time of its own, so the message shows which of them were applied. */
const STATUS_TIME: Record<Status, (now: number) => number> = { sent: (now) => now - 30, delivered: (now) => now - 20, read: (now) => now - 10 }

const statusBody = (m: Silent, status: Status, timestamp: number) =>
  JSON.stringify({
    object: "whatsapp_business_account",
    entry: [{
      id: m.waba,
      time: timestamp,
      changes: [{
        field: "messages",
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: `1555${m.phone.slice(-7)}`, phone_number_id: m.phone },
          statuses: [{ id: m.wamid, status, timestamp: String(timestamp), recipient_id: m.to, biz_opaque_callback_data: m.id }]
        }
      }]
    }]
  })

/** Posts a webhook body signed as Meta does; true when the api answered 200 (a dead api answers nothing). */
const postWebhook = async (base: string, body: string): Promise<boolean> => {
  try {
    const response = await fetch(`${base}/webhooks/meta`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": signMetaWebhook(body, SECRETS.MMGW_META_APP_SECRET) },
      body
    })
    await response.arrayBuffer()
    return response.status === 200
  } catch {
    return false
  }
}

const TIMESTAMP_OF: Record<Status, "sentAt" | "deliveredAt" | "readAt"> = { sent: "sentAt", delivered: "deliveredAt", read: "readAt" }

/** Whether the message shows the webhook's status at the webhook's time. */
const applied = async (w: BurstWebhook): Promise<boolean> =>
  (await messageOf(w.message.id)).timestamps[TIMESTAMP_OF[w.status]] === new Date(w.at * 1000).toISOString()

describe("two apis, three workers and the sandbox on one PostgreSQL; a worker and an api killed with SIGKILL", () => {
  const campaign: Array<{ id: string; phone: string }> = []
  const silent: Array<Silent> = []
  const burst: Array<BurstWebhook> = []
  const resolved: Array<string> = []
  let acceptedBefore = 0
  let acceptedAtKill = 0
  let orphaned: Array<string> = []
  /** What the sandbox had accepted on each of the killed worker's channels at the kill, silent messages included. */
  let orphanedAcceptedAtKill: Array<number> = []
  let workerKilledAt = 0
  let workerSignal: NodeJS.Signals | null = null
  let apiSignal: NodeJS.Signals | null = null
  let notApplied: string | null = null

  beforeAll(async () => {
    expectStatus(await stack.api("PUT", `/v1/business-managers/${BM}`, { name: "Scale" }), 200, "BM")
    for (const waba of WABAS) {
      expectStatus(await viaSecond("PUT", `/v1/wabas/${waba}`, { businessManagerId: BM }), 200, "WABA")
      expectStatus(await stack.api("PUT", `/v1/wabas/${waba}/templates/spring_sale/en`, { category: "MARKETING" }), 200, "template")
      expectStatus(await postSignedWebhook(stack, {
        object: "whatsapp_business_account",
        entry: [{
          id: waba,
          time: Math.floor(Date.now() / 1000),
          changes: [{ field: "account_update", value: { event: "MM_LITE_TERMS_SIGNED", waba_info: { waba_id: waba, owner_business_id: BM } } }]
        }]
      }), 200, "terms")
    }
    for (const c of CHANNELS) {
      expectStatus(await stack.api("PUT", `/v1/channels/${c.phone}`, {
        wabaId: c.waba,
        displayPhoneNumber: `+1 555 ${c.phone.slice(-7)}`,
        provider: "sandbox",
        credentials: { apiKey: `sandbox-${c.phone}` },
        throughputMps: c.rate
      }), 200, "channel")
    }
    for (const waba of WABAS) {
      await eventually(`${waba} onboarded`, async () => expectStatus(await viaSecond("GET", `/v1/wabas/${waba}`), 200, "WABA").mmApi.status === "onboarded")
    }
    await eventually("three live workers holding the four channels between them, each some", async () => {
      const live = await liveWorkers()
      const held = live.flatMap((w) => w.channels.map((c) => c.phoneNumberId)).sort()
      return live.length === 3 && live.every((w) => w.channels.length > 0) && JSON.stringify(held) === JSON.stringify(CHANNELS.map((c) => c.phone).sort())
    }, 120_000)

    // Messages the sandbox accepts and never reports on: their statuses are the burst's.
    for (const [ci, c] of CHANNELS.entries()) {
      const recipients = Array.from({ length: SILENT_PER_CHANNEL }, (_, i) => `4917${ci}${String(i).padStart(4, "0")}0000`)
      const ids = await sendBatch(second.url, c.phone, `${CAMPAIGN}-silent`, recipients)
      ids.forEach((id, i) => silent.push({ id, phone: c.phone, waba: c.waba, to: recipients[i]!, wamid: "" }))
    }
    await eventually("the silent messages accepted by the sandbox, each with its wamid", async () => {
      for (const m of silent.filter((s) => s.wamid === "")) {
        const wamid = (await messageOf(m.id)).wamid
        if (typeof wamid === "string") m.wamid = wamid
      }
      return silent.every((m) => m.wamid !== "")
    }, 120_000)

    // The campaign, half through each api, all at once; mid-dispatch — however long the batches take to
    // be answered on a loaded machine — the worker holding the most channels is killed.
    acceptedBefore = (await sandboxStats()).accepted.total
    const total = CHANNELS.length * PER_CHANNEL
    const posting = Promise.all(CHANNELS.map(async (c, ci) => {
      // Mostly plain numbers; one 500 (answered once, then accepted) and one dropped connection (outcome
      // unknown, its webhooks follow) per channel.
      const recipients = Array.from({ length: PER_CHANNEL }, (_, i) => `4916${ci}${String(i).padStart(4, "0")}${i === 7 ? "0500" : i === 17 ? "0999" : String(3000 + i)}`)
      const ids = await sendBatch(ci % 2 === 0 ? stack.apiUrl : second.url, c.phone, CAMPAIGN, recipients)
      return ids.map((id) => ({ id, phone: c.phone }))
    }))
    const killing = (async () => {
      await eventually("a tenth of the campaign accepted by the sandbox", async () => (await sandboxStats()).accepted.total - acceptedBefore >= total / 10, 120_000)
      const live = await liveWorkers()
      const most = live.reduce((a, b) => (b.channels.length > a.channels.length ? b : a))
      const victim = workers.find((w) => most.instance.includes(`#${w.child.pid}-`))
      assert.isDefined(victim, withLogs(`the process of ${most.instance}`))
      orphaned = most.channels.map((c) => c.phoneNumberId)
      victim!.child.kill("SIGKILL")
      workerSignal = (await victim!.exited).signal
      workerKilledAt = Date.now()
      const atKill = await sandboxStats()
      acceptedAtKill = atKill.accepted.total - acceptedBefore
      orphanedAcceptedAtKill = orphaned.map((phone) => atKill.perPhoneNumber[phone]?.accepted ?? 0)
    })()
    const [batches] = await Promise.all([posting, killing])
    campaign.push(...batches.flat())

    // The burst: sent, delivered and read for every silent message, one status a webhook, six at a time
    // to the second api, which is killed with SIGKILL once a third of them are answered.
    const now = Math.floor(Date.now() / 1000)
    for (const status of ["sent", "delivered", "read"] as const) {
      for (const m of silent) burst.push({ message: m, status, body: statusBody(m, status, STATUS_TIME[status](now)), at: STATUS_TIME[status](now), acknowledged: false })
    }
    let next = 0
    let killed: Promise<void> | null = null
    const post = async () => {
      while (next < burst.length) {
        const webhook = burst[next++]!
        webhook.acknowledged = await postWebhook(second.url, webhook.body)
        if (killed === null && burst.filter((w) => w.acknowledged).length >= burst.length / 3) {
          second.process.child.kill("SIGKILL")
          killed = second.process.exited.then((e) => void (apiSignal = e.signal))
        }
      }
    }
    await Promise.all(Array.from({ length: 6 }, post))
    await killed
    // Before anything is sent again: what the dead api answered 200 is applied from the database.
    try {
      await eventually("every webhook the killed api answered 200 applied", async () =>
        (await Promise.all(burst.filter((w) => w.acknowledged).map(applied))).every(Boolean), 120_000)
    } catch (error) {
      notApplied = error instanceof Error ? error.message : String(error)
    }
    // What the dead api never answered, Meta sends again — here to the api that is left.
    for (const webhook of burst.filter((w) => !w.acknowledged)) assert.isTrue(await postWebhook(stack.apiUrl, webhook.body), "the surviving api answers")

    // Everything settles: read, or — cut off in flight and never named by a webhook — dispatch_unknown,
    // which the operator resends only when the provider (the sandbox's count) never accepted it.
    const final = async () => (await Promise.all(campaign.map(async (m) => ["read", "dispatch_unknown"].includes((await messageOf(m.id)).status)))).every(Boolean)
    await eventually("every campaign message read or dispatch_unknown", final, 180_000)
    const sandbox = await sandboxStats()
    for (const m of campaign) {
      if ((await messageOf(m.id)).status !== "dispatch_unknown") continue
      assert.strictEqual(sandbox.byCallbackData[m.id]?.accepted ?? 0, 0, `${m.id} is dispatch_unknown though the sandbox accepted it`)
      expectStatus(await stack.api("POST", `/v1/messages/${m.id}/resolution`, { action: "resend" }), 200, "resolution")
      resolved.push(m.id)
    }
    await eventually("every message read and every webhook applied", async () =>
      (await Promise.all([...campaign, ...silent].map(async (m) => (await messageOf(m.id)).status === "read"))).every(Boolean) && (await quiet(stack)), 180_000)
  }, 900_000)

  it("the worker was killed mid-dispatch and its channels went on under the others", async () => {
    assert.strictEqual(workerSignal, "SIGKILL")
    assert.isAbove(orphaned.length, 0)
    assert.isBelow(acceptedAtKill, campaign.length, "the kill came before the campaign was through")
    for (const [i, phone] of orphaned.entries()) {
      assert.isBelow(orphanedAcceptedAtKill[i]!, SILENT_PER_CHANNEL + PER_CHANNEL, `${phone} was still sending its backlog at the kill`)
    }
    const live = await liveWorkers()
    assert.strictEqual(live.length, 2, withLogs("two workers left"))
    const held = live.flatMap((w) => w.channels.map((c) => c.phoneNumberId))
    for (const phone of orphaned) assert.include(held, phone, `${phone} taken over`)
    const startedAfter = async (id: string) =>
      expectStatus(await stack.api("GET", `/v1/messages/${id}/events`), 200, "events").events
        .some((e: { type: string; data: { at: number } }) => e.type === "DispatchStarted" && e.data.at > workerKilledAt)
    const resumed = await Promise.all(campaign.filter((m) => orphaned.includes(m.phone)).map((m) => startedAfter(m.id)))
    assert.isTrue(resumed.some(Boolean), "no message of the killed worker's channels was started after the kill")
    console.info(`scale-out: ${acceptedAtKill}/${campaign.length} accepted at the worker's kill; ${resolved.length} cut off in flight, never arrived, resent`)
  })

  it("every message ended read, and the sandbox accepted each exactly once", async () => {
    const sandbox = await sandboxStats()
    for (const [id, counted] of Object.entries(sandbox.byCallbackData) as Array<[string, { accepted: number }]>) {
      assert.isAtMost(counted.accepted, 1, `${id} accepted twice`)
    }
    for (const m of [...campaign, ...silent]) {
      assert.strictEqual((await messageOf(m.id)).status, "read", m.id)
      assert.strictEqual(sandbox.byCallbackData[m.id]?.accepted, 1, `${m.id} accepted once`)
    }
    const stats = expectStatus(await stack.api("GET", `/v1/campaigns/${CAMPAIGN}/stats`), 200, "stats")
    assert.deepStrictEqual([stats.funnel.accepted, stats.funnel.read, stats.failed, stats.dispatchUnknown, stats.queued], [campaign.length, campaign.length, 0, 0, 0])
  })

  it("no channel's second at the sandbox held more than its throughputMps", async () => {
    const sandbox = await sandboxStats()
    const busiest: Array<string> = []
    for (const c of CHANNELS) {
      const counted = sandbox.perPhoneNumber[c.phone]
      assert.isAtLeast(counted.accepted, PER_CHANNEL + SILENT_PER_CHANNEL, `${c.phone} accepted`)
      const most = Math.max(...Object.values(counted.acceptedPerSecond as Record<string, number>))
      assert.isAtMost(most, c.rate, `${c.phone}: ${JSON.stringify(counted.acceptedPerSecond)}`)
      busiest.push(`${most}/${c.rate}`)
    }
    console.info(`scale-out: the busiest second of each channel at the sandbox, against its rate: ${busiest.join(", ")}`)
    assert.strictEqual(sandbox.rateLimited.total, 0)
  })

  it("the api was killed under the burst, and every webhook it answered 200 was applied", async () => {
    assert.strictEqual(apiSignal, "SIGKILL")
    const acknowledged = burst.filter((w) => w.acknowledged)
    assert.isAtLeast(acknowledged.length, burst.length / 3)
    assert.isBelow(acknowledged.length, burst.length, "some of the burst came after the kill")
    // Checked before the rest were sent again (above), and still so.
    assert.isNull(notApplied)
    for (const w of acknowledged) assert.isTrue(await applied(w), `${w.status} of ${w.message.id}, answered 200, applied`)
    assert.strictEqual(await inboxPending(stack), 0)
    assert.deepStrictEqual(await allItems(stack, "/v1/webhook-inbox?state=quarantined"), [])
    const webhooks = (await sandboxStats()).webhooks
    assert.deepStrictEqual([webhooks.failed, webhooks.pending], [0, 0])
  })
})
