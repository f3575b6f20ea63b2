import { CommandHandler, type Ids, Streams } from "@mm-gateway/domain"
import { type Sandbox, startSandbox } from "@mm-gateway/sandbox"
import { createServer, request as httpRequest } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Backdoor, backdoor, seed, startApi, type TestApi, templateBody } from "./support.js"

/**
 * The drop-in send path (docs/api.md#the-drop-in-send-path): Graph style with a bearer token on
 * `/{version}/{phone-number-id}/…` and `/{phone-number-id}/…`, 360dialog style with `D360-API-KEY` on
 * `/messages` and `/marketing_messages`. The body is validated and routed as on `/v1`; the answer is
 * the Cloud API's shape, every error Graph's envelope.
 */

let api: TestApi
let db: Backdoor
let sandbox: Sandbox
/** A port nothing listens on: taken, then let go. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
const ONBOARDED = { bm: "820000000000001", waba: "820000000000002", phone: "820000000000003" }
const PENDING = { bm: "820000000000001", waba: "820000000000012", phone: "820000000000013" }
const SUSPENDED = { bm: "820000000000001", waba: "820000000000022", phone: "820000000000023" }
const OTHER = { bm: "830000000000001", waba: "830000000000002", phone: "830000000000003" }
/** A channel of the tenant's on Meta itself (unreachable here). */
const META = { phone: "820000000000033" }
/** One of the tenant's on 360dialog (the sandbox in 360dialog's style). */
const D360 = { phone: "820000000000043" }
/** A key for the tenant's Business Manager, one for its onboarded channel only, one for the other tenant. */
const keys = { tenant: "", channel: "", other: "", twoChannels: "" }

const createKey = async (body: Record<string, unknown>) => {
  const r = await api.request("POST", "/v1/api-keys", { body: { name: "drop-in", ...body } })
  expect(r.status).toBe(201)
  return r.json.secret as string
}

beforeAll(async () => {
  // Status updates are relayed to the sandbox (channels with provider "sandbox"); Graph itself is a closed port.
  sandbox = await startSandbox({ port: 0, webhookUrl: "http://127.0.0.1:9/unused", seed: 11 })
  api = await startApi({ MMGW_SANDBOX_URL: sandbox.url, MMGW_360DIALOG_BASE_URL: sandbox.url, MMGW_GRAPH_BASE_URL: `http://127.0.0.1:${await closedPort()}` })
  db = await backdoor(api)
  for (const ids of [ONBOARDED, PENDING, SUSPENDED, OTHER]) await seed(api, ids)
  for (const [waba, status] of [[ONBOARDED.waba, "onboarded"], [SUSPENDED.waba, "suspended"]] as const) {
    expect((await api.request("POST", `/v1/wabas/${waba}/mm-api-status`, { body: { status, reason: "operator" } })).status).toBe(200)
  }
  keys.tenant = await createKey({ businessManagerIds: [ONBOARDED.bm] })
  keys.channel = await createKey({ channelIds: [ONBOARDED.phone] })
  keys.other = await createKey({ businessManagerIds: [OTHER.bm] })
  keys.twoChannels = await createKey({ channelIds: [ONBOARDED.phone, PENDING.phone] })
})
afterAll(async () => {
  await db.close()
  await api.close()
  await sandbox.close()
})

const graph = (path: string, body: unknown, token: string | null = keys.tenant, headers: Record<string, string> = {}) =>
  api.request("POST", path, { token, body, headers })
const dialog = (path: "/messages" | "/marketing_messages", body: unknown, key: string | null, headers: Record<string, string> = {}) =>
  api.request("POST", path, { token: null, body, headers: key === null ? headers : { ...headers, "d360-api-key": key } })

const text = (to: string) => ({ messaging_product: "whatsapp", recipient_type: "individual", to, type: "text", text: { body: "hello" } })

