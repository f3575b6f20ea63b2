import { CommandHandler, type Ids, Streams } from "@mm-gateway/domain"
import { request as httpRequest } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN, type Backdoor, backdoor, seed, startApi, type TestApi, templateBody } from "./support.js"

/**
 * Sending: the routing decision (docs/domain.md#routing-policy) with its reasons and warnings in the 202,
 * rejections as 422 `route_rejected` with the reasons, batches with a result per item.
 */

let api: TestApi
let db: Backdoor
const ONBOARDED = { bm: "810000000000001", waba: "810000000000002", phone: "810000000000003" }
const PENDING = { bm: "810000000000001", waba: "810000000000012", phone: "810000000000013" }
const SUSPENDED = { bm: "810000000000001", waba: "810000000000022", phone: "810000000000023" }

beforeAll(async () => {
  api = await startApi()
  db = await backdoor(api)
  for (const ids of [ONBOARDED, PENDING, SUSPENDED]) await seed(api, ids)
  for (const [waba, status] of [[ONBOARDED.waba, "onboarded"], [SUSPENDED.waba, "suspended"]] as const) {
    expect((await api.request("POST", `/v1/wabas/${waba}/mm-api-status`, { body: { status, reason: "operator" } })).status).toBe(200)
  }
  for (const waba of [ONBOARDED.waba, PENDING.waba]) {
    expect((await api.request("PUT", `/v1/wabas/${waba}/templates/timed_sale/en`, { body: { category: "MARKETING", ttlSeconds: 86_400 } })).status).toBe(200)
  }
})
afterAll(async () => {
  await db.close()
  await api.close()
})

const post = (phone: string, endpoint: "messages" | "marketing_messages", body: unknown, headers: Record<string, string> = {}) =>
  api.request("POST", `/v1/channels/${phone}/${endpoint}`, { body, headers })

const routed = async (phone: string, endpoint: "messages" | "marketing_messages", body: unknown) => {
  const r = await post(phone, endpoint, body)
  expect([r.status, r.text]).toEqual([202, r.text])
  return r.json.route
}

const rejected = async (phone: string, endpoint: "messages" | "marketing_messages", body: unknown) => {
  const r = await post(phone, endpoint, body)
  expect(r.status).toBe(422)
  expect(r.json.error.code).toBe("route_rejected")
  expect(r.json.error.message.length).toBeGreaterThan(0)
  return r.json.error.details.reasons
}

const text = (to: string) => ({ messaging_product: "whatsapp", to, type: "text", text: { body: "hello" } })

describe("a message addressed by BSUID (recipient instead of to)", () => {
  const BSUID = "US.13491208655302741918"
  const byBsuid = (name = "spring_sale") => {
    const { to: _to, ...rest } = templateBody("0", name)
    return { ...rest, recipient: BSUID }
  }
  it("is accepted on /marketing_messages with the warning bsuid_only_no_delivery_optimization, and shown by its BSUID", async () => {
    const r = await post(ONBOARDED.phone, "marketing_messages", byBsuid())
    expect([r.status, r.json.route]).toEqual([202, { decided: "marketing_messages", reasons: ["mm_api_eligible"], warnings: ["bsuid_only_no_delivery_optimization"] }])
    expect(r.json.contacts).toEqual([{ input: BSUID }])
    const m = await api.request("GET", `/v1/messages/${r.json.messages[0].id}`)
    expect([m.json.to, m.json.recipient]).toEqual([null, BSUID])
  })
  it("on the Cloud API route it carries no such warning", async () => {
    expect(await routed(PENDING.phone, "messages", byBsuid())).toEqual({ decided: "cloud_api", reasons: ["waba_not_onboarded"], warnings: [] })
  })
  it("with to as well, to wins (as Meta): the number is the recipient, no warning", async () => {
    const r = await post(ONBOARDED.phone, "messages", { ...byBsuid(), to: "+16505559101" })
    expect([r.status, r.json.route.warnings]).toEqual([202, []])
    const m = await api.request("GET", `/v1/messages/${r.json.messages[0].id}`)
    expect([m.json.to, m.json.recipient]).toEqual(["16505559101", null])
  })
  it("a batch item may name its user by BSUID; one naming no user is refused naming to", async () => {
    const r = await api.request("POST", `/v1/channels/${ONBOARDED.phone}/message-batches`, {
      body: { messages: [byBsuid(), { type: "text", text: { body: "hi" } }] }
    })
    expect(r.status).toBe(202)
    expect(r.json.results[0]).toMatchObject({ index: 0, route: { decided: "marketing_messages", warnings: ["bsuid_only_no_delivery_optimization"] } })
    expect(r.json.results[1]).toMatchObject({ index: 1, error: { code: "invalid_request", details: { field: "messages.1.to" } } })
  })
  it("an opt-out recorded under the number holds for the BSUID once a webhook linked them", async () => {
    const to = "16505559102"
    const bsuid = "BR.5550102"
    const waba = ONBOARDED.waba as Ids.WabaId
    await db.run(CommandHandler.handleCommand(Streams.RecipientStream, Streams.streamId.recipient(waba, to), {
      _tag: "RecordMarketingPreference", wabaId: waba, recipient: to as Ids.RecipientNumber, optedOut: true, source: "error_131050", occurredAt: Date.now() - 1000, at: Date.now()
    }))
    const body = { ...byBsuid(), recipient: bsuid }
    expect((await post(ONBOARDED.phone, "messages", body)).status).toBe(202)
    for (const [a, b] of [[to, bsuid], [bsuid, to]] as const) {
      await db.run(CommandHandler.handleCommand(Streams.RecipientStream, Streams.streamId.recipient(waba, a), {
        _tag: "LinkIdentity", wabaId: waba, recipient: a as Ids.UserRef, sameAs: b as Ids.UserRef, source: "status", at: Date.now()
      }))
    }
    expect(await rejected(ONBOARDED.phone, "messages", body)).toEqual(["recipient_opted_out"])
  })
})

