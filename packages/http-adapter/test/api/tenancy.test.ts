import { ForwardingOutbox, OnboardingQueries } from "@mm-gateway/ports"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Backdoor, backdoor, dispatch, postWebhook, recordClick, seed, sign, startApi, type TestApi, templateBody } from "./support.js"

/**
 * Tenant isolation: an API key sees only its own Business Managers and what hangs under them, and its
 * own channels with their messages; anything else answers 404 (never 403, which would say it exists), on every read endpoint and on every write
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
  /** The tenant's webhook endpoint, and a delivery in its log. */
  endpoint: string
  delivery: string
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
  recordedAttributedClick: `click-${letter}-recorded-attributed`,
  endpoint: "",
  delivery: `dlv_${letter.repeat(24)}`
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
    // A public address as a literal: registration resolves no name.
    const endpoint = await api.request("POST", "/v1/webhook-endpoints", { token: t.key, body: { url: `https://8.8.8.8/hooks/${t.bm}`, secret: "a-tenants-own-secret" } })
    expect(endpoint.status).toBe(201)
    t.endpoint = endpoint.json.id
    const at = Date.now()
    await db.run(Effect.flatMap(ForwardingOutbox, (outbox) =>
      outbox.enqueue([{ id: t.delivery, endpointId: t.endpoint, inboxId: 1, events: ["statuses"], body: new Uint8Array([123, 125]), receivedAt: at, createdAt: at, deadline: at + 60_000 }])))
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
  `/v1/campaigns/${t.campaignOnly}/stats`,
  `/v1/webhook-endpoints/${t.endpoint}`,
  `/v1/webhook-endpoints/${t.endpoint}/deliveries`
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