/** Graph's envelope: a message, a type, a numeric code and a trace id; `error_data.details` when there are details. */
const expectGraphError = (r: Awaited<ReturnType<TestApi["request"]>>, status: number, code: number) => {
  expect([r.status, r.json?.error?.code]).toEqual([status, code])
  expect(Object.keys(r.json)).toEqual(["error"])
  expect(["OAuthException", "GraphMethodException"]).toContain(r.json.error.type)
  expect(r.json.error.message).toBeTypeOf("string")
  expect(r.json.error.fbtrace_id).toMatch(/^A[A-Za-z0-9_-]{10,}$/)
  return r.json.error as { message: string; type: string; code: number; error_subcode?: number; error_data?: { messaging_product: string; details: string } }
}

describe("the answer is the Cloud API's", () => {
  const paths = (phone: string, endpoint: "messages" | "marketing_messages") => [`/v25.0/${phone}/${endpoint}`, `/v19.0/${phone}/${endpoint}`, `/${phone}/${endpoint}`]

  for (const endpoint of ["messages", "marketing_messages"] as const) {
    it(`a template on ${endpoint}, with and without the version: 200, contacts [{input, wa_id}], messages [{id, message_status: accepted}]`, async () => {
      let n = 0
      for (const path of paths(ONBOARDED.phone, endpoint)) {
        const to = `1650555710${n++}`
        const r = await graph(path, templateBody(to))
        expect([path, r.status]).toEqual([path, 200])
        expect(r.json).toEqual({ messaging_product: "whatsapp", contacts: [{ input: to, wa_id: to }], messages: [{ id: expect.stringMatching(/^msg_[0-9a-f]{32}$/), message_status: "accepted" }] })
        // The id is the gateway's message: the one the client's statuses will carry.
        const message = await api.request("GET", `/v1/messages/${r.json.messages[0].id}`)
        expect(message.json).toMatchObject({ channel: ONBOARDED.phone, to, status: "accepted", route: { decided: "marketing_messages", reasons: ["mm_api_eligible"] } })
      }
    })
  }

  it("a text message has no message_status, as Meta answers; `to` with a leading + is echoed as sent, wa_id its digits", async () => {
    const r = await graph(`/v25.0/${ONBOARDED.phone}/messages`, text("+16505557110"))
    expect(r.status).toBe(200)
    expect(r.json).toEqual({ messaging_product: "whatsapp", contacts: [{ input: "+16505557110", wa_id: "16505557110" }], messages: [{ id: expect.stringMatching(/^msg_/) }] })
    expect((await api.request("GET", `/v1/messages/${r.json.messages[0].id}`)).json).toMatchObject({ to: "16505557110", route: { decided: "cloud_api", reasons: ["not_a_template"] } })
  })

  it("a message addressed by BSUID (recipient, no to): contacts [{input, user_id}] without wa_id, as Meta answers, on both styles", async () => {
    const body = { messaging_product: "whatsapp", recipient: "US.ENT.11815799212886844830", type: "template", template: { name: "spring_sale", language: { code: "en" } } }
    for (const r of [await graph(`/v25.0/${ONBOARDED.phone}/marketing_messages`, body), await dialog("/marketing_messages", body, keys.channel)]) {
      expect(r.status).toBe(200)
      expect(r.json.contacts).toEqual([{ input: "US.ENT.11815799212886844830", user_id: "US.ENT.11815799212886844830" }])
      expect((await api.request("GET", `/v1/messages/${r.json.messages[0].id}`)).json).toMatchObject({
        to: null,
        recipient: "US.ENT.11815799212886844830",
        route: { decided: "marketing_messages", warnings: ["bsuid_only_no_delivery_optimization"] }
      })
    }
  })

  it("the route is the one /v1 decides for the same body", async () => {
    const cases: ReadonlyArray<readonly [{ phone: string }, "messages" | "marketing_messages", Record<string, unknown>]> = [
      [ONBOARDED, "messages", templateBody("16505557120", "order_update")],
      [ONBOARDED, "messages", templateBody("16505557121", "never_recorded")],
      [ONBOARDED, "marketing_messages", templateBody("16505557122", "never_recorded")],
      [PENDING, "messages", templateBody("16505557123")],
      [PENDING, "marketing_messages", templateBody("16505557124")]
    ]
    for (const [ids, endpoint, body] of cases) {
      const viaV1 = await api.request("POST", `/v1/channels/${ids.phone}/${endpoint}`, { body })
      const dropIn = await graph(`/v25.0/${ids.phone}/${endpoint}`, { ...body, to: `${String(body["to"]).slice(0, -2)}99` })
      expect([viaV1.status, dropIn.status]).toEqual([202, 200])
      const message = (await api.request("GET", `/v1/messages/${dropIn.json.messages[0].id}`)).json
      expect({ ...message.route, observed: undefined, rerouted: undefined }).toEqual({ ...viaV1.json.route, observed: undefined, rerouted: undefined })
    }
  })

  it("extra Cloud API fields are kept for the provider, as on /v1", async () => {
    const body = { ...templateBody("16505557130"), biz_opaque_callback_data: "order-7", context: { message_id: "wamid.IN" } }
    const r = await graph(`/${ONBOARDED.phone}/messages`, body)
    expect(r.status).toBe(200)
    const events = (await api.request("GET", `/v1/messages/${r.json.messages[0].id}/events`)).json.events
    expect(events[0].data.payload).toEqual(body)
    expect((await api.request("GET", `/v1/messages/${r.json.messages[0].id}`)).json.bizOpaqueCallbackData).toBe("order-7")
  })

  it("Idempotency-Key and X-Campaign-Id work as on /v1: a repeat answers the same id, another body is Graph's 100", async () => {
    const headers = { "idempotency-key": "drop-in-1", "x-campaign-id": "drop-in-campaign" }
    const first = await graph(`/v25.0/${ONBOARDED.phone}/messages`, templateBody("16505557140"), keys.tenant, headers)
    const again = await graph(`/v25.0/${ONBOARDED.phone}/messages`, templateBody("16505557140"), keys.tenant, headers)
    expect([first.status, again.status]).toEqual([200, 200])
    expect(again.json).toEqual(first.json)
    const other = expectGraphError(await graph(`/v25.0/${ONBOARDED.phone}/messages`, templateBody("16505557141"), keys.tenant, headers), 400, 100)
    expect(other.error_data?.details).toContain("Idempotency-Key")
    expect((await api.request("GET", "/v1/campaigns/drop-in-campaign/stats")).json.funnel.accepted).toBe(1)
  })
})

