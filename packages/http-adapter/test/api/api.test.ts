import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { D360_SECRET, postWebhook, seed, SEEDED, sign, startSeededApi, templateBody, type TestApi, VERIFY_TOKEN } from "./support.js"

let api: TestApi
const { bm: BM, waba: WABA, phone: PHONE } = SEEDED

beforeAll(async () => {
  api = await startSeededApi()
})
afterAll(async () => {
  await api.close()
})

describe("system endpoints", () => {
  it("healthz and readyz answer without a token", async () => {
    expect((await api.request("GET", "/healthz", { token: null })).json).toEqual({ status: "ok" })
    const ready = await api.request("GET", "/readyz", { token: null })
    expect(ready.status).toBe(200)
    expect(ready.json.status).toBe("ready")
    expect(ready.json.migrations).toBeGreaterThan(0)
  })
  it("an unknown route is a 404 in the error envelope", async () => {
    const r = await api.request("GET", "/v1/nothing-here")
    expect(r.status).toBe(404)
    expect(r.json.error.code).toBe("not_found")
  })
})

describe("authentication", () => {
  it("a missing or unknown token is 401", async () => {
    expect((await api.request("GET", `/v1/wabas/${WABA}`, { token: null })).status).toBe(401)
    const unknown = await api.request("GET", `/v1/wabas/${WABA}`, { token: "nope" })
    expect(unknown.status).toBe(401)
    expect(unknown.json.error.code).toBe("unauthorized")
  })
  it("creates a scoped key (secret shown once), lists keys without secrets, and a revoked key is 401 at once", async () => {
    const created = await api.request("POST", "/v1/api-keys", { body: { name: "tenant a", businessManagerIds: [BM] } })
    expect(created.status).toBe(201)
    expect(created.json.secret).toMatch(/^mmgw_/)
    expect([created.json.businessManagerIds, created.json.channelIds]).toEqual([[BM], []])
    const list = await api.request("GET", "/v1/api-keys")
    expect(list.status).toBe(200)
    expect(list.text).not.toContain(created.json.secret)
    expect(list.json.items.find((k: { id: string }) => k.id === created.json.id)).toMatchObject({ businessManagerIds: [BM], channelIds: [] })
    expect((await api.request("GET", `/v1/wabas/${WABA}`, { token: created.json.secret })).status).toBe(200)
    expect((await api.request("DELETE", `/v1/api-keys/${created.json.id}`)).status).toBe(204)
    expect((await api.request("GET", `/v1/wabas/${WABA}`, { token: created.json.secret })).status).toBe(401)
  })
  it("a scoped key may not use admin endpoints", async () => {
    const created = await api.request("POST", "/v1/api-keys", { body: { name: "tenant", businessManagerIds: [BM] } })
    const r = await api.request("POST", "/v1/api-keys", { token: created.json.secret, body: { name: "x", businessManagerIds: [BM] } })
    expect(r.status).toBe(403)
    expect(r.json.error.code).toBe("forbidden")
  })
})

