import { CommandHandler, EventStore, type Ids, Streams } from "@mm-gateway/domain"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Backdoor, backdoor, collectPages, dispatch, observe, recordClick, seed, startApi, type TestApi, templateBody } from "./support.js"

/**
 * What the API shows of a message after the worker and the webhooks moved it on: driven here through
 * the domain's own commands on the api's database file, as the worker would.
 */

let api: TestApi
let db: Backdoor
const BM = "410000000000001"
const WABA = "410000000000002"
const PHONE = "410000000000003"
const OTHER_PHONE = "410000000000004"
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0)

beforeAll(async () => {
  api = await startApi()
  db = await backdoor(api)
  await seed(api, { bm: BM, waba: WABA, phone: PHONE })
  const other = await api.request("PUT", `/v1/channels/${OTHER_PHONE}`, {
    body: { wabaId: WABA, displayPhoneNumber: "+1 555 0101", provider: "sandbox", credentials: { apiKey: "k" } }
  })
  expect(other.status).toBe(200)
  const onboarded = await api.request("POST", `/v1/wabas/${WABA}/mm-api-status`, { body: { status: "onboarded", reason: "terms signed on a call" } })
  expect(onboarded.status).toBe(200)
})
afterAll(async () => {
  await db.close()
  await api.close()
})

const send = async (to: string, options: { campaign?: string; template?: string; body?: Record<string, unknown> } = {}) => {
  const r = await api.request("POST", `/v1/channels/${PHONE}/messages`, {
    body: { ...templateBody(to, options.template), ...options.body },
    headers: options.campaign === undefined ? {} : { "x-campaign-id": options.campaign }
  })
  expect(r.status).toBe(202)
  return r.json.messages[0].id as string
}

const getMessage = async (id: string) => {
  const r = await api.request("GET", `/v1/messages/${id}`)
  expect(r.status).toBe(200)
  return r.json
}

describe("acceptance is durable before the 202", () => {
  it("another connection reads the message's events as soon as the 202 is in", async () => {
    const id = await send("16505557001")
    const stream = await db.run(Effect.flatMap(EventStore.EventStore, (store) => store.readStream(Streams.streamId.message(id))))
    expect(stream.events.map((e) => e.event._tag)).toEqual(["MessageRequested", "MessageRouted"])
  })
})

describe("GET /v1/messages/{id}", () => {
  it("shows the message resource of docs/api.md#resources from acceptance through dispatch and status webhooks", async () => {
    const id = await send("16505557002", { campaign: "shape", body: { biz_opaque_callback_data: "client-ref-1" } })
    const accepted = await getMessage(id)
    expect(accepted).toMatchObject({
      id,
      channel: PHONE,
      wabaId: WABA,
      to: "16505557002",
      campaignId: "shape",
      bizOpaqueCallbackData: "client-ref-1",
      template: { name: "spring_sale", language: "en", category: "MARKETING" },
      route: { decided: "marketing_messages", reasons: ["mm_api_eligible"], warnings: [], observed: null },
      status: "accepted",
      wamid: null,
      timestamps: { submittedAt: null, sentAt: null, deliveredAt: null, readAt: null, failedAt: null },
      errors: [],
      pricing: null
    })
    expect(accepted.timestamps.acceptedAt).toMatch(ISO)

    await db.run(dispatch(id, { wamid: "wamid.SHAPE1" }, T0))
    const submitted = await getMessage(id)
    expect(submitted).toMatchObject({ status: "submitted", wamid: "wamid.SHAPE1", timestamps: { submittedAt: new Date(T0 + 1).toISOString() } })

    await db.run(observe(id, "wamid.SHAPE1", "sent", T0 + 10_000, { category: "marketing_lite" }))
    await db.run(observe(id, "wamid.SHAPE1", "delivered", T0 + 20_000, { category: "marketing_lite" }))
    await db.run(observe(id, "wamid.SHAPE1", "read", T0 + 30_000, { category: "marketing_lite" }))
    expect(await getMessage(id)).toMatchObject({
      status: "read",
      route: { decided: "marketing_messages", observed: "marketing_messages" },
      timestamps: {
        sentAt: new Date(T0 + 10_000).toISOString(),
        deliveredAt: new Date(T0 + 20_000).toISOString(),
        readAt: new Date(T0 + 30_000).toISOString(),
        failedAt: null
      },
      pricing: { category: "marketing_lite", pricingModel: "PMP", type: "regular", billable: true },
      routeMismatch: false
    })
  })

  it("a failed status shows its errors and failedAt", async () => {
    const id = await send("16505557003")
    await db.run(dispatch(id, { wamid: "wamid.FAIL1" }, T0))
    await db.run(observe(id, "wamid.FAIL1", "failed", T0 + 5_000, { errorCode: 131049 }))
    const message = await getMessage(id)
    expect(message.status).toBe("failed")
    expect(message.errors).toEqual([{ code: 131049, title: "error title", message: "error message", details: null }])
    expect(message.timestamps.failedAt).toBe(new Date(T0 + 5_000).toISOString())
  })

  it("an unknown message is 404", async () => {
    const r = await api.request("GET", "/v1/messages/msg_nope")
    expect(r.status).toBe(404)
    expect(r.json.error).toMatchObject({ code: "not_found", details: { resource: "message", id: "msg_nope" } })
  })
})

