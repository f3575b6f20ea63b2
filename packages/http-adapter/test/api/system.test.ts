import { openDatabase } from "@mm-gateway/sqlite-projection"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Backdoor, backdoor, postWebhook, seed, sign, startApi, type TestApi, templateBody } from "./support.js"

/** `/openapi.json`, `/docs`, `/healthz`, `/readyz` and `/metrics`: no bearer token, real answers. */

let api: TestApi
let db: Backdoor
const PHONE = "910000000000003"

beforeAll(async () => {
  api = await startApi()
  db = await backdoor(api)
  await seed(api, { bm: "910000000000001", waba: "910000000000002", phone: PHONE })
})
afterAll(async () => {
  await db.close()
  await api.close()
})

const metrics = async () => {
  const r = await api.request("GET", "/metrics", { token: null })
  expect(r.status).toBe(200)
  expect(r.headers.get("content-type")).toContain("text/plain")
  return r.text
}
const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe("/openapi.json", () => {
  it("documents every endpoint of docs/api.md#endpoints, with the error envelope", async () => {
    const doc = (await api.request("GET", "/openapi.json", { token: null })).json
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).filter((m) => ["get", "put", "post", "delete"].includes(m)).map((m) => `${m.toUpperCase()} ${path}`))
    for (const op of [
      "POST /v1/api-keys", "GET /v1/api-keys", "DELETE /v1/api-keys/{id}",
      "PUT /v1/business-managers/{businessId}", "GET /v1/business-managers/{businessId}",
      "POST /v1/business-managers/{businessId}/onboarding-invitations",
      "PUT /v1/wabas/{wabaId}", "GET /v1/wabas/{wabaId}", "POST /v1/wabas/{wabaId}/mm-api-status", "GET /v1/onboarding",
      "PUT /v1/channels/{phoneNumberId}", "GET /v1/channels/{phoneNumberId}",
      "GET /v1/settings/routing", "PUT /v1/settings/routing",
      "PUT /v1/wabas/{wabaId}/templates/{name}/{language}", "GET /v1/wabas/{wabaId}/templates",
      "POST /v1/wabas/{wabaId}/templates/sync",
      "POST /v1/channels/{phoneNumberId}/messages", "POST /v1/channels/{phoneNumberId}/marketing_messages",
      "POST /v1/channels/{phoneNumberId}/message-batches", "POST /v1/messages/{id}/resolution",
      "GET /v1/messages/{id}", "GET /v1/messages/{id}/events", "GET /v1/messages",
      "GET /v1/campaigns/{campaignId}/stats", "GET /v1/channels/{phoneNumberId}/clicks", "POST /v1/clicks/{clickId}/attribution",
      "GET /v1/webhook-inbox", "POST /v1/webhook-inbox/{id}/replay", "GET /v1/workers",
      "GET /healthz", "GET /readyz", "GET /metrics", "GET /webhooks/meta", "POST /webhooks/meta", "POST /webhooks/360dialog",
      "POST /{version}/{phoneNumberId}/messages", "POST /{version}/{phoneNumberId}/marketing_messages",
      "POST /{phoneNumberId}/messages", "POST /{phoneNumberId}/marketing_messages", "POST /messages", "POST /marketing_messages"
    ]) expect(operations).toContain(op)
    const send = doc.paths["/v1/channels/{phoneNumberId}/messages"].post
    expect(Object.keys(send.responses)).toEqual(expect.arrayContaining(["202", "400", "401", "404", "409", "422"]))
    expect(doc.components.securitySchemes).toHaveProperty("bearer")
  })
  it("gives every operation a summary and a unique operation id", async () => {
    const doc = (await api.request("GET", "/openapi.json", { token: null })).json
    const operations = Object.entries(doc.paths as Record<string, Record<string, { summary?: string; operationId?: string }>>)
      .flatMap(([path, ops]) => Object.entries(ops).filter(([m]) => ["get", "put", "post", "patch", "delete"].includes(m)).map(([m, op]) => ({ at: `${m.toUpperCase()} ${path}`, op })))
    expect(operations.length).toBeGreaterThanOrEqual(40)
    expect(operations.filter(({ op }) => typeof op.summary !== "string" || op.summary.trim().length < 10).map(({ at }) => at)).toEqual([])
    const ids = operations.map(({ op }) => op.operationId)
    expect(new Set(ids).size).toBe(ids.length)
    // The lean webhook path is described beside the handshake the framework serves.
    expect(Object.keys(doc.paths["/webhooks/meta"]).sort()).toEqual(["get", "post"])
    expect(Object.keys(doc.paths["/webhooks/meta"].post.responses)).toEqual(["200", "401", "413", "503"])
  })
  it("and Swagger UI renders it at /docs", async () => {
    const r = await api.request("GET", "/docs", { token: null })
    expect(r.status).toBe(200)
    expect(r.text).toContain("swagger-ui")
  })
})

