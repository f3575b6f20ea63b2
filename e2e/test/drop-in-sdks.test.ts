import { GraphApiError, WhatsAppClient } from "@kapso/whatsapp-cloud-api"
import { WhatsAppAPI } from "whatsapp-api-js"
import { Language, Template, Text } from "whatsapp-api-js/messages"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { bootStack, eventually, expectStatus, quiet, SECRETS, type TestStack } from "./support.js"

/**
 * The drop-in send path driven by two published Cloud API SDKs nobody here wrote —
 * `@kapso/whatsapp-cloud-api` and `whatsapp-api-js` — against the three real processes. Each SDK is
 * used as its README shows for Meta, changing only the base URL (kapso's `baseUrl`, whatsapp-api-js's
 * `ponyfill.fetch`, which sends Graph's URLs to the gateway instead) and the token (a gateway API key).
 * The SDKs' parsed answers and errors are checked, then that every accepted message reached the
 * sandbox exactly once, on the endpoint of the route the policy decided, and ended read; and that the
 * SDKs' read receipts (`markRead`, `markAsRead`) were relayed to the sandbox, each once.
 */

// Recipients end in digits the sandbox does not script (packages/sandbox/README.md): sent → delivered → read.
const BM = "940000000000801"
const MM = { waba: "940000000008011", phone: "950000000080111" }
const CLOUD = { waba: "940000000008012", phone: "950000000080122" }
const OTHER = { bm: "940000000000802", waba: "940000000008021", phone: "950000000080211" }

let stack: TestStack & { readonly dir: string }
/** A key of the Business Manager (both channels) and one of the MM channel only. */
const keys = { businessManager: "", channel: "" }

/** What each accepted message should be: the route the policy decides, the endpoint the sandbox counts. */
const expected: Array<{ readonly id: string; readonly what: string; readonly route: "marketing_messages" | "cloud_api" }> = []
const sent = (id: string, what: string, route: "marketing_messages" | "cloud_api") => {
  assert.match(id, /^msg_[0-9a-f]{32}$/, what)
  expected.push({ id, what, route })
}

const api = (method: string, path: string, body?: unknown) => stack.api(method, path, body)
const ok = async (method: string, path: string, body: unknown, what: string) => expectStatus(await api(method, path, body), method === "POST" && path === "/v1/api-keys" ? 201 : 200, what)

beforeAll(async () => {
  stack = await bootStack()
  await ok("PUT", `/v1/business-managers/${BM}`, { name: "Acme" }, "BM")
  await ok("PUT", `/v1/business-managers/${OTHER.bm}`, { name: "Globex" }, "other BM")
  for (const [ids, bm] of [[MM, BM], [CLOUD, BM], [OTHER, OTHER.bm]] as const) {
    await ok("PUT", `/v1/wabas/${ids.waba}`, { businessManagerId: bm }, `WABA ${ids.waba}`)
    await ok("PUT", `/v1/channels/${ids.phone}`, {
      wabaId: ids.waba,
      displayPhoneNumber: `+1 555 ${ids.phone.slice(-7)}`,
      provider: "sandbox",
      credentials: { apiKey: `sandbox-${ids.phone}` }
    }, `channel ${ids.phone}`)
    await ok("PUT", `/v1/wabas/${ids.waba}/templates/spring_sale/en`, { category: "MARKETING" }, "template")
    expectStatus(await stack.sandbox("PUT", `/sandbox/numbers/${ids.phone}`, { wabaId: ids.waba, ownerBusinessId: bm }), 200, "sandbox number")
  }
  // The sandbox calls a template named utility_… UTILITY, as the gateway is told here.
  await ok("PUT", `/v1/wabas/${MM.waba}/templates/utility_receipt/en`, { category: "UTILITY" }, "utility template")
  // One WABA accepts the MM API terms (Meta's webhook, played by the sandbox); the other has not.
  expectStatus(await stack.sandbox("POST", "/sandbox/onboarding", { wabaId: MM.waba, ownerBusinessId: BM }), 200, "onboarding")
  await eventually("the WABA onboarded", async () => expectStatus(await api("GET", `/v1/wabas/${MM.waba}`), 200, "WABA").mmApi.status === "onboarded")
  keys.businessManager = (await ok("POST", "/v1/api-keys", { name: "acme app", businessManagerIds: [BM] }, "key")).secret
  keys.channel = (await ok("POST", "/v1/api-keys", { name: "acme number", channelIds: [MM.phone] }, "channel key")).secret
})
afterAll(async () => {
  await stack?.stop()
})