describe("registration and read-your-writes", () => {
  it("a registered Business Manager, WABA, channel and template are visible at once", async () => {
    const bm = await api.request("GET", `/v1/business-managers/${BM}`)
    expect(bm.json).toMatchObject({ id: BM, name: `BM ${BM}`, mmApi: { termsSigned: false } })
    expect(bm.json.wabas.map((w: { id: string }) => w.id)).toEqual([WABA])
    const waba = await api.request("GET", `/v1/wabas/${WABA}`)
    expect(waba.json).toMatchObject({ id: WABA, businessManagerId: BM, mmApi: { status: "not_onboarded", source: null } })
    const channel = await api.request("GET", `/v1/channels/${PHONE}`)
    expect(channel.json).toMatchObject({ phoneNumberId: PHONE, wabaId: WABA, provider: "sandbox", routing: "inherit", throughputMps: 80 })
    expect(channel.text).not.toContain(`secret-${PHONE}`)
    expect(channel.text).not.toContain("credentials")
    const templates = await api.request("GET", `/v1/wabas/${WABA}/templates`)
    expect(templates.json.items.map((t: { name: string; category: string }) => [t.name, t.category])).toEqual([
      ["order_update", "UTILITY"],
      ["spring_sale", "MARKETING"]
    ])
  })
  it("records an onboarding invitation with the configured link", async () => {
    const r = await api.request("POST", `/v1/business-managers/${BM}/onboarding-invitations`)
    expect(r.status).toBe(201)
    expect(r.json.link).toBe("https://hub.360dialog.com/mmlite-tos")
    expect(r.json.steps.length).toBeGreaterThan(0)
    expect((await api.request("GET", `/v1/business-managers/${BM}`)).json.mmApi.invitedAt).not.toBeNull()
  })
  it("an operator can confirm a WABA's MM status", async () => {
    const other = "102290129340500"
    await api.request("PUT", `/v1/wabas/${other}`, { body: { businessManagerId: BM } })
    const r = await api.request("POST", `/v1/wabas/${other}/mm-api-status`, { body: { status: "onboarded", reason: "confirmed with the client" } })
    expect(r.json.mmApi).toMatchObject({ status: "onboarded", source: "manual", reason: "confirmed with the client" })
    const list = await api.request("GET", "/v1/onboarding?status=onboarded")
    expect(list.json.items.map((w: { id: string }) => w.id)).toContain(other)
  })
  it("a read of the MM status from Meta can be asked for: 202 with the WABA (mmApi.meta null until read); 404 for an unknown WABA", async () => {
    const other = "102290129340501"
    await api.request("PUT", `/v1/wabas/${other}`, { body: { businessManagerId: BM } })
    const r = await api.request("POST", `/v1/wabas/${other}/mm-api-status/sync`)
    expect([r.status, r.json.id, r.json.mmApi.meta]).toEqual([202, other, null])
    expect((await api.request("POST", "/v1/wabas/5550002/mm-api-status/sync")).status).toBe(404)
  })
  it("a read of the template list from Meta can be asked for by the admin and the WABA's own key: 202 with when; 404 for an unknown WABA", async () => {
    const other = "102290129340502"
    await api.request("PUT", `/v1/wabas/${other}`, { body: { businessManagerId: BM } })
    const r = await api.request("POST", `/v1/wabas/${other}/templates/sync`)
    expect([r.status, r.json.wabaId, typeof r.json.requestedAt]).toEqual([202, other, "string"])
    const key = (await api.request("POST", "/v1/api-keys", { body: { name: "tenant of the WABA", businessManagerIds: [BM] } })).json.secret as string
    const own = await api.request("POST", `/v1/wabas/${other}/templates/sync`, { token: key })
    expect(own.status).toBe(202)
    expect(Date.parse(own.json.requestedAt)).toBeGreaterThanOrEqual(Date.parse(r.json.requestedAt))
    expect((await api.request("POST", "/v1/wabas/5550002/templates/sync")).status).toBe(404)
  })
  it("a template shows where its category came from and when it last changed", async () => {
    const put = await api.request("PUT", `/v1/wabas/${WABA}/templates/source_shown/en`, { body: { category: "UTILITY" } })
    expect([put.json.categorySource, typeof put.json.updatedAt]).toEqual(["operator", "string"])
  })
  it("settings default to MM routing on and TTL fallback warn, and can be changed", async () => {
    expect((await api.request("GET", "/v1/settings/routing")).json).toEqual({ marketingViaMmApi: true, ttlOnCloudFallback: "warn" })
    const put = await api.request("PUT", "/v1/settings/routing", { body: { marketingViaMmApi: true, ttlOnCloudFallback: "reject" } })
    expect(put.json).toEqual({ marketingViaMmApi: true, ttlOnCloudFallback: "reject" })
    await api.request("PUT", "/v1/settings/routing", { body: { marketingViaMmApi: true, ttlOnCloudFallback: "warn" } })
  })
  it("a template TTL outside Meta's range is a 400 naming ttlSeconds", async () => {
    const r = await api.request("PUT", `/v1/wabas/${WABA}/templates/short_ttl/en`, { body: { category: "MARKETING", ttlSeconds: 60 } })
    expect(r.status).toBe(400)
    expect(r.json.error).toMatchObject({ code: "invalid_request", details: { field: "ttlSeconds" } })
  })
  it("moving a WABA to another Business Manager is a 409", async () => {
    expect((await api.request("PUT", "/v1/business-managers/999999", { body: {} })).status).toBe(200)
    const r = await api.request("PUT", `/v1/wabas/${WABA}`, { body: { businessManagerId: "999999" } })
    expect(r.status).toBe(409)
    expect(r.json.error.code).toBe("waba_owned_by_another_business_manager")
  })
  it("a WABA under a Business Manager that is not registered is a 404 naming it", async () => {
    const r = await api.request("PUT", "/v1/wabas/4242", { body: { businessManagerId: "888888" } })
    expect(r.status).toBe(404)
    expect(r.json.error).toMatchObject({ code: "not_found", details: { resource: "business manager", id: "888888" } })
    expect((await api.request("GET", "/v1/wabas/4242")).status).toBe(404)
  })
  it("a channel without the credentials its provider needs is a 400 naming the field", async () => {
    const r = await api.request("PUT", `/v1/channels/555`, { body: { wabaId: WABA, displayPhoneNumber: "+1", provider: "meta", credentials: {} } })
    expect(r.status).toBe(400)
    expect(r.json.error.details.field).toBe("credentials.accessToken")
  })
})