describe("who may send", () => {
  it("Graph style: the admin token, a key of the channel's Business Manager and a key of the channel", async () => {
    for (const token of [undefined, keys.tenant, keys.channel]) {
      const r = await api.request("POST", `/v25.0/${ONBOARDED.phone}/messages`, { body: templateBody("16505557200"), ...(token === undefined ? {} : { token }) })
      expect(r.status).toBe(200)
    }
  })

  it("a missing, unknown or revoked token is Graph's 401 with code 190", async () => {
    const revoked = await api.request("POST", "/v1/api-keys", { body: { name: "to revoke", businessManagerIds: [ONBOARDED.bm] } })
    expect((await api.request("DELETE", `/v1/api-keys/${revoked.json.id}`)).status).toBe(204)
    for (const token of [null, "", "nope", "mmgw_0000_nope", revoked.json.secret]) {
      const error = expectGraphError(await graph(`/v25.0/${ONBOARDED.phone}/messages`, templateBody("16505557201"), token), 401, 190)
      expect(error.type).toBe("OAuthException")
    }
  })

  it("a channel another tenant owns, one the key does not cover and one that does not exist answer alike: Graph's unknown object", async () => {
    const answers = [
      await graph(`/v25.0/${OTHER.phone}/messages`, templateBody("16505557202"), keys.tenant),
      await graph(`/v25.0/${PENDING.phone}/messages`, templateBody("16505557202"), keys.channel),
      await graph(`/v25.0/${ONBOARDED.phone}/messages`, templateBody("16505557202"), keys.other)
    ]
    const missing = await graph("/v25.0/899999999999999/messages", templateBody("16505557202"), keys.tenant)
    const shape = (r: typeof missing, id: string) => {
      const error = expectGraphError(r, 400, 100)
      return { ...error, message: error.message.replace(id, "<id>"), fbtrace_id: "<trace>" }
    }
    const expected = shape(missing, "899999999999999")
    expect(expected).toMatchObject({ type: "GraphMethodException", error_subcode: 33 })
    expect(expected.message).toContain("Object with ID '<id>' does not exist")
    expect([shape(answers[0]!, OTHER.phone), shape(answers[1]!, PENDING.phone), shape(answers[2]!, ONBOARDED.phone)]).toEqual([expected, expected, expected])
    expect(shape(await graph("/v25.0/not-a-number/messages", templateBody("16505557202")), "…")).toEqual(expected)
  })

  it("360dialog style: a key scoped to one channel sends on it, on /messages and /marketing_messages", async () => {
    const plain = await dialog("/messages", templateBody("16505557210"), keys.channel)
    const marketing = await dialog("/marketing_messages", templateBody("16505557211"), keys.channel)
    expect([plain.status, marketing.status]).toEqual([200, 200])
    expect(marketing.json).toEqual({ messaging_product: "whatsapp", contacts: [{ input: "16505557211", wa_id: "16505557211" }], messages: [{ id: expect.stringMatching(/^msg_/), message_status: "accepted" }] })
    const message = await api.request("GET", `/v1/messages/${plain.json.messages[0].id}`)
    expect(message.json).toMatchObject({ channel: ONBOARDED.phone, route: { decided: "marketing_messages" } })
  })

  it("360dialog style: the admin token, a Business Manager key or a key of two channels is Graph's 403 (10); none or an unknown one 401 (190)", async () => {
    for (const key of ["test-admin-token", keys.tenant, keys.twoChannels]) {
      const error = expectGraphError(await dialog("/messages", templateBody("16505557212"), key), 403, 10)
      expect(error.error_data?.details).toContain("scoped to exactly one channel")
    }
    for (const key of [null, "", "unknown"]) expectGraphError(await dialog("/messages", templateBody("16505557213"), key), 401, 190)
    // A bearer token is not a D360-API-KEY.
    expectGraphError(await api.request("POST", "/messages", { token: keys.channel, body: templateBody("16505557214") }), 401, 190)
  })
})