describe("/readyz", () => {
  it("is 503 in the error envelope while a migration this build knows is missing, ready again once it is there", async () => {
    const main = openDatabase(api.database)
    try {
      const last = main.prepare("SELECT name, timestamp FROM kysely_migration ORDER BY name DESC LIMIT 1").get() as { name: string; timestamp: string }
      main.prepare("DELETE FROM kysely_migration WHERE name = ?").run(last.name)
      const down = await api.request("GET", "/readyz", { token: null })
      expect(down.status).toBe(503)
      expect(down.json.error).toMatchObject({ code: "not_ready", details: { missing: [last.name] } })
      main.prepare("INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)").run(last.name, last.timestamp)
      expect((await api.request("GET", "/readyz", { token: null })).json).toMatchObject({ status: "ready" })
    } finally {
      main.close()
    }
  })
  it("/healthz only says the process answers", async () => {
    expect((await api.request("GET", "/healthz", { token: null })).json).toEqual({ status: "ok" })
  })
})

describe("/metrics", () => {
  it("counts the webhook inbox's pending deliveries (mmgw_webhook_inbox_pending)", async () => {
    const before = sample(await metrics(), "mmgw_webhook_inbox_pending")!
    const bodies = [1, 2, 3].map((n) => JSON.stringify({ object: "whatsapp_business_account", entry: [], n }))
    for (const body of bodies) expect((await postWebhook(api, body, { "x-hub-signature-256": sign(body) })).status).toBe(200)
    expect(sample(await metrics(), "mmgw_webhook_inbox_pending")).toBe(before + 3)
    const [first] = await Effect.runPromise(db.inbox.claimPending(1, "test#1-a", Date.now(), 1_000))
    await Effect.runPromise(db.inbox.markProcessed([first!.id], Date.now()))
    expect(sample(await metrics(), "mmgw_webhook_inbox_pending")).toBe(before + 2)
  })
  it("counts requests by route template and status, webhooks by source and status, and accepted sends", async () => {
    const before = await metrics()
    const accepted = 'mmgw_sends_accepted_total{endpoint="messages",route="cloud_api"}'
    const sendRequests = 'mmgw_http_requests_total{method="POST",route="/v1/channels/:phoneNumberId/messages",status="202"}'
    const rejected = 'mmgw_sends_rejected_total{endpoint="marketing_messages",code="route_rejected"}'
    const unmatched = 'mmgw_http_requests_total{method="GET",route="unmatched",status="404"}'
    const webhook401 = 'mmgw_webhooks_total{source="meta",status="401"}'
    expect((await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550501") })).status).toBe(202)
    expect((await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody("16505550502") })).status).toBe(202)
    expect((await api.request("POST", `/v1/channels/${PHONE}/marketing_messages`, { body: templateBody("16505550503", "order_update") })).status).toBe(422)
    for (const path of ["/no/such/path", "/v1/also-not-here", "/favicon.ico"]) expect((await api.request("GET", path)).status).toBe(404)
    expect((await postWebhook(api, "{}", {})).status).toBe(401)
    const after = await metrics()
    expect((sample(after, accepted) ?? 0) - (sample(before, accepted) ?? 0)).toBe(2)
    expect((sample(after, sendRequests) ?? 0) - (sample(before, sendRequests) ?? 0)).toBe(2)
    expect((sample(after, rejected) ?? 0) - (sample(before, rejected) ?? 0)).toBe(1)
    expect((sample(after, unmatched) ?? 0) - (sample(before, unmatched) ?? 0)).toBe(3)
    expect((sample(after, webhook401) ?? 0) - (sample(before, webhook401) ?? 0)).toBe(1)
    // Only route templates become labels: no path a client made up.
    expect(after).not.toContain("no/such/path")
    for (const name of ["mmgw_http_requests_total", "mmgw_webhooks_total", "mmgw_sends_accepted_total", "mmgw_webhook_inbox_pending"]) {
      expect(after).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge)$`, "m"))
    }
  })
})