describe("documented errors of the registration endpoints", () => {
  const cases: ReadonlyArray<readonly [string, string, string, unknown, number, string, string?]> = [
    ["an unknown Business Manager", "GET", "/v1/business-managers/5550001", undefined, 404, "not_found"],
    ["an invitation for an unknown Business Manager", "POST", "/v1/business-managers/5550001/onboarding-invitations", undefined, 404, "not_found"],
    ["a non-digit Business Manager id", "PUT", "/v1/business-managers/acme", { name: "x" }, 400, "invalid_request", "businessId"],
    ["a Business Manager name that is not a string", "PUT", `/v1/business-managers/${BM}`, { name: 42 }, 400, "invalid_request", "name"],
    ["an unknown WABA", "GET", "/v1/wabas/5550002", undefined, 404, "not_found"],
    ["a WABA without its Business Manager", "PUT", "/v1/wabas/5550002", { name: "x" }, 400, "invalid_request", "businessManagerId"],
    ["a manual status for an unknown WABA", "POST", "/v1/wabas/5550002/mm-api-status", { status: "onboarded", reason: "x" }, 404, "not_found"],
    ["a manual status that is not one", "POST", `/v1/wabas/${WABA}/mm-api-status`, { status: "eligible", reason: "x" }, 400, "invalid_request", "status"],
    ["a manual status without a reason", "POST", `/v1/wabas/${WABA}/mm-api-status`, { status: "onboarded" }, 400, "invalid_request", "reason"],
    ["an unknown channel", "GET", "/v1/channels/5550003", undefined, 404, "not_found"],
    ["a channel under an unknown WABA", "PUT", "/v1/channels/5550003", { wabaId: "5550002", displayPhoneNumber: "+1", provider: "sandbox", credentials: { apiKey: "k" } }, 404, "not_found"],
    ["a channel with an unknown provider", "PUT", "/v1/channels/5550003", { wabaId: WABA, displayPhoneNumber: "+1", provider: "twilio", credentials: { apiKey: "k" } }, 400, "invalid_request", "provider"],
    ["a channel throughput over 1000", "PUT", "/v1/channels/5550003", { wabaId: WABA, displayPhoneNumber: "+1", provider: "sandbox", credentials: { apiKey: "k" }, throughputMps: 5000 }, 400, "invalid_request", "throughputMps"],
    ["a channel routing override that is not one", "PUT", "/v1/channels/5550003", { wabaId: WABA, displayPhoneNumber: "+1", provider: "sandbox", credentials: { apiKey: "k" }, routing: "fastest" }, 400, "invalid_request", "routing"],
    ["routing settings of the wrong type", "PUT", "/v1/settings/routing", { marketingViaMmApi: "yes", ttlOnCloudFallback: "warn" }, 400, "invalid_request", "marketingViaMmApi"],
    ["a template under an unknown WABA", "PUT", "/v1/wabas/5550002/templates/spring_sale/en", { category: "MARKETING" }, 404, "not_found"],
    ["a template category that is not one", "PUT", `/v1/wabas/${WABA}/templates/spring_sale/en`, { category: "PROMO" }, 400, "invalid_request", "category"],
    ["a template name that Meta would refuse", "PUT", `/v1/wabas/${WABA}/templates/Spring-Sale/en`, { category: "MARKETING" }, 400, "invalid_request", "name"],
    ["the templates of an unknown WABA", "GET", "/v1/wabas/5550002/templates", undefined, 404, "not_found"],
    ["an API key without Business Managers", "POST", "/v1/api-keys", { name: "x", businessManagerIds: [] }, 400, "invalid_request", "businessManagerIds"],
    ["an API key without Business Managers or channels", "POST", "/v1/api-keys", { name: "x", businessManagerIds: [], channelIds: [] }, 400, "invalid_request", "businessManagerIds"],
    ["an API key scoped to a channel that is not a phone number id", "POST", "/v1/api-keys", { name: "x", channelIds: ["+1555"] }, 400, "invalid_request", "channelIds.0"],
    ["an API key without a name", "POST", "/v1/api-keys", { businessManagerIds: [BM] }, 400, "invalid_request", "name"],
    ["revoking an unknown API key", "DELETE", "/v1/api-keys/nokey", undefined, 404, "not_found"]
  ]
  for (const [name, method, path, body, status, code, field] of cases) {
    it(`${name}: ${status} ${code}${field === undefined ? "" : ` (${field})`}`, async () => {
      const r = await api.request(method, path, body === undefined ? {} : { body })
      expect(r.status).toBe(status)
      expect(r.json.error.code).toBe(code)
      expect(r.json.error.message).toBeTypeOf("string")
      if (field !== undefined) expect(r.json.error.details.field).toBe(field)
    })
  }
  it("a Business Manager is renamed by PUT; a PUT without a name keeps it", async () => {
    const id = "5550010"
    expect((await api.request("PUT", `/v1/business-managers/${id}`, { body: { name: "Acme" } })).json.name).toBe("Acme")
    expect((await api.request("PUT", `/v1/business-managers/${id}`, { body: { name: "Acme Corp" } })).json.name).toBe("Acme Corp")
    expect((await api.request("PUT", `/v1/business-managers/${id}`, { body: {} })).json.name).toBe("Acme Corp")
  })
  it("revoking a key twice is still 204", async () => {
    const created = await api.request("POST", "/v1/api-keys", { body: { name: "twice", businessManagerIds: [BM] } })
    expect((await api.request("DELETE", `/v1/api-keys/${created.json.id}`)).status).toBe(204)
    expect((await api.request("DELETE", `/v1/api-keys/${created.json.id}`)).status).toBe(204)
    const listed = (await api.request("GET", "/v1/api-keys?limit=500")).json.items.find((k: { id: string }) => k.id === created.json.id)
    expect(listed.revokedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/)
  })
})