describe("@kapso/whatsapp-cloud-api, with baseUrl set to the gateway", () => {
  const kapso = (accessToken: string) => new WhatsAppClient({ baseUrl: stack.apiUrl, accessToken })
  const template = { name: "spring_sale", language: { code: "en" } }

  it("sends a marketing template: the SDK parses the Cloud API's answer, contacts[].input as sent", async () => {
    const answer = await kapso(keys.businessManager).messages.sendTemplate({ phoneNumberId: MM.phone, to: "+4917712341001", template })
    assert.strictEqual(answer.messagingProduct, "whatsapp")
    assert.deepStrictEqual(answer.contacts, [{ input: "+4917712341001", waId: "4917712341001" }])
    assert.strictEqual(answer.messages.length, 1)
    assert.strictEqual(answer.messages[0]!.messageStatus, "accepted")
    sent(answer.messages[0]!.id, "kapso template on /messages", "marketing_messages")
  })

  it("posts to /marketing_messages through its own request method", async () => {
    const answer = await kapso(keys.businessManager).request<{ messages: Array<{ id: string; messageStatus?: string }>; contacts: Array<{ input: string; waId: string }> }>(
      "POST",
      `${MM.phone}/marketing_messages`,
      { body: { messaging_product: "whatsapp", to: "4917712341002", type: "template", template, product_policy: "STRICT" }, responseType: "json" }
    )
    assert.deepStrictEqual(answer.contacts, [{ input: "4917712341002", waId: "4917712341002" }])
    assert.strictEqual(answer.messages[0]!.messageStatus, "accepted")
    sent(answer.messages[0]!.id, "kapso template on /marketing_messages", "marketing_messages")
  })

  it("sends a text (the Cloud API route; no message_status) and a template for a WABA not onboarded (the Cloud API)", async () => {
    const client = kapso(keys.businessManager)
    const text = await client.messages.sendText({ phoneNumberId: MM.phone, to: "4917712341003", body: "Your order shipped" })
    assert.deepStrictEqual(Object.keys(text.messages[0]!), ["id"])
    sent(text.messages[0]!.id, "kapso text", "cloud_api")
    const fallback = await client.messages.sendTemplate({ phoneNumberId: CLOUD.phone, to: "4917712341004", template })
    assert.strictEqual(fallback.messages[0]!.messageStatus, "accepted")
    sent(fallback.messages[0]!.id, "kapso template, WABA not onboarded", "cloud_api")
  })

  /** The GraphApiError the SDK throws for a call. */
  const refusal = async (call: () => Promise<unknown>): Promise<GraphApiError> => {
    try {
      await call()
    } catch (error) {
      if (error instanceof GraphApiError) return error
      throw error
    }
    throw new Error("the call was not refused")
  }

  it("reads the gateway's refusals as Graph errors: codes, categories and retry hints", async () => {
    const client = kapso(keys.businessManager)
    const notMarketing = await refusal(() =>
      client.request("POST", `${MM.phone}/marketing_messages`, {
        body: { messaging_product: "whatsapp", to: "4917712341005", type: "template", template: { name: "utility_receipt", language: { code: "en" } } },
        responseType: "json"
      }))
    assert.deepStrictEqual([notMarketing.httpStatus, notMarketing.code, notMarketing.type], [400, 131055, "OAuthException"])
    assert.include(notMarketing.details ?? "", "route_rejected: not_a_marketing_template")
    assert.isString(notMarketing.fbtraceId)

    const badName = await refusal(() => client.messages.sendTemplate({ phoneNumberId: MM.phone, to: "4917712341006", template: { name: "Spring Sale", language: { code: "en" } } }))
    assert.deepStrictEqual([badName.httpStatus, badName.code, badName.category], [400, 100, "parameter"])
    assert.match(badName.details ?? "", /^Param template\.name /)

    const otherTenant = await refusal(() => client.messages.sendTemplate({ phoneNumberId: OTHER.phone, to: "4917712341007", template }))
    assert.deepStrictEqual([otherTenant.httpStatus, otherTenant.code, otherTenant.errorSubcode], [400, 100, 33])

    const badToken = await refusal(() => kapso("EAAG-not-a-gateway-key").messages.sendTemplate({ phoneNumberId: MM.phone, to: "4917712341008", template }))
    assert.deepStrictEqual([badToken.httpStatus, badToken.code, badToken.category], [401, 190, "authorization"])
    assert.isTrue(badToken.requiresTokenRefresh())
  })
})