describe("GET /v1/messages/{id}/events", () => {
  it("is the message's event stream: position, type, data and recordedAt", async () => {
    const id = await send("16505557004")
    await db.run(dispatch(id, { wamid: "wamid.EVENTS1" }, T0))
    await db.run(observe(id, "wamid.EVENTS1", "sent", T0 + 1_000, { category: "marketing_lite" }))
    const r = await api.request("GET", `/v1/messages/${id}/events`)
    expect(r.status).toBe(200)
    expect(Object.keys(r.json)).toEqual(["events"])
    const events = r.json.events as Array<{ position: number; type: string; data: Record<string, unknown>; recordedAt: string }>
    expect(events.map((e) => e.type)).toEqual(["MessageRequested", "MessageRouted", "DispatchStarted", "DispatchSucceeded", "StatusObserved"])
    for (const e of events) {
      expect(Object.keys(e).sort()).toEqual(["data", "position", "recordedAt", "type"])
      expect(e.recordedAt).toMatch(ISO)
      expect(e.data["messageId"]).toBe(id)
    }
    expect(events.map((e) => e.position)).toEqual([...events.map((e) => e.position)].sort((a, b) => a - b))
    expect(new Set(events.map((e) => e.position)).size).toBe(events.length)
    expect(events[3]!.data).toMatchObject({ wamid: "wamid.EVENTS1", attempt: 1 })
  })

  it("of an unknown message is 404", async () => {
    expect((await api.request("GET", "/v1/messages/msg_nope/events")).status).toBe(404)
  })
})

describe("GET /v1/messages?wamid=", () => {
  it("finds the message the provider named", async () => {
    const id = await send("16505557005")
    await db.run(dispatch(id, { wamid: "wamid.LOOKUP1" }, T0))
    const r = await api.request("GET", "/v1/messages?wamid=wamid.LOOKUP1")
    expect(r.status).toBe(200)
    expect(r.json.items.map((m: { id: string; wamid: string }) => [m.id, m.wamid])).toEqual([[id, "wamid.LOOKUP1"]])
    expect(r.json.nextCursor).toBeNull()
  })
  it("an unknown wamid is an empty list", async () => {
    expect((await api.request("GET", "/v1/messages?wamid=wamid.NOPE")).json).toEqual({ items: [], nextCursor: null })
  })
  it("without a wamid is a 400 naming it", async () => {
    const r = await api.request("GET", "/v1/messages")
    expect(r.status).toBe(400)
    expect(r.json.error).toMatchObject({ code: "invalid_request", details: { field: "wamid" } })
  })
  it("paginates when a wamid names several messages", async () => {
    const ids = [await send("16505557006"), await send("16505557007"), await send("16505557008")]
    for (const id of ids) await db.run(dispatch(id, { wamid: "wamid.SHARED" }, T0))
    const { items, pages } = await collectPages(api, "/v1/messages?wamid=wamid.SHARED", 2)
    expect(items.map((m) => m.id).sort()).toEqual([...ids].sort())
    expect(pages).toBe(2)
  })
})