describe("validation and the error envelope", () => {
  it("malformed JSON is 400 invalid_json, never a 500", async () => {
    const r = await api.request("POST", `/v1/channels/${PHONE}/messages`, { raw: "{\"to\": " })
    expect(r.status).toBe(400)
    expect(r.json.error.code).toBe("invalid_json")
  })
  it("an empty body where one is needed is 400 invalid_json", async () => {
    const r = await api.request("POST", `/v1/channels/${PHONE}/messages`, { raw: "" })
    expect(r.status).toBe(400)
    expect(r.json.error.code).toBe("invalid_json")
  })
  const bad: ReadonlyArray<[string, unknown, string]> = [
    ["a non-digit recipient", { ...templateBody("16505551234"), to: "+1 650 555" }, "to"],
    ["a recipient with two pluses", { ...templateBody("16505551234"), to: "++16505551234" }, "to"],
    ["a missing recipient", { type: "text", text: { body: "hi" } }, "to"],
    ["a recipient (BSUID) that is not one", { type: "text", text: { body: "hi" }, recipient: "16505551234" }, "recipient"],
    ["a bad template name", { ...templateBody("16505551234"), template: { name: "Spring Sale", language: { code: "en" } } }, "template.name"],
    ["a bad language code", { ...templateBody("16505551234"), template: { name: "spring_sale", language: { code: "english!" } } }, "template.language.code"],
    ["a template message without a template", { to: "16505551234", type: "template" }, "template"],
    ["an unknown message type", { to: "16505551234", type: "carrier_pigeon" }, "type"],
    ["a bad component type", { ...templateBody("16505551234"), template: { name: "x", language: { code: "en" }, components: [{ type: "sidebar" }] } }, "template.components.0.type"],
    ["a text body too long", { to: "16505551234", type: "text", text: { body: "x".repeat(5000) } }, "text.body"]
  ]
  for (const [name, body, field] of bad) {
    it(`${name} is a 400 with details.field = ${field}`, async () => {
      const r = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body })
      expect(r.status).toBe(400)
      expect(r.json.error.code).toBe("invalid_request")
      expect(r.json.error.details.field).toBe(field)
    })
  }
  it("product_policy must be CLOUD_API_FALLBACK or STRICT", async () => {
    const r = await api.request("POST", `/v1/channels/${PHONE}/marketing_messages`, { body: { ...templateBody("16505551234"), product_policy: "sometimes" } })
    expect(r.status).toBe(400)
    expect(r.json.error.details.field).toBe("product_policy")
  })
})