describe("routing reasons and warnings in the 202", () => {
  it("a MARKETING template for an onboarded WABA goes to the MM API (mm_api_eligible), on either endpoint", async () => {
    expect(await routed(ONBOARDED.phone, "messages", templateBody("16505559001"))).toEqual({ decided: "marketing_messages", reasons: ["mm_api_eligible"], warnings: [] })
    expect(await routed(ONBOARDED.phone, "marketing_messages", { ...templateBody("16505559002"), product_policy: "STRICT", message_activity_sharing: true }))
      .toEqual({ decided: "marketing_messages", reasons: ["mm_api_eligible"], warnings: [] })
  })
  it("a template of unknown category: cloud_api on /messages, vouched for on /marketing_messages", async () => {
    expect(await routed(ONBOARDED.phone, "messages", templateBody("16505559003", "never_recorded")))
      .toEqual({ decided: "cloud_api", reasons: ["template_category_unknown"], warnings: [] })
    expect(await routed(ONBOARDED.phone, "marketing_messages", templateBody("16505559004", "never_recorded")))
      .toMatchObject({ decided: "marketing_messages", warnings: ["template_category_unverified"] })
  })
  it("not a template, or not MARKETING: cloud_api on /messages, 422 not_a_marketing_template on /marketing_messages", async () => {
    expect(await routed(ONBOARDED.phone, "messages", text("16505559005"))).toEqual({ decided: "cloud_api", reasons: ["not_a_template"], warnings: [] })
    expect(await routed(ONBOARDED.phone, "messages", templateBody("16505559006", "order_update")))
      .toEqual({ decided: "cloud_api", reasons: ["template_not_marketing"], warnings: [] })
    expect(await rejected(ONBOARDED.phone, "marketing_messages", text("16505559007"))).toEqual(["not_a_marketing_template"])
  })
  it("a WABA not onboarded falls back to cloud_api; a TTL template says the TTL is not applied; STRICT is refused", async () => {
    expect(await routed(PENDING.phone, "messages", templateBody("16505559008"))).toEqual({ decided: "cloud_api", reasons: ["waba_not_onboarded"], warnings: [] })
    expect(await routed(PENDING.phone, "messages", templateBody("16505559009", "timed_sale")))
      .toEqual({ decided: "cloud_api", reasons: ["waba_not_onboarded"], warnings: ["ttl_not_applied_on_cloud_api"] })
    expect(await rejected(PENDING.phone, "marketing_messages", { ...templateBody("16505559010"), product_policy: "STRICT" })).toEqual(["mm_api_not_available"])
  })
  it("partner routing off: routing_disabled; a TTL fallback refused when the policy says reject", async () => {
    const put = (body: unknown) => api.request("PUT", "/v1/settings/routing", { body })
    expect((await put({ marketingViaMmApi: false, ttlOnCloudFallback: "reject" })).status).toBe(200)
    try {
      expect(await routed(ONBOARDED.phone, "messages", templateBody("16505559011"))).toMatchObject({ decided: "cloud_api", reasons: ["routing_disabled"] })
      expect(await rejected(PENDING.phone, "messages", templateBody("16505559012", "timed_sale"))).toContain("ttl_requires_mm_api")
    } finally {
      expect((await put({ marketingViaMmApi: true, ttlOnCloudFallback: "warn" })).status).toBe(200)
    }
  })
  it("a channel override decides: channel_forced_cloud_api / channel_forced_marketing_messages", async () => {
    const override = (routing: string) =>
      api.request("PUT", `/v1/channels/${PENDING.phone}`, {
        body: { wabaId: PENDING.waba, displayPhoneNumber: "+1 555 0100", provider: "sandbox", credentials: { apiKey: `secret-${PENDING.phone}` }, routing }
      })
    expect((await override("marketing_messages")).json.routing).toBe("marketing_messages")
    expect(await routed(PENDING.phone, "messages", templateBody("16505559013"))).toMatchObject({ decided: "marketing_messages", reasons: ["channel_forced_marketing_messages"] })
    expect((await override("cloud_api")).json.routing).toBe("cloud_api")
    // Every rule that applied, in the policy's order: the WABA is not onboarded either.
    expect(await routed(PENDING.phone, "messages", templateBody("16505559014")))
      .toMatchObject({ decided: "cloud_api", reasons: ["channel_forced_cloud_api", "waba_not_onboarded"] })
    expect((await override("inherit")).json.routing).toBe("inherit")
  })
  it("a suspended WABA sends nothing: 422 waba_suspended", async () => {
    expect(await rejected(SUSPENDED.phone, "messages", templateBody("16505559015"))).toEqual(["waba_suspended"])
    expect(await rejected(SUSPENDED.phone, "messages", text("16505559016"))).toEqual(["waba_suspended"])
  })
  it("a recipient who opted out of marketing: 422 recipient_opted_out; other messages still go", async () => {
    const to = "16505559017"
    await db.run(CommandHandler.handleCommand(Streams.RecipientStream, Streams.streamId.recipient(ONBOARDED.waba, to), {
      _tag: "RecordMarketingPreference",
      wabaId: ONBOARDED.waba as Ids.WabaId,
      recipient: to as Ids.RecipientNumber,
      optedOut: true,
      source: "user_preferences",
      occurredAt: Date.now() - 1000,
      at: Date.now()
    }))
    expect(await rejected(ONBOARDED.phone, "messages", templateBody(to))).toEqual(["recipient_opted_out"])
    expect((await post(ONBOARDED.phone, "messages", templateBody(to, "order_update"))).status).toBe(202)
  })
  it("a rejected send records nothing: the same Idempotency-Key is free afterwards", async () => {
    const headers = { "idempotency-key": "after-422" }
    expect((await post(ONBOARDED.phone, "marketing_messages", text("16505559018"), headers)).status).toBe(422)
    const r = await post(ONBOARDED.phone, "messages", text("16505559018"), headers)
    expect(r.status).toBe(202)
  })
  it("an Idempotency-Key reused on another channel with the same body is 409", async () => {
    const headers = { "idempotency-key": "channel-bound" }
    expect((await post(ONBOARDED.phone, "messages", templateBody("16505559019"), headers)).status).toBe(202)
    const r = await post(PENDING.phone, "messages", templateBody("16505559019"), headers)
    expect(r.status).toBe(409)
    expect(r.json.error.code).toBe("idempotency_key_reused")
  })
  it("concurrent repeats of one keyed request are one message, each answered the same 202", async () => {
    const headers = { "idempotency-key": "concurrent", "x-campaign-id": "concurrent-repeats" }
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(ONBOARDED.phone, "messages", templateBody("16505559021"), headers)))
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202))
    for (const a of answers) expect(a.json).toEqual(answers[0]!.json)
    expect((await api.request("GET", "/v1/campaigns/concurrent-repeats/stats")).json.funnel.accepted).toBe(1)
  })
  it("the same body with keys in another order is the same request", async () => {
    const headers = { "idempotency-key": "key-order" }
    const first = await post(ONBOARDED.phone, "messages", { to: "16505559020", type: "text", text: { body: "x", preview_url: false } }, headers)
    const again = await post(ONBOARDED.phone, "messages", { text: { preview_url: false, body: "x" }, type: "text", to: "16505559020" }, headers)
    expect(again.status).toBe(202)
    expect(again.json).toEqual(first.json)
  })
})

