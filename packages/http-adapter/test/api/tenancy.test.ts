import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Backdoor, backdoor, dispatch, seed, startApi, type TestApi, templateBody } from "./support.js"

/**
 * Tenant isolation: an API key sees only its own Business Managers and what hangs under them; anything
 * else answers 404 (never 403, which would say it exists), on every read endpoint and on every write
 * that names another tenant's resource.
 */

interface Tenant {
  readonly bm: string
  readonly waba: string
  readonly phone: string
  key: string
  message: string
  campaignOnly: string
  wamid: string
  click: string
}

let api: TestApi
let db: Backdoor
const A: Tenant = { bm: "510000000000001", waba: "510000000000002", phone: "510000000000003", key: "", message: "", campaignOnly: "only-a", wamid: "wamid.TENANT_A", click: "click-a" }
const B: Tenant = { bm: "520000000000001", waba: "520000000000002", phone: "520000000000003", key: "", message: "", campaignOnly: "only-b", wamid: "wamid.TENANT_B", click: "click-b" }

beforeAll(async () => {
  api = await startApi()
  db = await backdoor(api)
  for (const t of [A, B]) {
    await seed(api, t)
    t.key = (await api.request("POST", "/v1/api-keys", { body: { name: `tenant ${t.bm}`, businessManagerIds: [t.bm] } })).json.secret
    const shared = await api.request("POST", `/v1/channels/${t.phone}/messages`, { token: t.key, body: templateBody("16505558001"), headers: { "x-campaign-id": "shared" } })
    expect(shared.status).toBe(202)
    t.message = shared.json.messages[0].id
    await db.run(dispatch(t.message, { wamid: t.wamid }))
    const only = await api.request("POST", `/v1/channels/${t.phone}/messages`, { token: t.key, body: templateBody("16505558002"), headers: { "x-campaign-id": t.campaignOnly } })
    expect(only.status).toBe(202)
    const attributed = await api.request("POST", `/v1/clicks/${t.click}/attribution`, { token: t.key, body: { messageId: t.message } })
    expect(attributed.status).toBe(200)
  }
})
afterAll(async () => {
  await db.close()
  await api.close()
})

const readPaths = (t: Tenant) => [
  `/v1/business-managers/${t.bm}`,
  `/v1/wabas/${t.waba}`,
  `/v1/wabas/${t.waba}/templates`,
  `/v1/channels/${t.phone}`,
  `/v1/channels/${t.phone}/clicks`,
  `/v1/messages/${t.message}`,
  `/v1/messages/${t.message}/events`,
  `/v1/campaigns/${t.campaignOnly}/stats`
]

describe("read endpoints", () => {
  for (const [me, other, name] of [[A, B, "A"], [B, A, "B"]] as const) {
    it(`tenant ${name}'s key reads its own resources (200) and none of the other tenant's (404)`, async () => {
      for (const path of readPaths(me)) {
        const r = await api.request("GET", path, { token: me.key })
        expect([path, r.status]).toEqual([path, 200])
      }
      for (const path of readPaths(other)) {
        const r = await api.request("GET", path, { token: me.key })
        expect([path, r.status, r.json?.error?.code]).toEqual([path, 404, "not_found"])
      }
    })

    it(`tenant ${name}'s lists hold only its own items`, async () => {
      const onboarding = await api.request("GET", "/v1/onboarding", { token: me.key })
      expect(onboarding.json.items.map((w: { id: string }) => w.id)).toEqual([me.waba])
      const filtered = await api.request("GET", "/v1/onboarding?status=not_onboarded", { token: me.key })
      expect(filtered.json.items.map((w: { id: string }) => w.id)).toEqual([me.waba])

      expect((await api.request("GET", `/v1/messages?wamid=${other.wamid}`, { token: me.key })).json).toEqual({ items: [], nextCursor: null })
      const mine = await api.request("GET", `/v1/messages?wamid=${me.wamid}`, { token: me.key })
      expect(mine.json.items.map((m: { id: string }) => m.id)).toEqual([me.message])

      const clicks = await api.request("GET", `/v1/channels/${me.phone}/clicks`, { token: me.key })
      expect(clicks.status).toBe(200)

      const shared = await api.request("GET", "/v1/campaigns/shared/stats", { token: me.key })
      expect(shared.json.funnel).toMatchObject({ accepted: 1, submitted: 1, clicked: 1 })
    })
  }

  it("the admin sees both tenants", async () => {
    expect((await api.request("GET", "/v1/onboarding")).json.items.map((w: { id: string }) => w.id)).toEqual([A.waba, B.waba])
    expect((await api.request("GET", "/v1/campaigns/shared/stats")).json.funnel.accepted).toBe(2)
    for (const path of [...readPaths(A), ...readPaths(B)]) expect([path, (await api.request("GET", path)).status]).toEqual([path, 200])
  })

  it("a key scoped to both Business Managers sees both", async () => {
    const key = (await api.request("POST", "/v1/api-keys", { body: { name: "both", businessManagerIds: [A.bm, B.bm] } })).json.secret
    for (const path of [...readPaths(A), ...readPaths(B)]) expect([path, (await api.request("GET", path, { token: key })).status]).toEqual([path, 200])
    expect((await api.request("GET", "/v1/campaigns/shared/stats", { token: key })).json.funnel.accepted).toBe(2)
  })

  it("partner-wide routing settings are readable by every key", async () => {
    expect((await api.request("GET", "/v1/settings/routing", { token: A.key })).status).toBe(200)
  })
})