describe("GET /v1/campaigns/{campaignId}/stats", () => {
  it("counts the funnel, routes, failures by code, dispatch-unknown and route mismatches", async () => {
    const campaign = "funnel-numbers"
    const read = await send("16505557101", { campaign })
    const sentOnCloud = await send("16505557102", { campaign })
    const failed = await send("16505557103", { campaign })
    const unknown = await send("16505557104", { campaign })
    await send("16505557105", { campaign })
    await send("16505557106", { campaign, template: "order_update" })

    await db.run(dispatch(read, { wamid: "wamid.F1" }, T0))
    await db.run(observe(read, "wamid.F1", "sent", T0 + 1, { category: "marketing_lite" }))
    await db.run(observe(read, "wamid.F1", "delivered", T0 + 2, { category: "marketing_lite" }))
    await db.run(observe(read, "wamid.F1", "read", T0 + 3, { category: "marketing_lite" }))
    await db.run(recordClick(PHONE, "funnel-click", T0 + 4))
    expect((await api.request("POST", "/v1/clicks/funnel-click/attribution", { body: { messageId: read } })).status).toBe(200)
    // Its landing page view, joined to the click by tracking token alone.
    await db.run(recordClick(PHONE, null, T0 + 5, "landing_page_view", "token-funnel-click"))
    await db.run(dispatch(sentOnCloud, { wamid: "wamid.F2" }, T0))
    await db.run(observe(sentOnCloud, "wamid.F2", "sent", T0 + 1, { category: "marketing" }))
    await db.run(dispatch(failed, { wamid: "wamid.F3" }, T0))
    await db.run(observe(failed, "wamid.F3", "failed", T0 + 1, { errorCode: 131049 }))
    await db.run(dispatch(unknown, "unknown", T0))

    const r = await api.request("GET", `/v1/campaigns/${campaign}/stats`)
    expect(r.status).toBe(200)
    expect(r.json).toEqual({
      campaignId: campaign,
      funnel: { accepted: 6, submitted: 3, sent: 2, delivered: 1, read: 1, clicked: 1, landingPageViews: 1 },
      routed: { marketing_messages: 5, cloud_api: 1 },
      observedRoute: { marketing_messages: 1, cloud_api: 1, unknown: 4 },
      failed: 1,
      expired: 0,
      dispatchUnknown: 1,
      routeMismatch: 1,
      failuresByCode: { "131049": 1 },
      queued: 2
    })
  })
  it("a campaign with no messages is 404", async () => {
    const r = await api.request("GET", "/v1/campaigns/never-used/stats")
    expect(r.status).toBe(404)
    expect(r.json.error.code).toBe("not_found")
  })
})