describe("errors are Graph's envelope", () => {
  const bad: ReadonlyArray<readonly [string, unknown, string]> = [
    ["a non-digit recipient", { ...templateBody("16505557300"), to: "+1 650 555" }, "to"],
    ["a missing recipient", { messaging_product: "whatsapp", type: "text", text: { body: "hi" } }, "to"],
    ["a recipient (BSUID) that is not one", { messaging_product: "whatsapp", type: "text", text: { body: "hi" }, recipient: "us-123" }, "recipient"],
    ["a bad template name", { ...templateBody("16505557301"), template: { name: "Spring Sale", language: { code: "en" } } }, "template.name"],
    ["a bad language code", { ...templateBody("16505557302"), template: { name: "spring_sale", language: { code: "english!" } } }, "template.language.code"],
    ["an unknown message type", { to: "16505557303", type: "carrier_pigeon" }, "type"],
    ["a bad component type", { ...templateBody("16505557304"), template: { name: "x", language: { code: "en" }, components: [{ type: "sidebar" }] } }, "template.components.0.type"],
    ["a text body too long", { to: "16505557305", type: "text", text: { body: "x".repeat(5000) } }, "text.body"]
  ]
  for (const [name, body, field] of bad) {
    it(`${name}: 400, code 100, naming ${field}`, async () => {
      for (const r of [await graph(`/v25.0/${ONBOARDED.phone}/messages`, body), await dialog("/messages", body, keys.channel)]) {
        const error = expectGraphError(r, 400, 100)
        expect(error.message.startsWith(`(#100) Param ${field} `)).toBe(true)
        expect(error.error_data).toEqual({ messaging_product: "whatsapp", details: error.message.slice("(#100) ".length) })
      }
    })
  }

  it("product_policy on /marketing_messages only takes Meta's values", async () => {
    const error = expectGraphError(await graph(`/${ONBOARDED.phone}/marketing_messages`, { ...templateBody("16505557306"), product_policy: "sometimes" }), 400, 100)
    expect(error.message).toContain("Param product_policy ")
  })

  describe("status updates (what SDKs' markAsRead posts to /messages)", () => {
    const read = (messageId: string) => ({ messaging_product: "whatsapp", status: "read", message_id: messageId })

    it("a read receipt or a typing indicator is relayed to the channel's provider on all three paths, its answer the answer", async () => {
      const before = sandbox.stats().statusUpdates.total
      const answers = [
        await graph(`/v25.0/${ONBOARDED.phone}/messages`, read("wamid.DROPIN1")),
        await graph(`/${ONBOARDED.phone}/messages`, { ...read("wamid.DROPIN2"), typing_indicator: { type: "text" } }),
        await dialog("/messages", read("wamid.DROPIN3"), keys.channel)
      ]
      // A channel on 360dialog: relayed in 360dialog's style, with the channel's D360-API-KEY.
      const d360 = await api.request("PUT", `/v1/channels/${D360.phone}`, {
        body: { wabaId: ONBOARDED.waba, displayPhoneNumber: "+1 555 0198", provider: "360dialog", credentials: { apiKey: `sandbox-${D360.phone}` } }
      })
      expect(d360.status).toBe(200)
      answers.push(await graph(`/v25.0/${D360.phone}/messages`, read("wamid.DROPIN6")))
      for (const r of answers) expect([r.status, r.json]).toEqual([200, { success: true }])
      expect(sandbox.stats().requests.byEndpoint["360dialog /messages"]).toBe(1)
      const stats = sandbox.stats().statusUpdates
      expect(stats.total - before).toBe(4)
      expect([stats.byMessageId["wamid.DROPIN1"], stats.byMessageId["wamid.DROPIN2"], stats.byMessageId["wamid.DROPIN3"]]).toEqual([
        { read: 1, typing: 0 },
        { read: 1, typing: 1 },
        { read: 1, typing: 0 }
      ])
    })

    it("a bad one is 100 naming its own field (not that type is missing), and reaches no provider", async () => {
      const before = sandbox.stats().requests.total
      const bad: ReadonlyArray<readonly [unknown, string]> = [
        [{ ...read("wamid.X"), status: "delivered" }, "status"],
        [{ ...read("wamid.X"), message_id: 42 }, "message_id"],
        [{ ...read("wamid.X"), typing_indicator: { type: "audio" } }, "typing_indicator.type"],
        [{ status: "read", message_id: "wamid.X" }, "messaging_product"]
      ]
      for (const [body, field] of bad) {
        for (const r of [await graph(`/v25.0/${ONBOARDED.phone}/messages`, body), await dialog("/messages", body, keys.channel)]) {
          expect(expectGraphError(r, 400, 100).message.startsWith(`(#100) Param ${field} `)).toBe(true)
        }
      }
      // On /marketing_messages it is sent where it belongs.
      const misplaced = expectGraphError(await graph(`/${ONBOARDED.phone}/marketing_messages`, read("wamid.X")), 400, 100)
      expect(misplaced.message).toContain("Param status is a status update")
      expect(misplaced.message).toContain("post it to /messages")
      // A message body with a stray `status` is still checked as a message.
      const error = expectGraphError(await graph(`/v25.0/${ONBOARDED.phone}/messages`, { to: "16505557308", type: "carrier_pigeon", status: "read" }), 400, 100)
      expect(error.message.startsWith("(#100) Param type ")).toBe(true)
      expect(sandbox.stats().requests.total).toBe(before)
    })

    it("the provider's own refusal is relayed as it answered; another tenant's channel is an unknown object, nothing relayed", async () => {
      const refused = await graph(`/v25.0/${ONBOARDED.phone}/messages`, read("not-a-wamid"))
      expect(refused.status).toBe(400)
      expect(refused.json.error.code).toBe(100)
      expect(refused.json.error.error_data.details).toContain("message_id")
      const before = sandbox.stats().requests.total
      expectGraphError(await graph(`/v25.0/${OTHER.phone}/messages`, read("wamid.DROPIN4")), 400, 100)
      expect(sandbox.stats().requests.total).toBe(before)
    })

    it("a provider that cannot be reached is Graph's 2, saying nothing was sent", async () => {
      const r = await api.request("PUT", `/v1/channels/${META.phone}`, {
        body: { wabaId: ONBOARDED.waba, displayPhoneNumber: "+1 555 0199", provider: "meta", credentials: { accessToken: "meta-token-for-the-test" } }
      })
      expect(r.status).toBe(200)
      const error = expectGraphError(await graph(`/v25.0/${META.phone}/messages`, read("wamid.DROPIN5")), 503, 2)
      expect(error.message).toMatch(/^\(#2\) The status update could not be sent to the channel's provider/)
      expect(error.message).not.toContain("meta-token-for-the-test")
      // Counted for the operator, by provider and outcome.
      const metrics = (await api.request("GET", "/metrics")).text
      expect(metrics).toMatch(/^mmgw_status_updates_total\{provider="meta",outcome="not_sent"\} 1$/m)
      expect(metrics).toMatch(/^mmgw_status_updates_total\{provider="sandbox",outcome="200"\} \d+$/m)
    })
  })

  it("malformed JSON, an empty body and a body that is not an object are 100, never a 500", async () => {
    for (const raw of ["{\"to\": ", "", "[1, 2]", "\"text\""]) {
      const r = await api.request("POST", `/v25.0/${ONBOARDED.phone}/messages`, { token: keys.tenant, raw })
      const error = expectGraphError(r, 400, 100)
      expect(error.message).toMatch(/^\(#100\) The request body /)
    }
  })

  it("a body past the JSON bounds is 100 naming where", async () => {
    let deep: unknown = "x"
    for (let i = 0; i < 200; i++) deep = { a: deep }
    const error = expectGraphError(await graph(`/v25.0/${ONBOARDED.phone}/messages`, { ...templateBody("16505557307"), extra: deep }), 400, 100)
    expect(error.message).toContain("Param extra.")
  })

  it("a body declared over the size limit is refused before it is read, in Graph's envelope", async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${api.url}/v25.0/${ONBOARDED.phone}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.tenant}`, "content-type": "application/json", "content-length": String(11 * 1024 * 1024) }
      }, (res) => {
        let body = ""
        res.on("data", (chunk) => (body += chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on("error", reject)
      req.write("{")
    })
    expect(answer.status).toBe(400)
    expect(JSON.parse(answer.body).error).toMatchObject({ code: 100, type: "OAuthException" })
  })

  it("a version segment that is not one is 100 naming the version", async () => {
    const error = expectGraphError(await graph(`/latest/${ONBOARDED.phone}/messages`, templateBody("16505557308")), 400, 100)
    expect(error.message).toContain("Param version ")
  })

  it("the routing policy's refusals are the codes Meta answers for them, with the gateway's reasons in the details; nothing is recorded", async () => {
    const to = "16505557320"
    await db.run(CommandHandler.handleCommand(Streams.RecipientStream, Streams.streamId.recipient(ONBOARDED.waba, to), {
      _tag: "RecordMarketingPreference",
      wabaId: ONBOARDED.waba as Ids.WabaId,
      recipient: to as Ids.RecipientNumber,
      optedOut: true,
      source: "user_preferences",
      occurredAt: Date.now() - 1000,
      at: Date.now()
    }))
    const cases: ReadonlyArray<readonly [string, { phone: string }, "messages" | "marketing_messages", unknown, number, string]> = [
      ["a text on /marketing_messages", ONBOARDED, "marketing_messages", text("16505557321"), 131055, "not_a_marketing_template"],
      ["a utility template on /marketing_messages", ONBOARDED, "marketing_messages", templateBody("16505557322", "order_update"), 131055, "not_a_marketing_template"],
      ["STRICT for a WABA not onboarded", PENDING, "marketing_messages", { ...templateBody("16505557323"), product_policy: "STRICT" }, 131055, "mm_api_not_available"],
      ["a suspended WABA", SUSPENDED, "messages", templateBody("16505557324"), 131031, "waba_suspended"],
      ["a recipient who stopped marketing", ONBOARDED, "messages", templateBody(to), 131050, "recipient_opted_out"]
    ]
    for (const [name, ids, endpoint, body, code, reason] of cases) {
      const error = expectGraphError(await graph(`/v25.0/${ids.phone}/${endpoint}`, body, undefined, { "x-campaign-id": "drop-in-refused" }), 400, code)
      expect([name, error.message.startsWith(`(#${code === 131055 && reason === "mm_api_not_available" ? 200 : code})`)]).toEqual([name, true])
      expect([name, error.error_data?.details]).toEqual([name, expect.stringContaining(`route_rejected: ${reason}`)])
    }
    expect((await api.request("GET", "/v1/campaigns/drop-in-refused/stats")).status).toBe(404)
  })

  it("the /v1 API keeps its own envelope", async () => {
    const r = await api.request("POST", `/v1/channels/${ONBOARDED.phone}/messages`, { body: { ...templateBody("16505557330"), to: "x" } })
    expect([r.status, r.json.error.code, r.json.error.details.field]).toEqual([400, "invalid_request", "to"])
  })
})

describe("the OpenAPI document", () => {
  it("lists the drop-in operations with their security: bearer on the Graph paths, D360-API-KEY on 360dialog's", async () => {
    const spec = (await api.request("GET", "/openapi.json", { token: null })).json
    const security = (path: string) => spec.paths[path].post.security.flatMap((s: Record<string, unknown>) => Object.keys(s))
    expect(security("/{version}/{phoneNumberId}/messages")).toEqual(["bearer"])
    expect(security("/{version}/{phoneNumberId}/marketing_messages")).toEqual(["bearer"])
    expect(security("/{phoneNumberId}/messages")).toEqual(["bearer"])
    expect(security("/{phoneNumberId}/marketing_messages")).toEqual(["bearer"])
    expect(security("/messages")).toEqual(["d360ApiKey"])
    expect(security("/marketing_messages")).toEqual(["d360ApiKey"])
    expect(spec.components.securitySchemes.d360ApiKey).toEqual({ type: "apiKey", name: "D360-API-KEY", in: "header" })
  })

  it("documents Graph's errors for the drop-in paths and the API's own envelope for /v1, neither for the other", async () => {
    const spec = (await api.request("GET", "/openapi.json", { token: null })).json
    const errorSchemas = (path: string) =>
      Object.entries(spec.paths[path].post.responses as Record<string, any>)
        .filter(([status]) => Number(status) >= 400)
        .flatMap(([, r]) => JSON.stringify(r.content?.["application/json"]?.schema ?? {}).match(/[A-Za-z]+(?=")/g) ?? [])
        .filter((name) => /Request|Unauthorized|Forbidden|NotFound|Conflict|Large|Unprocessable/.test(name))
    for (const path of ["/{version}/{phoneNumberId}/messages", "/{phoneNumberId}/marketing_messages", "/messages"]) {
      expect(errorSchemas(path).every((name) => name.startsWith("Graph")), path).toBe(true)
    }
    expect(errorSchemas("/messages")).toEqual(expect.arrayContaining(["GraphBadRequest", "GraphUnauthorized", "GraphForbidden"]))
    const v1 = errorSchemas("/v1/channels/{phoneNumberId}/messages")
    expect(v1).toEqual(expect.arrayContaining(["BadRequest", "Unauthorized", "PayloadTooLarge", "Unprocessable"]))
    expect(v1.some((name) => name.startsWith("Graph"))).toBe(false)
  })
})
