import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { WhatsAppAPI } from "whatsapp-api-js"
import { Language, Template } from "whatsapp-api-js/messages"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { bootStack, eventually, expectStatus, postSignedWebhook, type TestStack } from "./support.js"

/**
 * Forwarding through the three real processes (docs/forwarding.md): a tenant's app registers its
 * endpoint, sends through the drop-in path with `whatsapp-api-js`, and receives its statuses and its
 * customers' messages with that SDK's own webhook handler (`post(data, raw, signature)`), which
 * verifies every delivery with the endpoint's secret. Another tenant's endpoint receives nothing of it.
 */

const TENANT = { bm: "940000000000901", waba: "940000000009011", phone: "950000000090111" }
const OTHER = { bm: "940000000000902", waba: "940000000009021", phone: "950000000090211" }
const SECRET = "the-apps-own-webhook-secret-0001"

interface Received {
  readonly deliveryId: string
  readonly raw: string
  readonly signature: string
}

/** The tenant's app: an HTTP server whose every request goes through the SDK's webhook handler. */
const startApp = async (secret: string, options: { readonly failFirst: number } = { failFirst: 0 }) => {
  const sdk = new WhatsAppAPI({ token: "unused-here", appSecret: secret, v: "v25.0" })
  const received: Array<Received> = []
  const statuses: Array<{ id: string; status: string; biz_opaque_callback_data: string | undefined; phone: string | undefined }> = []
  const messages: Array<{ from: string; id: string; text: string | undefined; context: string | undefined }> = []
  const refused: Array<string> = []
  sdk.on.status = ({ id, status, biz_opaque_callback_data, phone }) => void statuses.push({ id, status, biz_opaque_callback_data, phone })
  sdk.on.message = ({ message, from }) =>
    void messages.push({
      from,
      id: message.id,
      text: message.type === "text" ? message.text.body : undefined,
      context: message.context?.id
    })
  let failures = options.failFirst
  const body = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    })
  const server: Server = createServer(async (req, res) => {
    const raw = await body(req)
    const signature = String(req.headers["x-hub-signature-256"] ?? "")
    received.push({ deliveryId: String(req.headers["x-mmgw-delivery-id"] ?? ""), raw, signature })
    if (failures > 0) {
      failures--
      res.writeHead(503).end()
      return
    }
    try {
      await sdk.post(JSON.parse(raw), raw, signature)
      res.writeHead(200).end()
    } catch (error) {
      refused.push(String(error))
      res.writeHead(401).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/whatsapp/webhook`
  return { url, received, statuses, messages, refused, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

let stack: TestStack & { readonly dir: string }
let app: Awaited<ReturnType<typeof startApp>>
let other: Awaited<ReturnType<typeof startApp>>
const keys = { tenant: "", other: "" }
const endpoints = { tenant: "", other: "" }

const asKey = async (key: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, json: text === "" ? null : JSON.parse(text) }
}

beforeAll(async () => {
  stack = await bootStack()
  for (const t of [TENANT, OTHER]) {
    expectStatus(await stack.api("PUT", `/v1/business-managers/${t.bm}`, { name: `BM ${t.bm}` }), 200, "BM")
    expectStatus(await stack.api("PUT", `/v1/wabas/${t.waba}`, { businessManagerId: t.bm }), 200, "WABA")
    expectStatus(await stack.api("PUT", `/v1/channels/${t.phone}`, {
      wabaId: t.waba,
      displayPhoneNumber: `+1 555 ${t.phone.slice(-7)}`,
      provider: "sandbox",
      credentials: { apiKey: `sandbox-${t.phone}` }
    }), 200, "channel")
    expectStatus(await stack.api("PUT", `/v1/wabas/${t.waba}/templates/spring_sale/en`, { category: "MARKETING" }), 200, "template")
    expectStatus(await stack.sandbox("PUT", `/sandbox/numbers/${t.phone}`, { wabaId: t.waba, ownerBusinessId: t.bm }), 200, "sandbox number")
  }
  keys.tenant = expectStatus(await stack.api("POST", "/v1/api-keys", { name: "tenant app", businessManagerIds: [TENANT.bm] }), 201, "key").secret
  keys.other = expectStatus(await stack.api("POST", "/v1/api-keys", { name: "other app", businessManagerIds: [OTHER.bm] }), 201, "key").secret
  app = await startApp(SECRET, { failFirst: 1 })
  other = await startApp("another-tenants-secret-00000001")
  const created = await asKey(keys.tenant, "POST", "/v1/webhook-endpoints", { url: app.url, secret: SECRET, events: ["messages", "statuses"] })
  assert.strictEqual(created.status, 201, JSON.stringify(created.json))
  assert.notProperty(created.json, "secret")
  assert.deepStrictEqual([created.json.businessManagerIds, created.json.events, created.json.state], [[TENANT.bm], ["messages", "statuses"], "active"])
  endpoints.tenant = created.json.id
  endpoints.other = expectStatus(await asKey(keys.other, "POST", "/v1/webhook-endpoints", { url: other.url, secret: "another-tenants-secret-00000001" }), 201, "other endpoint").id
})
afterAll(async () => {
  await stack?.stop()
  await app?.close()
  await other?.close()
})

describe("forwarding to the tenant's own app, received with whatsapp-api-js's webhook handler", () => {
  it("the app's statuses carry the id its send was answered with and its own biz_opaque_callback_data; each verified with the endpoint's secret", async () => {
    const client = new WhatsAppAPI({
      token: keys.tenant,
      v: "v25.0",
      secure: false,
      ponyfill: { fetch: (url, init) => fetch(String(url).replace("https://graph.facebook.com", stack.apiUrl), init) }
    })
    const answer = await client.sendMessage(TENANT.phone, "4917712349001", new Template("spring_sale", new Language("en")), undefined, "crm-order-77")
    const id = (answer as { messages: Array<{ id: string }> }).messages[0]!.id
    assert.match(id, /^msg_/)
    await eventually("sent, delivered and read reached the app", async () =>
      ["sent", "delivered", "read"].every((s) => app.statuses.some((st) => st.id === id && st.status === s)))
    for (const status of app.statuses.filter((s) => s.id === id)) {
      assert.strictEqual(status.biz_opaque_callback_data, "crm-order-77")
      assert.strictEqual(status.phone, "4917712349001")
    }
    assert.deepStrictEqual(app.refused, [], "every delivery verified")
    // Bytes as Meta writes them: ASCII, and signed over exactly what was sent.
    for (const r of app.received) assert.match(r.raw, /^[\x20-\x7e]*$/)
  })

  it("a customer's message (dropped by the gateway itself) reaches the app, its reply context by the app's id", async () => {
    const sentId = app.statuses[0]!.id
    const wamid = expectStatus(await stack.api("GET", `/v1/messages/${sentId}`), 200, "message").wamid as string
    assert.isString(wamid)
    const inbound = {
      object: "whatsapp_business_account",
      entry: [{
        id: TENANT.waba,
        changes: [{
          field: "messages",
          value: {
            messaging_product: "whatsapp",
            metadata: { display_phone_number: "15550090111", phone_number_id: TENANT.phone },
            contacts: [{ profile: { name: "Zoë" }, wa_id: "4917712349001" }],
            messages: [{
              from: "4917712349001",
              id: "wamid.HBgNNDkxNzcxMjM0OTAwMRUCABIYFjNFQjA",
              timestamp: String(Math.floor(Date.now() / 1000)),
              type: "text",
              text: { body: "Grüße — is the sale still on? 👋" },
              context: { from: "15550090111", id: wamid }
            }]
          }
        }]
      }]
    }
    expectStatus(await postSignedWebhook(stack, inbound), 200, "inbound webhook")
    await eventually("the message reached the app", async () => app.messages.length > 0)
    assert.deepStrictEqual(app.messages[0], {
      from: "4917712349001",
      id: "wamid.HBgNNDkxNzcxMjM0OTAwMRUCABIYFjNFQjA",
      text: "Grüße — is the sale still on? 👋",
      context: sentId
    })
    assert.deepStrictEqual(app.refused, [])
  })

  it("a failed attempt is retried under the same delivery id; the log shows it; replay delivers it again", async () => {
    const first = app.received[0]!
    assert.strictEqual(app.received.filter((r) => r.deliveryId === first.deliveryId).length, 2, "503, then delivered")
    const log = expectStatus(await asKey(keys.tenant, "GET", `/v1/webhook-endpoints/${endpoints.tenant}/deliveries?limit=500`), 200, "log")
    const entry = log.items.find((d: { id: string }) => d.id === first.deliveryId)
    assert.deepInclude(entry, { state: "delivered", attempts: 2, lastStatus: 200 })
    assert.isTrue(log.items.every((d: { state: string }) => d.state === "delivered"))
    const before = app.received.length
    assert.deepStrictEqual(expectStatus(await asKey(keys.tenant, "POST", `/v1/webhook-endpoints/${endpoints.tenant}/replay`, { deliveryId: first.deliveryId }), 200, "replay"), { replayed: 1 })
    await eventually("the replay arrived", async () => app.received.length > before)
    assert.strictEqual(app.received.at(-1)!.deliveryId, first.deliveryId)
    const health = expectStatus(await asKey(keys.tenant, "GET", `/v1/webhook-endpoints/${endpoints.tenant}`), 200, "endpoint").health
    assert.deepInclude(health, { pending: 0, failed: 0 })
  })

  it("another tenant receives nothing of it and cannot see its endpoint", async () => {
    assert.deepStrictEqual(other.received, [])
    assert.strictEqual((await asKey(keys.other, "GET", `/v1/webhook-endpoints/${endpoints.tenant}`)).status, 404)
    assert.strictEqual((await asKey(keys.other, "GET", `/v1/webhook-endpoints/${endpoints.tenant}/deliveries`)).status, 404)
    assert.deepStrictEqual((await asKey(keys.other, "GET", "/v1/webhook-endpoints")).json.items.map((e: { id: string }) => e.id), [endpoints.other])
    const all = expectStatus(await stack.api("GET", "/v1/webhook-endpoints"), 200, "admin list").items.map((e: { id: string }) => e.id)
    assert.sameMembers(all, [endpoints.tenant, endpoints.other])
  })

  it("an endpoint URL must be https, or http to an allowed host; a private address is refused; the field is named", async () => {
    for (const url of ["http://crm.example.com/hook", "https://10.0.0.7/hook", "https://169.254.169.254/latest", "ftp://crm.example.com/", "not a url"]) {
      const refused = await asKey(keys.tenant, "POST", "/v1/webhook-endpoints", { url, secret: SECRET })
      assert.strictEqual(refused.status, 400, url)
      assert.strictEqual(refused.json.error.details.field, "url", url)
    }
    const foreign = await asKey(keys.tenant, "POST", "/v1/webhook-endpoints", { url: app.url, secret: SECRET, businessManagerIds: [OTHER.bm] })
    assert.strictEqual(foreign.status, 403)
  })

  it("/metrics shows the outbox and the delivery latency", async () => {
    const response = await fetch(`${stack.apiUrl}/metrics`)
    const text = await response.text()
    assert.match(text, /^mmgw_forward_pending 0$/m)
    assert.match(text, /^mmgw_forward_latency_p50_seconds \d/m)
  })
})