describe("POST /v1/messages/{id}/resolution", () => {
  it("resend puts a dispatch_unknown message back in line for a new attempt", async () => {
    const id = await send("16505557201")
    await db.run(dispatch(id, "unknown", T0))
    expect((await getMessage(id)).status).toBe("dispatch_unknown")
    const r = await api.request("POST", `/v1/messages/${id}/resolution`, { body: { action: "resend" } })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ id, status: "accepted" })
    const events = (await api.request("GET", `/v1/messages/${id}/events`)).json.events
    expect(events[events.length - 1]).toMatchObject({ type: "DispatchResolved", data: { action: "resend", by: "admin" } })
    const again = await api.request("POST", `/v1/messages/${id}/resolution`, { body: { action: "resend" } })
    expect(again.status).toBe(409)
    expect(again.json.error.code).toBe("not_dispatch_unknown")
  })
  it("give_up makes it failed", async () => {
    const id = await send("16505557202")
    await db.run(dispatch(id, "unknown", T0))
    const r = await api.request("POST", `/v1/messages/${id}/resolution`, { body: { action: "give_up" } })
    expect(r.status).toBe(200)
    expect(r.json.status).toBe("failed")
    expect((await getMessage(id)).status).toBe("failed")
  })
  it("an unknown action is a 400 naming it; an unknown message a 404; a scoped key a 403", async () => {
    const id = await send("16505557203")
    await db.run(dispatch(id, "unknown", T0))
    const bad = await api.request("POST", `/v1/messages/${id}/resolution`, { body: { action: "retry_maybe" } })
    expect(bad.status).toBe(400)
    expect(bad.json.error.details.field).toBe("action")
    expect((await api.request("POST", "/v1/messages/msg_nope/resolution", { body: { action: "give_up" } })).status).toBe(404)
    const key = (await api.request("POST", "/v1/api-keys", { body: { name: "tenant", businessManagerIds: [BM] } })).json.secret
    const scoped = await api.request("POST", `/v1/messages/${id}/resolution`, { token: key, body: { action: "give_up" } })
    expect(scoped.status).toBe(403)
    expect((await getMessage(id)).status).toBe("dispatch_unknown")
  })
})

describe("clicks", () => {
  const channelClicks = async () => (await collectPages(api, `/v1/channels/${PHONE}/clicks`, 500)).items

  it("lists a channel's user actions in their documented shape (packages/http-adapter/README.md), paginated", async () => {
    for (let i = 1; i <= 5; i++) await db.run(recordClick(PHONE, `list-click-${i}`, T0 + i * 1000))
    await db.run(recordClick(PHONE, "list-click-1", T0 + 1500, "landing_page_view"))
    const all = await channelClicks()
    const mine = all.filter((c) => String(c.clickId).startsWith("list-click-"))
    expect(mine).toHaveLength(6)
    expect(mine[0]).toEqual({
      actionType: "marketing_messages_link_click",
      kind: "link_click",
      clickId: "list-click-1",
      trackingToken: "token-list-click-1",
      component: "cta",
      occurredAt: new Date(T0 + 1000).toISOString(),
      messageId: null,
      joinedClick: null
    })
    expect(mine.find((c) => c.actionType === "landing_page_view")).toMatchObject({
      kind: "other",
      clickId: "list-click-1",
      joinedClick: { clickId: "list-click-1", trackingToken: "token-list-click-1", occurredAt: new Date(T0 + 1000).toISOString() }
    })
    const paged = await collectPages(api, `/v1/channels/${PHONE}/clicks`, 2)
    expect(paged.items).toEqual(all)
    expect(paged.pages).toBe(Math.ceil(all.length / 2) + (all.length % 2 === 0 ? 1 : 0))
  })

  it("an unknown channel's clicks are 404", async () => {
    expect((await api.request("GET", "/v1/channels/999000999/clicks")).status).toBe(404)
  })

  it("attribution ties a click to a message, once; the same click for another message is 409", async () => {
    const first = await send("16505557301")
    const second = await send("16505557302")
    await db.run(recordClick(PHONE, "attr-click", T0))
    const r = await api.request("POST", "/v1/clicks/attr-click/attribution", { body: { messageId: first } })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ id: first, clicks: ["attr-click"] })
    expect((await channelClicks()).find((c) => c.clickId === "attr-click")?.messageId).toBe(first)

    const eventsBefore = (await api.request("GET", `/v1/messages/${first}/events`)).json.events.length
    expect((await api.request("POST", "/v1/clicks/attr-click/attribution", { body: { messageId: first } })).status).toBe(200)
    expect((await api.request("GET", `/v1/messages/${first}/events`)).json.events.length).toBe(eventsBefore)

    const conflict = await api.request("POST", "/v1/clicks/attr-click/attribution", { body: { messageId: second } })
    expect(conflict.status).toBe(409)
    expect(conflict.json.error.code).toBe("click_already_attributed")
    expect((await getMessage(second)).clicks).toEqual([])
  })

  it("a click recorded on another channel cannot be tied to this channel's message (409)", async () => {
    const id = await send("16505557303")
    await db.run(recordClick(OTHER_PHONE, "elsewhere-click", T0))
    const r = await api.request("POST", "/v1/clicks/elsewhere-click/attribution", { body: { messageId: id } })
    expect(r.status).toBe(409)
    expect(r.json.error.code).toBe("click_on_another_channel")
  })

  it("a click reported before its webhook arrived is tied when the webhook comes", async () => {
    const id = await send("16505557304")
    expect((await api.request("POST", "/v1/clicks/early-click/attribution", { body: { messageId: id } })).status).toBe(200)
    await db.run(recordClick(PHONE, "early-click", T0))
    expect((await channelClicks()).find((c) => c.clickId === "early-click")?.messageId).toBe(id)
  })

  it("attribution to an unknown message is 404; a missing messageId is 400", async () => {
    expect((await api.request("POST", "/v1/clicks/x/attribution", { body: { messageId: "msg_nope" } })).status).toBe(404)
    const bad = await api.request("POST", "/v1/clicks/x/attribution", { body: {} })
    expect(bad.status).toBe(400)
    expect(bad.json.error.details.field).toBe("messageId")
  })
})