/** Read receipts the SDKs sent (through the gateway to the channel's provider), by the message id they name. */
const readReceipts: Record<string, { readonly read: number; readonly typing: number }> = {}

describe("@kapso/whatsapp-cloud-api: markRead", () => {
  it("marks a received message read, with a typing indicator: relayed to the provider, its answer the SDK's", async () => {
    const client = new WhatsAppClient({ baseUrl: stack.apiUrl, accessToken: keys.businessManager })
    const answer = await client.messages.markRead({ phoneNumberId: MM.phone, messageId: "wamid.KAPSO_INBOUND_1", typingIndicator: { type: "text" } })
    assert.deepStrictEqual(answer, { success: true })
    readReceipts["wamid.KAPSO_INBOUND_1"] = { read: 1, typing: 1 }
  })
})

describe("whatsapp-api-js, with ponyfill.fetch sending Graph's URLs to the gateway", () => {
  const sdk = (token: string) => {
    const client = new WhatsAppAPI({
      token,
      v: "v25.0",
      secure: false,
      ponyfill: { fetch: (url, init) => fetch(String(url).replace("https://graph.facebook.com", stack.apiUrl), init) }
    })
    const onSent: Array<{ id: string | undefined; held: boolean | undefined }> = []
    client.on.sent = ({ id, held_for_quality_assessment }) => void onSent.push({ id, held: held_for_quality_assessment })
    return { client, onSent }
  }

  it("sends a template and a text with a key of the channel; its on.sent gets the ids the answers carry", async () => {
    const { client, onSent } = sdk(keys.channel)
    const template = await client.sendMessage(MM.phone, "4917712341011", new Template("spring_sale", new Language("en")))
    if ("error" in template && template.error !== undefined) throw new Error(JSON.stringify(template))
    assert.strictEqual(template.messaging_product, "whatsapp")
    assert.deepStrictEqual(template.contacts, [{ input: "4917712341011", wa_id: "4917712341011" }])
    assert.strictEqual(template.messages[0].message_status, "accepted")
    sent(template.messages[0].id, "whatsapp-api-js template", "marketing_messages")

    const text = await client.sendMessage(MM.phone, "4917712341012", new Text("Your order shipped"))
    if ("error" in text && text.error !== undefined) throw new Error(JSON.stringify(text))
    assert.notProperty(text.messages[0], "message_status")
    sent(text.messages[0].id, "whatsapp-api-js text", "cloud_api")

    // A template's answer says it is not held for quality assessment; a text's says nothing.
    assert.deepStrictEqual(onSent, [{ id: template.messages[0].id, held: false }, { id: text.messages[0].id, held: undefined }])
  })

  it("marks received messages read (markAsRead), with and without a typing indicator", async () => {
    const { client } = sdk(keys.channel)
    assert.deepStrictEqual(await client.markAsRead(MM.phone, "wamid.WAJS_INBOUND_1"), { success: true })
    assert.deepStrictEqual(await client.markAsRead(MM.phone, "wamid.WAJS_INBOUND_2", "text"), { success: true })
    readReceipts["wamid.WAJS_INBOUND_1"] = { read: 1, typing: 0 }
    readReceipts["wamid.WAJS_INBOUND_2"] = { read: 1, typing: 1 }
  })

  it("gets the gateway's errors as Graph's envelope", async () => {
    const { client } = sdk(keys.channel)
    // The channel key does not cover the other channel of its own Business Manager.
    const outside = await client.sendMessage(CLOUD.phone, "4917712341013", new Template("spring_sale", new Language("en")))
    assert.deepInclude((outside as { error?: unknown }).error, { code: 100, error_subcode: 33, type: "GraphMethodException" })
    const unauthorized = await sdk("not-a-key").client.sendMessage(MM.phone, "4917712341014", new Text("hi"))
    assert.deepInclude((unauthorized as { error?: unknown }).error, { code: 190, type: "OAuthException" })
  })
})