describe("sending", () => {
  it("a MARKETING template to a WABA not onboarded goes to the Cloud API, with the reason", async () => {
    const r = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550101") })
    expect(r.status).toBe(202)
    expect(r.json).toMatchObject({
      messaging_product: "whatsapp",
      contacts: [{ input: "16505550101" }],
      messages: [{ message_status: "accepted" }],
      route: { decided: "cloud_api", reasons: ["waba_not_onboarded"], warnings: [] }
    })
    const message = await api.request("GET", `/v1/messages/${r.json.messages[0].id}`)
    expect(message.json).toMatchObject({ status: "accepted", channel: PHONE, wabaId: WABA, to: "16505550101", wamid: null, route: { decided: "cloud_api", observed: null } })
  })
  it("a recipient written with a leading + is echoed as written and recorded as its digits", async () => {
    const r = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("+16505550109") })
    expect([r.status, r.json.contacts]).toEqual([202, [{ input: "+16505550109" }]])
    expect((await api.request("GET", `/v1/messages/${r.json.messages[0].id}`)).json.to).toBe("16505550109")
  })
  it("a utility template on /marketing_messages is 422 route_rejected not_a_marketing_template; nothing is recorded", async () => {
    const r = await api.request("POST", `/v1/channels/${PHONE}/marketing_messages`, { body: templateBody("16505550102", "order_update") })
    expect(r.status).toBe(422)
    expect(r.json.error).toMatchObject({ code: "route_rejected", details: { reasons: ["not_a_marketing_template"] } })
  })
  it("STRICT to a WABA not onboarded is rejected (mm_api_not_available)", async () => {
    const r = await api.request("POST", `/v1/channels/${PHONE}/marketing_messages`, { body: { ...templateBody("16505550103"), product_policy: "STRICT" } })
    expect(r.status).toBe(422)
    expect(r.json.error.details.reasons).toEqual(["mm_api_not_available"])
  })
  it("an unknown channel is 404", async () => {
    const r = await api.request("POST", "/v1/channels/999/messages", { body: templateBody("16505550104") })
    expect(r.status).toBe(404)
  })
  it("Idempotency-Key: the same request answers the original 202; another body is 409", async () => {
    const headers = { "idempotency-key": "order-42", "x-campaign-id": "spring" }
    const first = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550105"), headers })
    const again = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550105"), headers })
    expect(again.status).toBe(202)
    expect(again.json).toEqual(first.json)
    const other = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550106"), headers })
    expect(other.status).toBe(409)
    expect(other.json.error.code).toBe("idempotency_key_reused")
    const message = await api.request("GET", `/v1/messages/${first.json.messages[0].id}`)
    expect(message.json.campaignId).toBe("spring")
    const stats = await api.request("GET", "/v1/campaigns/spring/stats")
    expect(stats.json.funnel.accepted).toBe(1)
    expect(stats.json.routed.cloud_api).toBe(1)
  })
  it("batches report a result per item, with per-item idempotency keys", async () => {
    const r = await api.request("POST", `/v1/channels/${PHONE}/message-batches`, {
      body: {
        campaignId: "batch-1",
        messages: [
          { idempotencyKey: "b-1", ...templateBody("16505550201") },
          { ...templateBody("16505550202"), to: "not a number" },
          { ...templateBody("16505550203", "order_update") }
        ]
      }
    })
    expect(r.status).toBe(202)
    expect(r.json.results[0]).toMatchObject({ index: 0, route: { decided: "cloud_api" } })
    expect(r.json.results[1]).toMatchObject({ index: 1, error: { code: "invalid_request", details: { field: "messages.1.to" } } })
    expect(r.json.results[2]).toMatchObject({ index: 2, route: { decided: "cloud_api", reasons: ["template_not_marketing"] } })
    const again = await api.request("POST", `/v1/channels/${PHONE}/message-batches`, {
      body: { campaignId: "batch-1", messages: [{ idempotencyKey: "b-1", ...templateBody("16505550201") }] }
    })
    expect(again.json.results[0].id).toBe(r.json.results[0].id)
    expect((await api.request("GET", "/v1/campaigns/batch-1/stats")).json.funnel.accepted).toBe(2)
  })
  it("the message's event stream is its audit trail", async () => {
    const sent = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550107") })
    const events = await api.request("GET", `/v1/messages/${sent.json.messages[0].id}/events`)
    expect(events.json.events.map((e: { type: string }) => e.type)).toEqual(["MessageRequested", "MessageRouted"])
  })
  it("resolution of a message that is not dispatch_unknown is a 409", async () => {
    const sent = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550108") })
    const r = await api.request("POST", `/v1/messages/${sent.json.messages[0].id}/resolution`, { body: { action: "give_up" } })
    expect(r.status).toBe(409)
  })
})

