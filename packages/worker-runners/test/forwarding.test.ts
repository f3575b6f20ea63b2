import { BM, eventually, ok, PHONE, postSignedWebhook, registerChannel, templateBody, WABA } from "@mm-gateway/worker-test-stack"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type Stack, startStack } from "./support.js"

/**
 * The forwarder in a worker (docs/forwarding.md#delivery): deliveries retried with backoff until the
 * tenant's app answers, an endpoint failing for the pause time paused (and what arrives meanwhile
 * waits), resumed, given up after the retry window and replayed.
 */

/** A tenant's app whose answer the test sets per path: a status code, or 200. */
const startApp = async () => {
  const answers = new Map<string, number>()
  const hits: Array<{ readonly path: string; readonly at: number; readonly deliveryId: string; readonly body: string }> = []
  const server: Server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      hits.push({ path: req.url ?? "", at: Date.now(), deliveryId: String(req.headers["x-mmgw-delivery-id"]), body: Buffer.concat(chunks).toString("utf8") })
      res.writeHead(answers.get(req.url ?? "") ?? 200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    base,
    answers,
    hits,
    hitsOf: (path: string) => hits.filter((h) => h.path === path),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

/** For one describe: a stack with the channel registered and one worker (with `settings`), and the tenant's app. */
const withStackAndApp = (settings: Parameters<Stack["startWorker"]>[0]) => {
  const made = {} as { stack: Stack; app: Awaited<ReturnType<typeof startApp>> }
  beforeAll(async () => {
    made.stack = await startStack()
    made.app = await startApp()
    await registerChannel(made.stack.api, { onboarded: false })
    made.stack.startWorker(settings)
  })
  afterAll(async () => {
    await made.stack?.close()
    await made.app?.close()
  })
  return made
}

let n = 0
/** A template status update for the WABA: one `templates` piece, a new body each time. */
const postTemplateUpdate = (stack: Stack) =>
  postSignedWebhook(stack.api, {
    object: "whatsapp_business_account",
    entry: [{
      id: WABA,
      time: 1_764_000_000 + n,
      changes: [{ field: "message_template_status_update", value: { event: "APPROVED", message_template_id: 1000 + n, message_template_name: `t_${n++}`, message_template_language: "en" } }]
    }]
  })

const endpointAt = async (stack: Stack, url: string, events: ReadonlyArray<string> = ["templates"]) =>
  ok(await stack.api.request("POST", "/v1/webhook-endpoints", { url, secret: "forwarding-test-secret", businessManagerIds: [BM], events }), "endpoint").id as string
const endpoint = async (stack: Stack, id: string) => ok(await stack.api.request("GET", `/v1/webhook-endpoints/${id}`), "endpoint")
const deliveries = async (stack: Stack, id: string) => ok(await stack.api.request("GET", `/v1/webhook-endpoints/${id}/deliveries`), "deliveries").items as Array<any>

describe("forwarding: retries and pauses", () => {
  const ctx = withStackAndApp({ forwardPauseAfterMs: 4_000 })

  it("a failed attempt is retried after a second, then two, under the same delivery id, until the app answers 2xx", async () => {
    const { stack, app } = ctx
    const id = await endpointAt(stack, `${app.base}/flaky`)
    app.answers.set("/flaky", 500)
    await postTemplateUpdate(stack)
    await eventually("two failed attempts", () => app.hitsOf("/flaky").length >= 2, 60_000)
    app.answers.delete("/flaky")
    await eventually("delivered", async () => (await deliveries(stack, id))[0]?.state === "delivered", 60_000)
    const hits = app.hitsOf("/flaky")
    assert.strictEqual(new Set(hits.map((h) => h.deliveryId)).size, 1)
    // Backoff: no retry before its time (1 s, then 2 s, each with up to a quarter more).
    assert.isAtLeast(hits[1]!.at - hits[0]!.at, 950)
    assert.isAtLeast(hits[2]!.at - hits[1]!.at, 1_950)
    const [d] = await deliveries(stack, id)
    assert.deepInclude(d, { state: "delivered", attempts: hits.length, lastStatus: 200, lastError: null })
    assert.isNull((await endpoint(stack, id)).failingSince)
  })

  it("an endpoint whose every attempt failed for the pause time is paused with the reason; what arrives meanwhile waits; a resume delivers it all", async () => {
    const { stack, app } = ctx
    const id = await endpointAt(stack, `${app.base}/down`)
    app.answers.set("/down", 503)
    await postTemplateUpdate(stack)
    const paused = await eventually("paused", async () => {
      const e = await endpoint(stack, id)
      return e.state === "paused" ? e : undefined
    }, 60_000)
    assert.match(paused.paused.reason, /every delivery failed for \d+ s; last: HTTP 503/)
    assert.isString(paused.failingSince)
    const attemptsWhenPaused = app.hitsOf("/down").length
    await postTemplateUpdate(stack)
    await eventually("the second delivery written", async () => (await deliveries(stack, id)).length === 2)
    const waiting = await deliveries(stack, id)
    assert.deepStrictEqual(waiting.map((d) => d.state), ["pending", "pending"])
    assert.strictEqual(waiting[0].attempts, 0)
    app.answers.delete("/down")
    const resumed = ok(await stack.api.request("PATCH", `/v1/webhook-endpoints/${id}`, { state: "active" }), "resume")
    assert.strictEqual(resumed.state, "active")
    await eventually("both delivered", async () => (await deliveries(stack, id)).every((d) => d.state === "delivered"), 60_000)
    assert.isAbove(app.hitsOf("/down").length, attemptsWhenPaused)
  })
})

describe("forwarding: the gateway's own statuses", () => {
  const ctx = withStackAndApp({})

  it("a message the provider refuses for good reaches the app as the failed status Meta would have sent, by its id and callback data", async () => {
    const { stack, app } = ctx
    await endpointAt(stack, `${app.base}/statuses`, ["statuses"])
    // The sandbox refuses a recipient ending 0002 at once with 131009 (packages/sandbox/README.md).
    const sent = ok(await stack.api.request("POST", `/v1/channels/${PHONE}/messages`, templateBody("4915112340002", "spring_sale", { biz_opaque_callback_data: "crm-77" })), "send")
    const id = sent.messages[0].id as string
    const hit = await eventually("the failed status forwarded", () => app.hitsOf("/statuses").find((h) => h.body.includes(id)), 60_000)
    const value = JSON.parse(hit.body).entry[0].changes[0].value
    assert.deepStrictEqual(value.metadata.phone_number_id, PHONE)
    assert.match(value.metadata.display_phone_number, /^\d+$/)
    const [status] = value.statuses
    assert.deepInclude(status, { id, status: "failed", recipient_id: "4915112340002", biz_opaque_callback_data: "crm-77" })
    assert.strictEqual(status.errors[0].code, 131009)
    assert.strictEqual(ok(await stack.api.request("GET", `/v1/messages/${id}`), "message").status, "failed")
  })
})

describe("forwarding: the retry window", () => {
  const ctx = withStackAndApp({ forwardRetryForMs: 2_500 })

  it("a delivery still failing when its window closes is given up (failed, counted on /metrics); a replay delivers it", async () => {
    const { stack, app } = ctx
    const id = await endpointAt(stack, `${app.base}/gone`)
    app.answers.set("/gone", 410)
    await postTemplateUpdate(stack)
    await eventually("given up", async () => (await deliveries(stack, id))[0]?.state === "failed", 60_000)
    const [failed] = await deliveries(stack, id)
    assert.deepInclude(failed, { lastStatus: 410, lastError: "HTTP 410", nextAttemptAt: null })
    assert.match(await (await fetch(`${stack.api.url}/metrics`)).text(), /^mmgw_forward_failed 1$/m)
    assert.strictEqual((await endpoint(stack, id)).health.failed, 1)
    app.answers.delete("/gone")
    const replayed = ok(await stack.api.request("POST", `/v1/webhook-endpoints/${id}/replay`, { deliveryId: failed.id }), "replay")
    assert.deepStrictEqual(replayed, { replayed: 1 })
    await eventually("delivered", async () => (await deliveries(stack, id))[0]?.state === "delivered", 60_000)
    const [delivered] = await deliveries(stack, id)
    assert.isString(delivered.replayedAt)
    assert.isNull(delivered.latencyMs, "a replay is not a webhook's latency")
    // A range replays what it covers: everything from the start of time to now.
    const all = ok(await stack.api.request("POST", `/v1/webhook-endpoints/${id}/replay`, { from: "2020-01-01T00:00:00Z", to: new Date().toISOString() }), "range")
    assert.deepStrictEqual(all, { replayed: 1 })
    await eventually("delivered again", async () => app.hitsOf("/gone").filter((h) => h.deliveryId === failed.id).length >= 3 && (await deliveries(stack, id))[0]?.state === "delivered", 60_000)
  })
})