describe("write endpoints naming another tenant's resource", () => {
  const channelBody = (wabaId: string) => ({ wabaId, displayPhoneNumber: "+1 555 0199", provider: "sandbox", credentials: { apiKey: "hijack" } })
  // Bodies are thunks: the message ids exist only once beforeAll has run.
  const writes: ReadonlyArray<readonly [string, string, () => unknown]> = [
    ["PUT", `/v1/business-managers/${B.bm}`, () => ({ name: "taken over" })],
    ["POST", `/v1/business-managers/${B.bm}/onboarding-invitations`, () => undefined],
    ["PUT", `/v1/wabas/${B.waba}`, () => ({ businessManagerId: A.bm })],
    ["PUT", "/v1/wabas/530000000000009", () => ({ businessManagerId: B.bm })],
    ["PUT", `/v1/channels/${B.phone}`, () => channelBody(A.waba)],
    ["PUT", "/v1/channels/530000000000008", () => channelBody(B.waba)],
    ["PUT", `/v1/wabas/${B.waba}/templates/spring_sale/en`, () => ({ category: "UTILITY" })],
    ["POST", `/v1/channels/${B.phone}/messages`, () => templateBody("16505558003")],
    ["POST", `/v1/channels/${B.phone}/marketing_messages`, () => templateBody("16505558004")],
    ["POST", `/v1/channels/${B.phone}/message-batches`, () => ({ messages: [templateBody("16505558005")] })],
    ["POST", `/v1/clicks/${B.click}/attribution`, () => ({ messageId: B.message })],
    ["POST", "/v1/clicks/click-new/attribution", () => ({ messageId: B.message })]
  ]
  for (const [method, path, body] of writes) {
    it(`${method} ${path} is 404 for tenant A's key`, async () => {
      const payload = body()
      const r = await api.request(method, path, { token: A.key, ...(payload === undefined ? {} : { body: payload }) })
      expect(r.status).toBe(404)
      expect(r.json.error.code).toBe("not_found")
    })
  }

  it("and changed nothing of tenant B", async () => {
    expect((await api.request("GET", `/v1/business-managers/${B.bm}`)).json).toMatchObject({ name: `BM ${B.bm}`, mmApi: { invitedAt: null } })
    expect((await api.request("GET", `/v1/wabas/${B.waba}`)).json.businessManagerId).toBe(B.bm)
    expect((await api.request("GET", `/v1/channels/${B.phone}`)).json).toMatchObject({ wabaId: B.waba, displayPhoneNumber: "+1 555 0100" })
    expect((await api.request("GET", "/v1/channels/530000000000008")).status).toBe(404)
    expect((await api.request("GET", "/v1/wabas/530000000000009")).status).toBe(404)
    const templates = (await api.request("GET", `/v1/wabas/${B.waba}/templates`)).json.items
    expect(templates.find((t: { name: string }) => t.name === "spring_sale").category).toBe("MARKETING")
    expect((await api.request("GET", `/v1/campaigns/${B.campaignOnly}/stats`)).json.funnel.accepted).toBe(1)
    expect((await api.request("GET", `/v1/messages/${B.message}`)).json.clicks).toEqual([B.click])
  })

  it("admin-only endpoints are 403 for any key", async () => {
    const adminOnly: ReadonlyArray<readonly [string, string, unknown]> = [
      ["GET", "/v1/api-keys", undefined],
      ["POST", "/v1/api-keys", { name: "x", businessManagerIds: [A.bm] }],
      ["DELETE", "/v1/api-keys/whatever", undefined],
      ["POST", `/v1/wabas/${A.waba}/mm-api-status`, { status: "onboarded", reason: "self-service" }],
      ["PUT", "/v1/settings/routing", { marketingViaMmApi: false, ttlOnCloudFallback: "warn" }],
      ["POST", `/v1/messages/${A.message}/resolution`, { action: "give_up" }],
      ["GET", "/v1/webhook-inbox", undefined]
    ]
    for (const [method, path, body] of adminOnly) {
      const r = await api.request(method, path, { token: A.key, ...(body === undefined ? {} : { body }) })
      expect([method, path, r.status, r.json?.error?.code]).toEqual([method, path, 403, "forbidden"])
    }
  })
})

describe("idempotency keys belong to their owner", () => {
  it("the same Idempotency-Key and body from two keys and the admin are three messages", async () => {
    const headers = { "idempotency-key": "order-1" }
    const a = await api.request("POST", `/v1/channels/${A.phone}/messages`, { token: A.key, body: templateBody("16505558100"), headers })
    const b = await api.request("POST", `/v1/channels/${B.phone}/messages`, { token: B.key, body: templateBody("16505558100"), headers })
    const admin = await api.request("POST", `/v1/channels/${A.phone}/messages`, { body: templateBody("16505558100"), headers })
    for (const r of [a, b, admin]) expect(r.status).toBe(202)
    const ids = [a, b, admin].map((r) => r.json.messages[0].id)
    expect(new Set(ids).size).toBe(3)
    const againA = await api.request("POST", `/v1/channels/${A.phone}/messages`, { token: A.key, body: templateBody("16505558100"), headers })
    expect(againA.json).toEqual(a.json)
  })
})