describe("webhooks", () => {
  const status = JSON.stringify({ object: "whatsapp_business_account", entry: [{ id: WABA, changes: [{ field: "messages", value: { statuses: [] } }] }] })
  it("GET handshake answers the challenge for the right token, 403 otherwise", async () => {
    const ok = await api.request("GET", `/webhooks/meta?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=12345`, { token: null })
    expect(ok.status).toBe(200)
    expect(ok.text).toBe("12345")
    const bad = await api.request("GET", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=12345", { token: null })
    expect(bad.status).toBe(403)
  })
  it("a signed Meta webhook is stored and answered 200; a bad signature is 401 and nothing is stored", async () => {
    const before = await metricValue("mmgw_webhook_inbox_pending")
    const good = await postWebhook(api, status, { "x-hub-signature-256": sign(status) })
    expect(good.status).toBe(200)
    const unsigned = await postWebhook(api, status + " ", {})
    expect(unsigned.status).toBe(401)
    const wrong = await postWebhook(api, status + "  ", { "x-hub-signature-256": sign(status + "  ", "other-secret") })
    expect(wrong.status).toBe(401)
    expect(await metricValue("mmgw_webhook_inbox_pending")).toBe(before + 1)
  })
  it("360dialog webhooks are checked by the shared header secret", async () => {
    const body = status.replace(WABA, "555")
    expect((await postWebhook(api, body, { "x-mmgw-webhook-secret": D360_SECRET }, "/webhooks/360dialog")).status).toBe(200)
    expect((await postWebhook(api, body, { "x-mmgw-webhook-secret": "nope" }, "/webhooks/360dialog")).status).toBe(401)
  })
  it("a body over 3 MB is 413", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 10, 0x20)
    const r = await postWebhook(api, big, { "x-hub-signature-256": sign(big) })
    expect(r.status).toBe(413)
  })
  it("a verified but undecodable body is still accepted (the worker quarantines it)", async () => {
    const body = "{\"object\": 42}"
    expect((await postWebhook(api, body, { "x-hub-signature-256": sign(body) })).status).toBe(200)
  })
})

