import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Backdoor, backdoor, dispatch, postWebhook, recordClick, seed, sign, startApi, type TestApi, templateBody } from "./support.js"

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
  keyId: string
  message: string
  /** The message of campaign `campaignOnly`. */
  other: string
  campaignOnly: string
  wamid: string
  /** Attributed to `message` by the tenant, no webhook for it. */
  click: string
  /** Recorded by webhook on the tenant's channel, attributed to nothing. */
  recordedClick: string
  /** Recorded by webhook on the tenant's channel and attributed to `other` by the tenant. */
  recordedAttributedClick: string
}

let api: TestApi
let db: Backdoor
const tenant = (n: number, letter: string): Tenant => ({
  bm: `5${n}0000000000001`,
  waba: `5${n}0000000000002`,
  phone: `5${n}0000000000003`,
  key: "",
  keyId: "",
  message: "",
  other: "",
  campaignOnly: `only-${letter}`,
  wamid: `wamid.TENANT_${letter.toUpperCase()}`,
  click: `click-${letter}`,
  recordedClick: `click-${letter}-recorded`,
  recordedAttributedClick: `click-${letter}-recorded-attributed`
})
const A = tenant(1, "a")
const B = tenant(2, "b")

beforeAll(async () => {
  api = await startApi()
  db = await backdoor(api)
  for (const t of [A, B]) {
    await seed(api, t)
    const key = await api.request("POST", "/v1/api-keys", { body: { name: `tenant ${t.bm}`, businessManagerIds: [t.bm] } })
    t.key = key.json.secret
    t.keyId = key.json.id
    const shared = await api.request("POST", `/v1/channels/${t.phone}/messages`, { token: t.key, body: templateBody("16505558001"), headers: { "x-campaign-id": "shared" } })
    expect(shared.status).toBe(202)
    t.message = shared.json.messages[0].id
    await db.run(dispatch(t.message, { wamid: t.wamid }))
    const only = await api.request("POST", `/v1/channels/${t.phone}/messages`, { token: t.key, body: templateBody("16505558002"), headers: { "x-campaign-id": t.campaignOnly } })
    expect(only.status).toBe(202)
    t.other = only.json.messages[0].id
    const attributed = await api.request("POST", `/v1/clicks/${t.click}/attribution`, { token: t.key, body: { messageId: t.message } })
    expect(attributed.status).toBe(200)
    await db.run(recordClick(t.phone, t.recordedClick, Date.now()))
    await db.run(recordClick(t.phone, t.recordedAttributedClick, Date.now()))
    const recorded = await api.request("POST", `/v1/clicks/${t.recordedAttributedClick}/attribution`, { token: t.key, body: { messageId: t.other } })
    expect(recorded.status).toBe(200)
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

describe("a click id recorded on another tenant's channel", () => {
  let recipient = 16505558300
  const send = async (t: Tenant) => {
    const r = await api.request("POST", `/v1/channels/${t.phone}/messages`, { token: t.key, body: templateBody(String(recipient++)) })
    expect(r.status).toBe(202)
    return r.json.messages[0].id as string
  }
  const attribute = (token: string | undefined, clickId: string, messageId: string) =>
    api.request("POST", `/v1/clicks/${clickId}/attribution`, { ...(token === undefined ? {} : { token }), body: { messageId } })
  const clickOn = async (t: Tenant, clickId: string) =>
    (await api.request("GET", `/v1/channels/${t.phone}/clicks?limit=500`, { token: t.key })).json.items.find((c: { clickId: string }) => c.clickId === clickId)

  it("answers tenant A as a click nobody recorded does, and stays tenant B's: unattributed in B's view, free for B's own message", async () => {
    const [mine, mineToo, theirs] = [await send(A), await send(A), await send(B)]
    await db.run(recordClick(B.phone, "click-b-only", Date.now()))
    const known = await attribute(A.key, "click-b-only", mine)
    const unknown = await attribute(A.key, "click-never-recorded", mineToo)
    expect([known.status, unknown.status]).toEqual([200, 200])
    expect([known.json.clicks, unknown.json.clicks]).toEqual([["click-b-only"], ["click-never-recorded"]])
    expect(await clickOn(A, "click-b-only")).toBeUndefined()
    expect(await clickOn(B, "click-b-only")).toMatchObject({ messageId: null })
    expect((await attribute(B.key, "click-b-only", theirs)).status).toBe(200)
    expect(await clickOn(B, "click-b-only")).toMatchObject({ messageId: theirs })
  })

  it("an attribution tenant A made before tenant B's webhook arrived neither ties B's click nor blocks B", async () => {
    const [mine, theirs] = [await send(A), await send(B)]
    expect((await attribute(A.key, "click-early", mine)).status).toBe(200)
    await db.run(recordClick(B.phone, "click-early", Date.now()))
    expect(await clickOn(B, "click-early")).toMatchObject({ messageId: null })
    expect((await attribute(B.key, "click-early", theirs)).status).toBe(200)
    expect(await clickOn(B, "click-early")).toMatchObject({ messageId: theirs })
    expect((await api.request("GET", `/v1/messages/${mine}`, { token: A.key })).json.clicks).toEqual(["click-early"])
  })

  it("a click tenant B attributed to its own message is unknown to tenant A (no click_already_attributed), and still B's", async () => {
    const mine = await send(A)
    expect((await attribute(A.key, B.recordedAttributedClick, mine)).status).toBe(200)
    expect(await clickOn(B, B.recordedAttributedClick)).toMatchObject({ messageId: B.other })
    const again = await attribute(B.key, B.recordedAttributedClick, await send(B))
    expect([again.status, again.json.error.code]).toEqual([409, "click_already_attributed"])
  })

  it("the admin sees every channel, so it is still refused a click recorded on another channel than the message's", async () => {
    const r = await attribute(undefined, B.recordedClick, await send(A))
    expect([r.status, r.json.error.code]).toEqual([409, "click_on_another_channel"])
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