describe("POST /v1/channels/{id}/message-batches", () => {
  const batch = (body: unknown, headers: Record<string, string> = {}) =>
    api.request("POST", `/v1/channels/${ONBOARDED.phone}/message-batches`, { body, headers })

  it("routes each item on the endpoint named, with a result or an error per item", async () => {
    const r = await batch({
      endpoint: "marketing_messages",
      messages: [templateBody("16505559101"), text("16505559102"), { ...templateBody("16505559103"), product_policy: "SOMETIMES" }, "not an object"]
    }, { "x-campaign-id": "batch-header" })
    expect(r.status).toBe(202)
    expect(r.json.campaignId).toBe("batch-header")
    expect(r.json.results[0]).toMatchObject({ index: 0, id: expect.any(String), route: { decided: "marketing_messages", reasons: ["mm_api_eligible"] } })
    expect(r.json.results[1]).toEqual({
      index: 1,
      error: { code: "route_rejected", message: expect.any(String), details: { reasons: ["not_a_marketing_template"] } }
    })
    expect(r.json.results[2]).toMatchObject({ index: 2, error: { code: "invalid_request", details: { field: "messages.2.product_policy" } } })
    expect(r.json.results[3]).toMatchObject({ index: 3, error: { code: "invalid_request", details: { field: "messages.3" } } })
    expect((await api.request("GET", `/v1/messages/${r.json.results[0].id}`)).json.campaignId).toBe("batch-header")
  })
  it("per-item idempotency keys: a repeated item answers its first id and creates nothing; another body under its key is 409", async () => {
    const first = await batch({ campaignId: "batch-keys", messages: [{ idempotencyKey: "item-1", ...templateBody("16505559111") }] })
    const again = await batch({ campaignId: "batch-keys", messages: [{ idempotencyKey: "item-1", ...templateBody("16505559111") }, { idempotencyKey: "item-1", ...templateBody("16505559112") }] })
    expect(again.json.results[0].id).toBe(first.json.results[0].id)
    expect(again.json.results[1]).toMatchObject({ index: 1, error: { code: "idempotency_key_reused" } })
    expect((await api.request("GET", "/v1/campaigns/batch-keys/stats")).json.funnel.accepted).toBe(1)
  })
  it("a campaignId that contradicts X-Campaign-Id, an empty batch, or more than 1000 items is a 400 naming the field", async () => {
    const contradiction = await batch({ campaignId: "a", messages: [templateBody("16505559121")] }, { "x-campaign-id": "b" })
    expect([contradiction.status, contradiction.json.error.details.field]).toEqual([400, "campaignId"])
    const empty = await batch({ messages: [] })
    expect([empty.status, empty.json.error.details.field]).toEqual([400, "messages"])
    const tooMany = await batch({ messages: Array.from({ length: 1001 }, () => templateBody("16505559122")) })
    expect([tooMany.status, tooMany.json.error.details.field]).toEqual([400, "messages"])
    expect(tooMany.text.length).toBeLessThan(1000)
  })
  it("an unknown channel is 404", async () => {
    expect((await api.request("POST", "/v1/channels/999000999/message-batches", { body: { messages: [templateBody("16505559131")] } })).status).toBe(404)
  })
})