describe("a template the MM route refused as not marketing", () => {
  it("is shown on the template, later messages go to the Cloud API, and the operator's category ends it", async () => {
    const put = await api.request("PUT", `/v1/wabas/${WABA}/templates/winter_sale/en`, { body: { category: "MARKETING" } })
    expect(put.status).toBe(200)
    expect(put.json.providerRefusal).toBeNull()
    const first = await api.request("POST", `/v1/channels/${PHONE}/marketing_messages`, { body: templateBody("16505550401", "winter_sale") })
    expect(first.json.route.decided).toBe("marketing_messages")
    const events = await api.request("GET", `/v1/messages/${first.json.messages[0].id}/events`)
    const routedOn = events.json.events.find((e: { type: string }) => e.type === "MessageRequested").data.template.categoryAt

    // What the worker records when Meta answers 131055 "Only marketing template messages are supported".
    const refusedAt = Date.now()
    await db.run(CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(WABA, "winter_sale", "en"), {
      _tag: "RecordRefusedAsNotMarketing",
      wabaId: WABA as Ids.WabaId,
      name: "winter_sale",
      language: "en",
      errorCode: 131055,
      routedOnCategoryAt: routedOn,
      occurredAt: refusedAt,
      at: refusedAt
    }))
    const listed = await api.request("GET", `/v1/wabas/${WABA}/templates?limit=100`)
    const refused = listed.json.items.find((t: { name: string }) => t.name === "winter_sale")
    expect(refused.providerRefusal).toEqual({ reason: "not_a_marketing_template", errorCode: 131055, occurredAt: new Date(refusedAt).toISOString() })
    const second = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550402", "winter_sale") })
    expect(second.status).toBe(202)
    expect(second.json.route.decided).toBe("cloud_api")
    expect(second.json.route.reasons).toContain("template_not_marketing_per_provider")

    // The operator says again that it is MARKETING: a newer category fact ends the refusal.
    const again = await api.request("PUT", `/v1/wabas/${WABA}/templates/winter_sale/en`, { body: { category: "MARKETING" } })
    expect(again.json.providerRefusal).toBeNull()
    const third = await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550403", "winter_sale") })
    expect(third.json.route.decided).toBe("marketing_messages")
  })
})