describe("tenant isolation", () => {
  it("a key scoped to one Business Manager sees nothing of another, on every read endpoint (404)", async () => {
    const other = { bm: "314159265358979", waba: "314159265358000", phone: "314159265358111" }
    await seed(api, other)
    const otherMessage = await api.request("POST", `/v1/channels/${other.phone}/messages`, { body: templateBody("16505550301"), headers: { "x-campaign-id": "shared-name" } })
    const mine = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550302"), headers: { "x-campaign-id": "shared-name" } })
    const key = (await api.request("POST", "/v1/api-keys", { body: { name: "tenant a", businessManagerIds: [BM] } })).json.secret as string
    const hidden = [
      `/v1/business-managers/${other.bm}`,
      `/v1/wabas/${other.waba}`,
      `/v1/wabas/${other.waba}/templates`,
      `/v1/channels/${other.phone}`,
      `/v1/channels/${other.phone}/clicks`,
      `/v1/messages/${otherMessage.json.messages[0].id}`,
      `/v1/messages/${otherMessage.json.messages[0].id}/events`
    ]
    for (const path of hidden) {
      const r = await api.request("GET", path, { token: key })
      expect([path, r.status]).toEqual([path, 404])
    }
    expect((await api.request("POST", `/v1/channels/${other.phone}/messages`, { token: key, body: templateBody("16505550303") })).status).toBe(404)
    expect((await api.request("GET", `/v1/messages/${mine.json.messages[0].id}`, { token: key })).status).toBe(200)
    const onboarding = await api.request("GET", "/v1/onboarding", { token: key })
    expect(onboarding.json.items.every((w: { businessManagerId: string }) => w.businessManagerId === BM)).toBe(true)
    const stats = await api.request("GET", "/v1/campaigns/shared-name/stats", { token: key })
    expect(stats.json.funnel.accepted).toBe(1)
    expect((await api.request("GET", "/v1/campaigns/shared-name/stats")).json.funnel.accepted).toBe(2)
  })
})

const metricValue = async (name: string): Promise<number> => {
  const text = (await api.request("GET", "/metrics", { token: null })).text
  const line = text.split("\n").find((l) => l.startsWith(`${name} `))
  return Number(line?.split(" ")[1] ?? NaN)
}

