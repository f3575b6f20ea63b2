import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { seed, startApi, type TestApi, templateBody } from "./support.js"

/**
 * The reads and the one write the operator console adds (docs/api.md): the channel list, a channel's
 * routing and throughput changed without its credentials, the campaign list with funnels, messages by
 * recipient. Each scoped to a tenant: a key sees its own, and another tenant's channel is 404.
 */
const A = { bm: "610000000000001", waba: "610000000000002", phone: "610000000000003" }
const B = { bm: "620000000000001", waba: "620000000000002", phone: "620000000000003" }
let api: TestApi
let keyA = ""

const send = async (phone: string, to: string, campaign: string) => {
  const answer = await api.request("POST", `/v1/channels/${phone}/messages`, { body: templateBody(to), headers: { "x-campaign-id": campaign } })
  expect(answer.status).toBe(202)
  return answer.json.messages[0].id as string
}

beforeAll(async () => {
  api = await startApi()
  for (const t of [A, B]) await seed(api, t)
  expect((await api.request("POST", `/v1/wabas/${A.waba}/mm-api-status`, { body: { status: "onboarded", reason: "test" } })).status).toBe(200)
  keyA = (await api.request("POST", "/v1/api-keys", { body: { name: "tenant A", businessManagerIds: [A.bm] } })).json.secret
})
afterAll(() => api.close())

describe("the console's reads", () => {
  it("GET /v1/business-managers lists every Business Manager with its WABAs to the admin, its own to a key", async () => {
    expect((await api.request("PUT", "/v1/business-managers/630000000000001", { body: { name: "No WABA yet" } })).status).toBe(200)
    const all = await api.request("GET", "/v1/business-managers")
    expect(all.status).toBe(200)
    expect(all.json.items.map((b: { id: string; wabas: Array<{ id: string }> }) => [b.id, b.wabas.map((w) => w.id)])).toEqual([
      [A.bm, [A.waba]],
      [B.bm, [B.waba]],
      ["630000000000001", []]
    ])
    const own = await api.request("GET", "/v1/business-managers", { token: keyA })
    expect(own.json.items.map((b: { id: string }) => b.id)).toEqual([A.bm])
    expect(own.json.items[0].wabas[0].mmApi.status).toBe("onboarded")
  })


  it("GET /v1/channels lists every channel to the admin and its own to a key, without credentials", async () => {
    const all = await api.request("GET", "/v1/channels")
    expect(all.status).toBe(200)
    expect(all.json.items.map((c: { phoneNumberId: string }) => c.phoneNumberId)).toEqual([A.phone, B.phone])
    expect(all.text).not.toContain("secret-")
    expect(all.text).not.toContain("credentials")
    const own = await api.request("GET", "/v1/channels", { token: keyA })
    expect(own.json.items.map((c: { phoneNumberId: string }) => c.phoneNumberId)).toEqual([A.phone])
    expect((await api.request("GET", "/v1/channels?limit=0")).status).toBe(400)
  })

  it("PATCH /v1/channels/{id} changes the routing at once (the next message takes it) and the throughput, keeping the credentials", async () => {
    const before = await api.request("POST", `/v1/channels/${A.phone}/messages`, { token: keyA, body: templateBody("16505559000") })
    expect(before.json.route).toMatchObject({ decided: "marketing_messages", reasons: ["mm_api_eligible"] })
    const changed = await api.request("PATCH", `/v1/channels/${A.phone}`, { token: keyA, body: { routing: "cloud_api", throughputMps: 25 } })
    expect(changed.status).toBe(200)
    expect([changed.json.routing, changed.json.throughputMps, changed.json.provider]).toEqual(["cloud_api", 25, "sandbox"])
    const sent = await api.request("POST", `/v1/channels/${A.phone}/messages`, { token: keyA, body: templateBody("16505559001") })
    expect(sent.json.route).toMatchObject({ decided: "cloud_api", reasons: ["channel_forced_cloud_api"] })
    const back = await api.request("PATCH", `/v1/channels/${A.phone}`, { token: keyA, body: { routing: "inherit" } })
    expect([back.json.routing, back.json.throughputMps]).toEqual(["inherit", 25])
    const after = await api.request("POST", `/v1/channels/${A.phone}/messages`, { token: keyA, body: templateBody("16505559002") })
    expect(after.json.route.decided).toBe("marketing_messages")
    const bad = await api.request("PATCH", `/v1/channels/${A.phone}`, { body: { throughputMps: 5000 } })
    expect(bad.status).toBe(400)
    expect(bad.text).toContain("throughputMps")
    expect((await api.request("PATCH", `/v1/channels/${B.phone}`, { token: keyA, body: { routing: "cloud_api" } })).status).toBe(404)
    expect((await api.request("PATCH", "/v1/channels/699999999999999", { body: { routing: "cloud_api" } })).status).toBe(404)
    expect((await api.request("GET", `/v1/channels/${B.phone}`)).json.routing).toBe("inherit")
  })

  it("GET /v1/campaigns lists campaigns newest first with their funnels, a key's counting only its messages", async () => {
    await send(A.phone, "16505550101", "spring")
    await send(B.phone, "16505550102", "spring")
    await new Promise((r) => setTimeout(r, 5))
    await send(B.phone, "16505550103", "summer")
    const all = await api.request("GET", "/v1/campaigns")
    expect(all.status).toBe(200)
    expect(all.json.items.map((c: { campaignId: string; messages: number; funnel: { accepted: number } }) => [c.campaignId, c.messages, c.funnel.accepted]))
      .toEqual([["summer", 1, 1], ["spring", 2, 2]])
    expect(Date.parse(all.json.items[0].firstAcceptedAt)).toBeGreaterThan(0)
    const own = await api.request("GET", "/v1/campaigns", { token: keyA })
    expect(own.json.items.map((c: { campaignId: string; funnel: { accepted: number } }) => [c.campaignId, c.funnel.accepted])).toEqual([["spring", 1]])
  })

  it("GET /v1/messages?to= finds a recipient's messages newest first, a key only on its channels; exactly one of wamid and to", async () => {
    const first = await send(A.phone, "16505550201", "lookup")
    const second = await send(B.phone, "16505550201", "lookup")
    const all = await api.request("GET", "/v1/messages?to=16505550201")
    expect(all.json.items.map((m: { id: string }) => m.id)).toEqual([second, first])
    const own = await api.request("GET", "/v1/messages?to=16505550201", { token: keyA })
    expect(own.json.items.map((m: { id: string }) => m.id)).toEqual([first])
    for (const query of ["", "?to=1650&wamid=wamid.X", "?to=abc"]) {
      const refused = await api.request("GET", `/v1/messages${query}`)
      expect(refused.status, query).toBe(400)
      expect(refused.text, query).toMatch(/wamid|to/)
    }
  })
})

