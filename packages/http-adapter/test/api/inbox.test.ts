import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Backdoor, backdoor, collectPages, D360_SECRET, postWebhook, sign, startApi, type TestApi } from "./support.js"

/** The admin's view of the webhook inbox: quarantined deliveries listed and replayed. */

let api: TestApi
let db: Backdoor
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

beforeAll(async () => {
  api = await startApi()
  db = await backdoor(api)
})
afterAll(async () => {
  await db.close()
  await api.close()
})

/** Stores a delivery through the real webhook path, then quarantines it as the worker would. */
const quarantined = async (body: string | Buffer, reason: string, source: "meta" | "360dialog" = "meta") => {
  const r = source === "meta"
    ? await postWebhook(api, body, { "x-hub-signature-256": sign(body) })
    : await postWebhook(api, body, { "x-mmgw-webhook-secret": D360_SECRET }, "/webhooks/360dialog")
  expect(r.status).toBe(200)
  const pending = await Effect.runPromise(db.inbox.claimPending(1000, "test#1-a", Date.now(), 1_000))
  const entry = pending.find((e) => Buffer.from(e.body).equals(Buffer.from(body)))
  if (entry === undefined) throw new Error("the delivery answered 200 is not in the inbox")
  await Effect.runPromise(db.inbox.quarantine(entry.id, reason, Date.now()))
  return entry.id
}

describe("GET /v1/webhook-inbox", () => {
  it("lists quarantined deliveries as {id, source, receivedAt, reason, body}", async () => {
    const body = JSON.stringify({ object: "whatsapp_business_account", entry: "not a list" })
    const id = await quarantined(body, "$.entry: expected an array")
    const r = await api.request("GET", "/v1/webhook-inbox?state=quarantined")
    expect(r.status).toBe(200)
    const item = r.json.items.find((i: { id: number }) => i.id === id)
    expect(item).toEqual({
      id,
      source: "meta",
      receivedAt: expect.stringMatching(ISO),
      state: "quarantined",
      reason: "$.entry: expected an array",
      body,
      bodyEncoding: "utf8"
    })
    // Without state= the list is the quarantine too.
    expect((await api.request("GET", "/v1/webhook-inbox")).json.items.map((i: { id: number }) => i.id)).toContain(id)
  })

  it("shows a body that is not UTF-8 as base64, byte for byte", async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3])
    const id = await quarantined(bytes, "$: not JSON", "360dialog")
    const item = (await collectPages(api, "/v1/webhook-inbox", 500)).items.find((i) => i.id === id)
    expect(item).toMatchObject({ source: "360dialog", bodyEncoding: "base64" })
    expect(Buffer.from(item.body, "base64").equals(bytes)).toBe(true)
  })

  it("paginates with limit and cursor", async () => {
    const ids: Array<number> = []
    for (let i = 0; i < 5; i++) ids.push(await quarantined(JSON.stringify({ page: i }), `reason ${i}`))
    const { items, pages } = await collectPages(api, "/v1/webhook-inbox?state=quarantined", 2)
    const listed = items.map((i) => i.id)
    expect(new Set(listed).size).toBe(listed.length)
    for (const id of ids) expect(listed).toContain(id)
    expect(pages).toBeGreaterThanOrEqual(3)
  })

  it("any other state is a 400 naming state", async () => {
    const r = await api.request("GET", "/v1/webhook-inbox?state=pending")
    expect(r.status).toBe(400)
    expect(r.json.error).toMatchObject({ code: "invalid_request", details: { field: "state" } })
  })
})

describe("POST /v1/webhook-inbox/{id}/replay", () => {
  it("puts a quarantined delivery back to pending, once", async () => {
    const id = await quarantined(JSON.stringify({ replay: "me" }), "unknown field")
    const r = await api.request("POST", `/v1/webhook-inbox/${id}/replay`)
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ id, state: "pending", reason: null })
    const entry = await Effect.runPromise(db.inbox.get(id))
    expect(entry?.state).toBe("pending")
    expect((await api.request("GET", "/v1/webhook-inbox")).json.items.map((i: { id: number }) => i.id)).not.toContain(id)
    const again = await api.request("POST", `/v1/webhook-inbox/${id}/replay`)
    expect(again.status).toBe(409)
    expect(again.json.error.code).toBe("not_quarantined")
  })
  it("an unknown id is 404; a non-numeric id is 400", async () => {
    expect((await api.request("POST", "/v1/webhook-inbox/987654321/replay")).status).toBe(404)
    const bad = await api.request("POST", "/v1/webhook-inbox/abc/replay")
    expect(bad.status).toBe(400)
    expect(bad.json.error.details.field).toBe("id")
  })
})

describe("the inbox is the admin's", () => {
  it("a scoped key gets 403 on list and replay", async () => {
    expect((await api.request("PUT", "/v1/business-managers/777", { body: {} })).status).toBe(200)
    const key = (await api.request("POST", "/v1/api-keys", { body: { name: "t", businessManagerIds: ["777"] } })).json.secret
    expect((await api.request("GET", "/v1/webhook-inbox", { token: key })).status).toBe(403)
    expect((await api.request("POST", "/v1/webhook-inbox/1/replay", { token: key })).status).toBe(403)
  })
})