describe("without an SDK: the unversioned Graph path and 360dialog's", () => {
  const post = async (path: string, headers: Record<string, string>, body: unknown) => {
    const response = await fetch(`${stack.apiUrl}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })
    return { status: response.status, json: await response.json() as any }
  }
  const template = (to: string) => ({ messaging_product: "whatsapp", to, type: "template", template: { name: "spring_sale", language: { code: "en" } } })

  it("POST /{phone-number-id}/messages with the admin token, POST /marketing_messages with D360-API-KEY", async () => {
    const unversioned = await post(`/${MM.phone}/messages`, { authorization: `Bearer ${SECRETS.MMGW_ADMIN_TOKEN}` }, template("4917712341021"))
    assert.strictEqual(unversioned.status, 200)
    sent(unversioned.json.messages[0].id, "unversioned Graph path", "marketing_messages")
    const dialog = await post("/marketing_messages", { "D360-API-KEY": keys.channel }, template("4917712341022"))
    assert.strictEqual(dialog.status, 200)
    sent(dialog.json.messages[0].id, "360dialog style", "marketing_messages")
  })
})

describe("what reached the provider", () => {
  const sandboxStats = async () => expectStatus(await stack.sandbox("GET", "/sandbox/stats"), 200, "sandbox stats")
  const messageOf = async (id: string) => expectStatus(await api("GET", `/v1/messages/${id}`), 200, `message ${id}`)

  it("each accepted message reached the sandbox exactly once, on the route the policy decided, and ended read; nothing refused reached it", async () => {
    assert.strictEqual(expected.length, 8)
    await eventually("every message read and every webhook applied", async () => {
      for (const e of expected) if ((await messageOf(e.id)).status !== "read") return false
      return quiet(stack)
    })
    const stats = await sandboxStats()
    for (const e of expected) {
      const m = await messageOf(e.id)
      assert.strictEqual(m.route.decided, e.route, e.what)
      // The sandbox priced it by the endpoint it came to: marketing_lite only on the MM API.
      assert.strictEqual(m.route.observed, e.route, e.what)
      assert.match(m.wamid, /^wamid\./, e.what)
      // The gateway's id goes out as biz_opaque_callback_data: the sandbox counts requests by it.
      assert.deepStrictEqual(stats.byCallbackData[e.id], { requests: 1, accepted: 1 }, e.what)
    }
    const onRoute = (route: string) => expected.filter((e) => e.route === route).length
    assert.deepStrictEqual(stats.accepted.byEndpoint, { "graph /marketing_messages": onRoute("marketing_messages"), "graph /messages": onRoute("cloud_api") })
    // Besides the messages, only the read receipts the SDKs sent, each once.
    assert.deepStrictEqual(stats.statusUpdates, { total: Object.keys(readReceipts).length, byMessageId: readReceipts })
    assert.strictEqual(stats.requests.total, expected.length + stats.statusUpdates.total)
  })
})