describe("request bodies", () => {
  it("are read as JSON whatever the Content-Type says", async () => {
    const r = await api.request("POST", `/v1/channels/${ONBOARDED.phone}/messages`, {
      raw: JSON.stringify(templateBody("16505559201")),
      headers: { "content-type": "application/x-www-form-urlencoded" }
    })
    expect(r.status).toBe(202)
  })
  it("a body that is not an object is a 400 at the root", async () => {
    for (const raw of ["[]", "\"text\"", "null", "42"]) {
      const r = await api.request("POST", `/v1/channels/${ONBOARDED.phone}/messages`, { raw })
      expect([raw, r.status, r.json.error.code, r.json.error.details.field]).toEqual([raw, 400, "invalid_request", ""])
    }
  })
  it("over 10 MB is a 413 payload_too_large", async () => {
    const raw = JSON.stringify({ messages: [{ padding: "x".repeat(10 * 1024 * 1024) }] })
    const r = await api.request("POST", `/v1/channels/${ONBOARDED.phone}/message-batches`, { raw })
    expect(r.status).toBe(413)
    expect(r.json.error.code).toBe("payload_too_large")
  })
  it("a chunked body (no declared length) over 10 MB is cut off: nothing recorded, the server answers on", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${api.url}/v1/business-managers/810000000000099`, {
        method: "PUT",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }
      }, (res) => {
        res.resume()
        res.on("end", () => resolve(String(res.statusCode)))
        res.on("error", () => resolve(String(res.statusCode)))
      })
      req.on("error", () => resolve("reset"))
      req.write("{\"name\": \"")
      const chunk = Buffer.alloc(1024 * 1024, 0x61)
      for (let i = 0; i < 11; i++) req.write(chunk)
      req.end("\"}")
    })
    // The platform stops reading past the limit and drops the connection; a 413 would do as well.
    expect(["reset", "413"]).toContain(outcome)
    expect((await api.request("GET", "/v1/business-managers/810000000000099")).status).toBe(404)
  })
  it("a decode message never quotes the value it refused", async () => {
    const r = await api.request("POST", `/v1/channels/${ONBOARDED.phone}/messages`, { body: { ...templateBody("16505559202"), to: "call-me-maybe-VALUE" } })
    expect(r.status).toBe(400)
    expect(r.text).not.toContain("call-me-maybe-VALUE")
  })
})