describe("a key scoped to channels", () => {
  /** Tenant A's second channel, which the channel key is not scoped to. */
  const SECOND = "510000000000004"
  let channelKey = ""
  let onSecond = ""

  beforeAll(async () => {
    const registered = await api.request("PUT", `/v1/channels/${SECOND}`, {
      body: { wabaId: A.waba, displayPhoneNumber: "+1 555 0101", provider: "sandbox", credentials: { apiKey: "second" } }
    })
    expect(registered.status).toBe(200)
    const sent = await api.request("POST", `/v1/channels/${SECOND}/messages`, { token: A.key, body: templateBody("16505558601"), headers: { "x-campaign-id": A.campaignOnly } })
    expect(sent.status).toBe(202)
    onSecond = sent.json.messages[0].id
    const created = await api.request("POST", "/v1/api-keys", { body: { name: "one channel", channelIds: [A.phone] } })
    expect([created.status, created.json.businessManagerIds, created.json.channelIds]).toEqual([201, [], [A.phone]])
    channelKey = created.json.secret
  })

  it("sees its channel, the channel's messages and clicks, and nothing above or beside it", async () => {
    for (const path of [`/v1/channels/${A.phone}`, `/v1/channels/${A.phone}/clicks`, `/v1/messages/${A.message}`, `/v1/messages/${A.message}/events`, `/v1/campaigns/${A.campaignOnly}/stats`]) {
      expect([path, (await api.request("GET", path, { token: channelKey })).status]).toEqual([path, 200])
    }
    const hidden = [
      `/v1/business-managers/${A.bm}`,
      `/v1/wabas/${A.waba}`,
      `/v1/wabas/${A.waba}/templates`,
      `/v1/channels/${SECOND}`,
      `/v1/messages/${onSecond}`,
      ...readPaths(B)
    ]
    for (const path of hidden) {
      const r = await api.request("GET", path, { token: channelKey })
      expect([path, r.status, r.json?.error?.code]).toEqual([path, 404, "not_found"])
    }
  })

  it("its lists and campaign stats count only its channel", async () => {
    expect((await api.request("GET", "/v1/onboarding", { token: channelKey })).json).toEqual({ items: [], nextCursor: null })
    expect((await api.request("GET", `/v1/messages?wamid=${A.wamid}`, { token: channelKey })).json.items.map((m: { id: string }) => m.id)).toEqual([A.message])
    expect((await api.request("GET", `/v1/messages?wamid=${B.wamid}`, { token: channelKey })).json.items).toEqual([])
    // Tenant A's key counts both of its channels' messages of the campaign; the channel key only its own.
    expect((await api.request("GET", `/v1/campaigns/${A.campaignOnly}/stats`, { token: A.key })).json.funnel.accepted).toBe(2)
    expect((await api.request("GET", `/v1/campaigns/${A.campaignOnly}/stats`, { token: channelKey })).json.funnel.accepted).toBe(1)
    expect((await api.request("GET", "/v1/campaigns/shared/stats", { token: channelKey })).json.funnel.accepted).toBe(1)
  })

  it("sends on its channel only, and cannot reconfigure the channel or anything above it", async () => {
    expect((await api.request("POST", `/v1/channels/${A.phone}/messages`, { token: channelKey, body: templateBody("16505558602") })).status).toBe(202)
    const refused: ReadonlyArray<readonly [string, string, unknown]> = [
      ["POST", `/v1/channels/${SECOND}/messages`, templateBody("16505558603")],
      ["POST", `/v1/channels/${B.phone}/marketing_messages`, templateBody("16505558604")],
      ["PUT", `/v1/channels/${A.phone}`, { wabaId: A.waba, displayPhoneNumber: "+1 555 0102", provider: "sandbox", credentials: { apiKey: "taken" } }],
      ["PUT", `/v1/wabas/${A.waba}/templates/spring_sale/en`, { category: "UTILITY" }],
      ["POST", `/v1/wabas/${A.waba}/templates/sync`, undefined],
      ["PUT", `/v1/business-managers/${A.bm}`, { name: "taken over" }]
    ]
    for (const [method, path, body] of refused) {
      const r = await api.request(method, path, { token: channelKey, body })
      expect([method, path, r.status, r.json.error.code]).toEqual([method, path, 404, "not_found"])
    }
    expect((await api.request("GET", `/v1/channels/${A.phone}`)).json.displayPhoneNumber).toBe("+1 555 0100")
  })

  it("Business Managers and channels add up: tenant B's Business Manager and tenant A's channel", async () => {
    const key = (await api.request("POST", "/v1/api-keys", { body: { name: "mixed", businessManagerIds: [B.bm], channelIds: [A.phone] } })).json.secret
    for (const path of [...readPaths(B), `/v1/channels/${A.phone}`, `/v1/messages/${A.message}`]) {
      expect([path, (await api.request("GET", path, { token: key })).status]).toEqual([path, 200])
    }
    expect((await api.request("GET", `/v1/wabas/${A.waba}`, { token: key })).status).toBe(404)
    expect((await api.request("GET", "/v1/campaigns/shared/stats", { token: key })).json.funnel.accepted).toBe(2)
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
    ["POST", `/v1/wabas/${B.waba}/templates/sync`, () => undefined],
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
    expect((await db.run(Effect.flatMap(OnboardingQueries, (q) => q.waba(B.waba, Date.now()))))?.templateSyncRequestedAt).toBeNull()
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

/**
 * The sweep: every operation of `/openapi.json` that names a resource — in its path, its query, its
 * headers or its body — is called with tenant A's key twice, once naming one of tenant B's resources
 * and once a never-existing id of the same shape, everything else being A's own. The two answers must
 * be the same: status, error code and message, and body, with those ids (and what each call creates
 * afresh: message ids, times) normalised. It runs last: some of its calls succeed, on A's side.
 */
describe("the sweep: to tenant A's key, each of tenant B's resources answers as a missing one does", () => {
  type Kind =
    | "businessManager"
    | "waba"
    | "channel"
    | "message"
    | "campaign"
    | "click"
    | "wamid"
    | "apiKey"
    | "inboxEntry"
    | "idempotencyKey"
    | "webhookEndpoint"
    | "delivery"
  interface Slot {
    readonly in: "path" | "query" | "header" | "body"
    readonly name: string
    readonly kind: Kind
    /** Left out of the call unless it is the one varied. */
    readonly optional: boolean
  }
  interface Operation {
    readonly method: string
    readonly path: string
    readonly id: string
    readonly slots: ReadonlyArray<Slot>
    /** Path parameters that name something inside an other resource, not a resource (a template's name). */
    readonly fixed: Readonly<Record<string, string>>
  }

  /** `id` names whatever the collection before it holds. */
  const ID_OF_COLLECTION: Readonly<Record<string, Kind>> = {
    "api-keys": "apiKey",
    messages: "message",
    "webhook-inbox": "inboxEntry",
    "webhook-endpoints": "webhookEndpoint"
  }
  const PATH_PARAMETERS: Readonly<Record<string, Kind>> = {
    businessId: "businessManager",
    wabaId: "waba",
    phoneNumberId: "channel",
    campaignId: "campaign",
    clickId: "click"
  }
  /** A template is named within its WABA: the WABA is what belongs to a tenant. A Graph version names nothing. */
  const NAMES_WITHIN: Readonly<Record<string, string>> = { name: "spring_sale", language: "en", version: "v25.0" }
  const QUERY_REFERENCES: Readonly<Record<string, Kind>> = { wamid: "wamid" }
  // A recipient's number (`to`) is nobody's resource: any tenant may message it, and each sees only its
  // own messages to it (test/api/console-reads.test.ts).
  const QUERY_OTHERS = new Set(["limit", "cursor", "status", "state", "to"])
  const HEADER_REFERENCES: Readonly<Record<string, Kind>> = { "x-campaign-id": "campaign", "idempotency-key": "idempotencyKey" }
  /** A valid body per operation, and the fields that name resources (optional ones are left out unless varied). */
  const BODIES: Readonly<Record<string, {
    readonly references?: Readonly<Record<string, { readonly kind: Kind; readonly optional?: true }>>
    readonly body: (refs: Readonly<Record<string, string | undefined>>) => unknown
  }>> = {
    "apiKeys.createApiKey": {
      references: { businessManagerIds: { kind: "businessManager" }, channelIds: { kind: "channel", optional: true } },
      body: (r) => ({ name: "sweep", businessManagerIds: [r.businessManagerIds], ...(r.channelIds === undefined ? {} : { channelIds: [r.channelIds] }) })
    },
    "onboarding.putBusinessManager": { body: () => ({ name: "swept" }) },
    "onboarding.inviteBusinessManager": { body: () => ({ via: "link" }) },
    "onboarding.putWaba": { references: { businessManagerId: { kind: "businessManager" } }, body: (r) => ({ businessManagerId: r.businessManagerId }) },
    "onboarding.setWabaMmStatus": { body: () => ({ status: "onboarded", reason: "sweep" }) },
    "channels.putChannel": {
      references: { wabaId: { kind: "waba" } },
      body: (r) => ({ wabaId: r.wabaId, displayPhoneNumber: "+1 555 0199", provider: "sandbox", credentials: { apiKey: "sweep" } })
    },
    "channels.changeChannel": { body: () => ({ routing: "cloud_api" }) },
    "settings.putRoutingSettings": { body: () => ({ marketingViaMmApi: true, ttlOnCloudFallback: "warn" }) },
    "templates.putTemplate": { body: () => ({ category: "MARKETING" }) },
    "messages.sendMessage": { body: () => templateBody("16505558400") },
    "messages.sendMarketingMessage": { body: () => templateBody("16505558401") },
    "messages.sendBatch": {
      references: { campaignId: { kind: "campaign", optional: true } },
      body: (r) => ({ ...(r.campaignId === undefined ? {} : { campaignId: r.campaignId }), messages: [templateBody("16505558402")] })
    },
    "messages.resolveMessage": { body: () => ({ action: "give_up" }) },
    "messages.attributeClick": { references: { messageId: { kind: "message" } }, body: (r) => ({ messageId: r.messageId }) },
    "graphSend.sendMessage": { body: () => templateBody("16505558403") },
    "graphSend.sendMarketingMessage": { body: () => templateBody("16505558404") },
    "graphSend.sendMessageUnversioned": { body: () => templateBody("16505558405") },
    "graphSend.sendMarketingMessageUnversioned": { body: () => templateBody("16505558406") },
    // The 360dialog style names its channel by the key alone: nothing in the request to vary.
    "dialog360Send.sendMessage": { body: () => templateBody("16505558407") },
    "dialog360Send.sendMarketingMessage": { body: () => templateBody("16505558408") },
    "webhookEndpoints.createWebhookEndpoint": {
      references: { businessManagerIds: { kind: "businessManager", optional: true }, channelIds: { kind: "channel", optional: true } },
      body: (r) => ({
        url: "https://8.8.8.8/hooks/sweep",
        secret: "a-sweeping-secret",
        ...(r.businessManagerIds === undefined ? {} : { businessManagerIds: [r.businessManagerIds] }),
        ...(r.channelIds === undefined ? {} : { channelIds: [r.channelIds] })
      })
    },
    "webhookEndpoints.updateWebhookEndpoint": { body: () => ({ events: ["statuses", "messages"] }) },
    "webhookEndpoints.replayDeliveries": {
      references: { deliveryId: { kind: "delivery" } },
      body: (r) => ({ deliveryId: r.deliveryId })
    }
  }
  /**
   * Registration by the resource's own id, which is Meta's and global: a free id is registered (200) and
   * a taken one cannot be registered twice, so the two cannot answer alike. The taken one answers as a
   * read of a missing resource does (404, never a 409 that would name an owner); checked against that.
   */
  const REGISTRATIONS_BY_GLOBAL_ID = new Set(["PUT /v1/wabas/{wabaId} path:wabaId", "PUT /v1/channels/{phoneNumberId} path:phoneNumberId"])

  let fresh = 0
  const next = () => String(++fresh).padStart(6, "0")
  /** A never-existing id of the same shape as the kind's real ones. */
  const missing = (kind: Kind): string => {
    switch (kind) {
      case "businessManager":
      case "waba":
      case "channel":
        return `599000000${next()}`
      case "message":
        return `msg_${"f".repeat(26)}${next()}`
      case "apiKey":
        return `ffffffffff${next()}`
      case "inboxEntry":
        return `9${next()}`
      case "campaign":
        return `never-campaign-${next()}`
      case "click":
        return `click-never-${next()}`
      case "wamid":
        return `wamid.NEVER_${next()}`
      case "idempotencyKey":
        return `never-key-${next()}`
      case "webhookEndpoint":
        return `whe_${"f".repeat(18)}${next()}`
      case "delivery":
        return `dlv_${"f".repeat(18)}${next()}`
    }
  }

  const inboxIds = { a: "", b: "" }
  /** The clicks B's webhook recorded for the sweep, and the message B tied each to. */
  const clicksOfB: Array<{ readonly clickId: string; readonly messageId: string | null }> = []
  // One recipient for all: the message A's call creates shows up in some answers, and must look alike.
  const recipient = "16505558500"
  const freshMessageOfA = async () => {
    const r = await api.request("POST", `/v1/channels/${A.phone}/messages`, { token: A.key, body: templateBody(recipient) })
    expect(r.status).toBe(202)
    return r.json.messages[0].id as string
  }
  /** A message of tenant B's, sent with `headers`. */
  const sendAsB = async (headers: Record<string, string> = {}) => {
    const r = await api.request("POST", `/v1/channels/${B.phone}/messages`, { token: B.key, body: templateBody(recipient), headers })
    expect(r.status).toBe(202)
    return r.json.messages[0].id as string
  }
  const attributeAsB = async (clickId: string, messageId: string) =>
    expect((await api.request("POST", `/v1/clicks/${clickId}/attribution`, { token: B.key, body: { messageId } })).status).toBe(200)
  /**
   * Tenant B's resources of a kind. Click ids, campaign ids and idempotency keys are names each tenant
   * keeps for itself, so A using one makes it A's too: they are new for each use. Clicks come three
   * ways: attributed by B only, recorded by B's webhook only, and both.
   */
  const theirs = async (kind: Kind): Promise<ReadonlyArray<string>> => {
    if (kind === "click") {
      const [attributed, recorded, both] = [`b-attributed-${next()}`, `b-recorded-${next()}`, `b-both-${next()}`]
      const [first, second] = [await sendAsB(), await sendAsB()]
      await attributeAsB(attributed, first)
      await db.run(recordClick(B.phone, recorded, Date.now()))
      await db.run(recordClick(B.phone, both, Date.now()))
      await attributeAsB(both, second)
      clicksOfB.push({ clickId: recorded, messageId: null }, { clickId: both, messageId: second })
      return [attributed, recorded, both]
    }
    if (kind === "idempotencyKey") {
      const key = `b-key-${next()}`
      await sendAsB({ "idempotency-key": key })
      return [key]
    }
    if (kind === "campaign") {
      const campaign = `b-campaign-${next()}`
      await sendAsB({ "x-campaign-id": campaign })
      return [campaign]
    }
    return {
      businessManager: [B.bm],
      waba: [B.waba],
      channel: [B.phone],
      message: [B.message, B.other],
      wamid: [B.wamid],
      apiKey: [B.keyId],
      inboxEntry: [inboxIds.b],
      webhookEndpoint: [B.endpoint],
      delivery: [B.delivery]
    }[kind]
  }
  /** Tenant A's own resource of a kind, where a slot is not the one varied. */
  const ours = async (kind: Kind): Promise<string> => {
    switch (kind) {
      case "businessManager":
        return A.bm
      case "waba":
        return A.waba
      case "channel":
        return A.phone
      case "message":
        return freshMessageOfA()
      case "campaign":
        return A.campaignOnly
      case "click":
        return `click-a-${next()}`
      case "wamid":
        return A.wamid
      case "apiKey":
        return A.keyId
      case "inboxEntry":
        return inboxIds.a
      case "idempotencyKey":
        return `a-key-${next()}`
      case "webhookEndpoint":
        return A.endpoint
      case "delivery":
        return A.delivery
    }
  }

  const operationsOf = (spec: any): ReadonlyArray<Operation> =>
    Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, op]) => Array.isArray(op.security) && op.security.length > 0)
        .map(([method, op]): Operation => {
          const slots: Array<Slot> = []
          const fixed: Record<string, string> = {}
          for (const p of (op.parameters ?? []) as Array<{ name: string; in: string }>) {
            const where = `${method.toUpperCase()} ${path}: ${p.in} parameter ${p.name}`
            if (p.in === "path") {
              const collection = path.split("/")[path.split("/").indexOf(`{${p.name}}`) - 1]!
              const kind = p.name === "id" ? ID_OF_COLLECTION[collection] : PATH_PARAMETERS[p.name]
              if (kind !== undefined) slots.push({ in: "path", name: p.name, kind, optional: false })
              else if (NAMES_WITHIN[p.name] !== undefined) fixed[p.name] = NAMES_WITHIN[p.name]!
              else throw new Error(`${where}: say what it names (PATH_PARAMETERS, ID_OF_COLLECTION or NAMES_WITHIN)`)
            } else if (p.in === "query") {
              const kind = QUERY_REFERENCES[p.name]
              if (kind !== undefined) slots.push({ in: "query", name: p.name, kind, optional: false })
              else if (!QUERY_OTHERS.has(p.name)) throw new Error(`${where}: say whether it names a resource`)
            } else if (p.in === "header") {
              const kind = HEADER_REFERENCES[p.name]
              if (kind !== undefined) slots.push({ in: "header", name: p.name, kind, optional: true })
              else throw new Error(`${where}: say whether it names a resource`)
            }
          }
          if (op.requestBody !== undefined) {
            const body = BODIES[op.operationId]
            if (body === undefined) throw new Error(`${method.toUpperCase()} ${path}: add a body for ${op.operationId} to BODIES`)
            for (const [name, ref] of Object.entries(body.references ?? {})) slots.push({ in: "body", name, kind: ref.kind, optional: ref.optional === true })
          }
          return { method: method.toUpperCase(), path, id: op.operationId, slots, fixed }
        })
    )

  /** Calls `op` with `varied` set to `value` and every other slot A's own (optional ones left out). */
  const call = async (op: Operation, varied: Slot, value: string) => {
    const values = new Map<Slot, string | undefined>()
    for (const slot of op.slots) values.set(slot, slot === varied ? value : slot.optional ? undefined : await ours(slot.kind))
    let path = op.path
    for (const [name, v] of Object.entries(op.fixed)) path = path.replace(`{${name}}`, encodeURIComponent(v))
    for (const slot of op.slots) if (slot.in === "path") path = path.replace(`{${slot.name}}`, encodeURIComponent(values.get(slot)!))
    const query = op.slots.filter((s) => s.in === "query").map((s) => `${s.name}=${encodeURIComponent(values.get(s)!)}`)
    const headers = Object.fromEntries(op.slots.filter((s) => s.in === "header" && values.get(s) !== undefined).map((s) => [s.name, values.get(s)!]))
    const body = BODIES[op.id]?.body(Object.fromEntries(op.slots.filter((s) => s.in === "body").map((s) => [s.name, values.get(s)])))
    const answer = await api.request(op.method, query.length === 0 ? path : `${path}?${query.join("&")}`, {
      token: A.key,
      headers,
      ...(body === undefined ? {} : { body })
    })
    return { answer, own: [...values.values()].filter((v): v is string => v !== undefined && v !== value) }
  }

  const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g
  const MESSAGE_ID = /msg_[0-9a-f]{32}/g
  /** The answer with the varied id, A's own ids of the call, fresh message ids and times replaced by placeholders. */
  const normalised = (result: Awaited<ReturnType<typeof call>>, value: string) => {
    const text = (s: string) => {
      let out = s.split(value).join("<varied>")
      for (const own of result.own) out = out.split(own).join("<ours>")
      return out.replace(MESSAGE_ID, "<new message>").replace(ISO_TIME, "<time>")
    }
    // Graph's trace id is unique per answer.
    const walk = (v: unknown): unknown =>
      typeof v === "string"
        ? text(v)
        : Array.isArray(v)
        ? v.map(walk)
        : v !== null && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === "fbtrace_id" ? "<trace>" : walk(x)]))
        : v
    return { status: result.answer.status, body: walk(result.answer.json) }
  }

  beforeAll(async () => {
    for (const [t, which] of [[A, "a"], [B, "b"]] as const) {
      const body = JSON.stringify({ object: "whatsapp_business_account", entry: [{ id: t.waba, changes: [] }] })
      expect((await postWebhook(api, body, { "x-hub-signature-256": sign(body) })).status).toBe(200)
      inboxIds[which] = String((db.inboxDb.prepare("SELECT MAX(id) AS id FROM inbox").get() as { id: number }).id)
    }
  })

  it("every operation that names a resource answers alike for tenant B's id and a missing one", async () => {
    const spec = (await api.request("GET", "/openapi.json", { token: null })).json
    const operations = operationsOf(spec)
    const swept = new Set<string>()
    const exceptionsMet = new Set<string>()
    let comparisons = 0
    for (const op of operations) {
      for (const slot of op.slots) {
        const label = `${op.method} ${op.path} ${slot.in}:${slot.name}`
        for (const id of await theirs(slot.kind)) {
          const taken = normalised(await call(op, slot, id), id)
          const missingId = missing(slot.kind)
          const excepted = REGISTRATIONS_BY_GLOBAL_ID.has(label)
          if (excepted) exceptionsMet.add(label)
          const free = excepted
            ? normalised({ answer: await api.request("GET", op.path.replace(`{${slot.name}}`, missingId), { token: A.key }), own: [] }, missingId)
            : normalised(await call(op, slot, missingId), missingId)
          expect({ label, id, ...taken }).toEqual({ label, id, ...free })
          comparisons++
        }
        swept.add(`${op.method} ${op.path}`)
      }
    }
    // Every registration excepted above was met, so none stays excepted after its endpoint is gone.
    expect([...exceptionsMet].sort()).toEqual([...REGISTRATIONS_BY_GLOBAL_ID].sort())
    // Derived from the API's own description, so a new endpoint is swept without a change here; these
    // floors make sure the sweep cannot quietly test nothing.
    expect(swept.size).toBeGreaterThanOrEqual(22)
    expect(comparisons).toBeGreaterThanOrEqual(35)
    for (const path of ["/{version}/{phoneNumberId}/messages", "/{phoneNumberId}/marketing_messages", "/v1/clicks/{clickId}/attribution", "/v1/messages/{id}", "/v1/wabas/{wabaId}", "/v1/channels/{phoneNumberId}", "/v1/campaigns/{campaignId}/stats", "/v1/business-managers/{businessId}", "/v1/wabas/{wabaId}/templates/{name}/{language}", "/v1/api-keys/{id}", "/v1/webhook-inbox/{id}/replay", "/v1/webhook-endpoints/{id}", "/v1/webhook-endpoints/{id}/replay"]) {
      expect([...swept].some((s) => s.endsWith(` ${path}`)), path).toBe(true)
    }
  })

  it("and tenant B's resources are as B left them", async () => {
    const clicks = (await api.request("GET", `/v1/channels/${B.phone}/clicks?limit=500`, { token: B.key })).json.items
    const tiedTo = (clickId: string) => clicks.find((c: { clickId: string }) => c.clickId === clickId)?.messageId
    expect(clicksOfB.length).toBeGreaterThan(0)
    expect(clicksOfB.map((c) => [c.clickId, tiedTo(c.clickId)])).toEqual(clicksOfB.map((c) => [c.clickId, c.messageId]))
    expect([tiedTo(B.recordedClick), tiedTo(B.recordedAttributedClick)]).toEqual([null, B.other])
    expect((await api.request("GET", `/v1/messages/${B.message}`, { token: B.key })).json.clicks).toEqual([B.click])
    expect((await api.request("GET", `/v1/wabas/${B.waba}`, { token: B.key })).json.businessManagerId).toBe(B.bm)
    expect((await api.request("GET", `/v1/channels/${B.phone}`, { token: B.key })).json.wabaId).toBe(B.waba)
  })
})