describe("who a token is", () => {
  it("GET /v1/api-keys/current answers the admin, or the key with its scope; no token is 401", async () => {
    expect((await api.request("GET", "/v1/api-keys/current")).json).toEqual({ role: "admin" })
    const key = await api.request("GET", "/v1/api-keys/current", { token: keyA })
    expect(key.status).toBe(200)
    expect(key.json).toMatchObject({ role: "api_key", businessManagerIds: [A.bm], channelIds: [] })
    expect((await api.request("GET", "/v1/api-keys/current", { token: null })).status).toBe(401)
    expect((await api.request("GET", "/v1/api-keys/current", { token: "wrong" })).status).toBe(401)
  })
})

describe("the audit of routing changes", () => {
  it("a channel's changes name who and when, newest first; another tenant's channel is 404", async () => {
    const keyId = (await api.request("GET", "/v1/api-keys/current", { token: keyA })).json.id as string
    expect((await api.request("PATCH", `/v1/channels/${A.phone}`, { token: keyA, body: { routing: "marketing_messages" } })).status).toBe(200)
    expect((await api.request("PATCH", `/v1/channels/${A.phone}`, { body: { throughputMps: 30 } })).status).toBe(200)
    const audit = await api.request("GET", `/v1/channels/${A.phone}/changes`, { token: keyA })
    expect(audit.status).toBe(200)
    const changes = audit.json.changes as Array<{ at: string; by: string | null; routing?: string; throughputMps?: number }>
    expect(changes.slice(0, 2).map(({ by, routing, throughputMps }) => ({ by, routing, throughputMps }))).toEqual([
      { by: "admin", routing: undefined, throughputMps: 30 },
      { by: `api_key:${keyId}`, routing: "marketing_messages", throughputMps: undefined }
    ])
    expect(changes[changes.length - 1]).toMatchObject({ by: null, routing: "inherit", throughputMps: 80 })
    expect(Date.parse(changes[0]!.at)).toBeGreaterThanOrEqual(Date.parse(changes[1]!.at))
    expect((await api.request("GET", `/v1/channels/${B.phone}/changes`, { token: keyA })).status).toBe(404)
  })

  it("the partner settings' changes name who and when, newest first", async () => {
    for (const marketingViaMmApi of [false, true]) {
      expect((await api.request("PUT", "/v1/settings/routing", { body: { marketingViaMmApi, ttlOnCloudFallback: "warn" } })).status).toBe(200)
    }
    const audit = await api.request("GET", "/v1/settings/routing/changes", { token: keyA })
    expect(audit.json.changes.map((c: { by: string; marketingViaMmApi: boolean }) => [c.by, c.marketingViaMmApi])).toEqual([["admin", true], ["admin", false]])
  })
})
