import { assert, describe, it } from "@effect/vitest"
import { PHONE, dialogSend, eventually, graphSend, post, settled, template, text, withSandbox } from "./support.js"

const NOT_ONBOARDED = "222000222"

const pricingOf = (receiver: { statusesOf: (wamid: string) => Array<any> }, wamid: string) =>
  receiver.statusesOf(wamid).find((status) => status.pricing !== undefined)?.pricing

describe("non-marketing messages on /marketing_messages", () => {
  for (const [name, body] of [
    ["a text message", text("4915112340123")],
    ["a utility_ template", template("4915112340123", "utility_order_update")],
    ["an auth_ template", template("4915112340123", "auth_code")]
  ] as const) {
    it(`answers 131055 to ${name} (Graph style)`, () =>
      withSandbox({}, async (sandbox) => {
        const answer = await graphSend(sandbox, body, "marketing_messages")
        assert.strictEqual(answer.status, 400)
        assert.strictEqual(answer.body.error.code, 131055)
        assert.strictEqual(answer.body.error.message, "(#131055) Method not allowed")
        assert.strictEqual(answer.body.error.error_data.details, "Only marketing template messages are supported")
      }))
  }

  it("wraps 131055 in detail in the 360dialog style", () =>
    withSandbox({}, async (sandbox) => {
      const answer = await dialogSend(sandbox, text("4915112340123"), "marketing_messages")
      assert.strictEqual(answer.status, 400)
      assert.strictEqual(answer.body.detail.error.code, 131055)
      assert.isUndefined(answer.body.error)
    }))

  it("follows the template registry, which overrides the name rule", () =>
    withSandbox({}, async (sandbox) => {
      const put = await fetch(`${sandbox.url}/sandbox/templates/spring_sale/en`, {
        method: "PUT",
        body: JSON.stringify({ category: "UTILITY" })
      })
      assert.strictEqual(put.status, 200)
      const answered = await put.json() as Record<string, unknown>
      assert.deepStrictEqual(answered, { id: answered.id, name: "spring_sale", language: "en", category: "UTILITY", status: "APPROVED", ttlSeconds: null, wabaId: null })
      assert.strictEqual((await graphSend(sandbox, template("4915112340123"), "marketing_messages")).body.error.code, 131055)
      sandbox.setTemplateCategory("utility_but_marketing", "en", "MARKETING")
      assert.strictEqual(
        (await graphSend(sandbox, template("4915112340123", "utility_but_marketing"), "marketing_messages")).status,
        200
      )
      const bad = await fetch(`${sandbox.url}/sandbox/templates/x/en`, { method: "PUT", body: JSON.stringify({ category: "PROMO" }) })
      assert.strictEqual(bad.status, 400)
      await bad.body?.cancel()
    }))
})

describe("pricing categories by route", () => {
  it("bills an onboarded number's marketing template on /marketing_messages as marketing_lite, without conversation", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const wamid = (await graphSend(sandbox, template("4915112340123"), "marketing_messages")).body.messages[0].id
      await settled(sandbox)
      const statuses = receiver.statusesOf(wamid)
      assert.deepStrictEqual(statuses.map((status) => status.status), ["sent", "delivered", "read"])
      for (const status of statuses.slice(0, 2)) {
        assert.deepStrictEqual(status.pricing, { billable: true, pricing_model: "PMP", type: "regular", category: "marketing_lite" })
        assert.isUndefined(status.conversation)
      }
      assert.isUndefined(statuses[2].pricing)
    }))

  it("bills /messages by template category, and non-templates as service", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const marketing = (await graphSend(sandbox, template("4915112340123"))).body.messages[0].id
      const utility = (await graphSend(sandbox, template("4915112340124", "utility_receipt"))).body.messages[0].id
      const auth = (await graphSend(sandbox, template("4915112340125", "auth_otp"))).body.messages[0].id
      const service = (await graphSend(sandbox, text("4915112340126"))).body.messages[0].id
      await settled(sandbox)
      assert.strictEqual(pricingOf(receiver, marketing).category, "marketing")
      assert.strictEqual(pricingOf(receiver, utility).category, "utility")
      assert.strictEqual(pricingOf(receiver, auth).category, "authentication")
      assert.strictEqual(pricingOf(receiver, service).category, "service")
      assert.strictEqual(pricingOf(receiver, service).type, "free_customer_service")
      assert.deepStrictEqual(sandbox.stats().accepted.byPricingCategory, {
        marketing: 1,
        utility: 1,
        authentication: 1,
        service: 1
      })
    }))
})

describe("numbers not onboarded", () => {
  it("refuses STRICT with the terms error, in both styles", () =>
    withSandbox({ notOnboarded: [NOT_ONBOARDED] }, async (sandbox) => {
      const strict = template("4915112340123", "spring_sale", { product_policy: "STRICT" })
      const graph = await graphSend(sandbox, strict, "marketing_messages", NOT_ONBOARDED)
      assert.strictEqual(graph.status, 400)
      assert.strictEqual(graph.body.error.code, 131055)
      assert.strictEqual(graph.body.error.message, "(#200) You must accept the Marketing Messages Lite API terms to use the API.")
      const dialog = await dialogSend(sandbox, strict, "marketing_messages", NOT_ONBOARDED)
      assert.strictEqual(dialog.body.detail.error.code, 131055)
      assert.strictEqual(dialog.body.detail.error.type, "OAuthException")
      assert.strictEqual(sandbox.stats().accepted.total, 0)
    }))

  it("falls back to the Cloud API (pricing marketing) without STRICT", () =>
    withSandbox({ notOnboarded: [NOT_ONBOARDED] }, async (sandbox, receiver) => {
      const answer = await graphSend(sandbox, template("4915112340123"), "marketing_messages", NOT_ONBOARDED)
      assert.strictEqual(answer.status, 200)
      await settled(sandbox)
      assert.strictEqual(pricingOf(receiver, answer.body.messages[0].id).category, "marketing")
      const onboarded = await graphSend(sandbox, template("4915112340123", "spring_sale", { product_policy: "STRICT" }), "marketing_messages", PHONE)
      await settled(sandbox)
      assert.strictEqual(pricingOf(receiver, onboarded.body.messages[0].id).category, "marketing_lite")
    }))
})

describe("marketing templates disabled on the Cloud API (131063)", () => {
  it("answers 131063 to a marketing template on /messages, and to Meta's Cloud API fallback; other messages pass", () =>
    withSandbox({ notOnboarded: [NOT_ONBOARDED] }, async (sandbox) => {
      for (const id of [PHONE, NOT_ONBOARDED]) {
        const put = await fetch(`${sandbox.url}/sandbox/numbers/${id}`, { method: "PUT", body: JSON.stringify({ marketingDisabledOnCloudApi: true }) })
        assert.strictEqual(((await put.json()) as any).marketingDisabledOnCloudApi, true)
      }
      const onMessages = await graphSend(sandbox, template("4915112340123"), "messages")
      assert.deepStrictEqual([onMessages.status, onMessages.body.error.code, onMessages.body.error.message], [
        400,
        131063,
        "(#131063) Marketing templates disabled for Cloud API"
      ])
      assert.strictEqual((await graphSend(sandbox, template("4915112340123"), "marketing_messages")).status, 200)
      assert.strictEqual((await graphSend(sandbox, template("4915112340123", "utility_receipt"), "messages")).status, 200)
      assert.strictEqual((await graphSend(sandbox, text("4915112340123"), "messages")).status, 200)
      const fallback = await graphSend(sandbox, template("4915112340123"), "marketing_messages", NOT_ONBOARDED)
      assert.strictEqual(fallback.body.error.code, 131063)
      const bad = await fetch(`${sandbox.url}/sandbox/numbers/${PHONE}`, { method: "PUT", body: JSON.stringify({ marketingDisabledOnCloudApi: "yes" }) })
      assert.strictEqual(bad.status, 400)
      await bad.body?.cancel()
    }))
})

describe("onboarding control", () => {
  it("onboards a number at run time and emits a WABA-level MM_LITE_TERMS_SIGNED", () =>
    withSandbox({ notOnboarded: [NOT_ONBOARDED] }, async (sandbox, receiver) => {
      const response = await post(`${sandbox.url}/sandbox/onboarding`, {}, {
        phoneNumberId: NOT_ONBOARDED,
        wabaId: "102290129340398",
        ownerBusinessId: "271828182845904"
      })
      assert.deepStrictEqual(response.body, { updated: [NOT_ONBOARDED], webhook: true })
      await eventually(() => receiver.posts.length === 1, "terms webhook")
      const entry = receiver.posts[0]?.body.entry[0]
      assert.strictEqual(entry.id, "102290129340398")
      assert.isNumber(entry.time)
      assert.deepStrictEqual(entry.changes[0], {
        field: "account_update",
        value: {
          event: "MM_LITE_TERMS_SIGNED",
          waba_info: { owner_business_id: "271828182845904", waba_id: "102290129340398" }
        }
      })
      const strict = template("4915112340123", "spring_sale", { product_policy: "STRICT" })
      assert.strictEqual((await graphSend(sandbox, strict, "marketing_messages", NOT_ONBOARDED)).status, 200)
    }))

  it("signs a whole business: business-level webhook, every number registered under it onboarded", () =>
    withSandbox({}, async (sandbox, receiver) => {
      for (const id of ["301", "302"]) {
        const put = await fetch(`${sandbox.url}/sandbox/numbers/${id}`, {
          method: "PUT",
          body: JSON.stringify({ wabaId: "900", ownerBusinessId: "777", displayPhoneNumber: "+15550000301", onboarded: false })
        })
        assert.strictEqual(((await put.json()) as any).onboarded, false)
      }
      const response = await post(`${sandbox.url}/sandbox/onboarding`, {}, { ownerBusinessId: "777" })
      assert.deepStrictEqual(response.body, { updated: ["301", "302"], webhook: true })
      await eventually(() => receiver.posts.length === 1, "terms webhook")
      assert.deepStrictEqual(receiver.posts[0]?.body.entry[0].changes[0].value, {
        event: "MM_LITE_TERMS_SIGNED",
        waba_info: { owner_business_id: "777" }
      })
      assert.isTrue(sandbox.number("302").onboarded)
    }))

  it("can take onboarding away without a webhook, and refuses nonsense", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const off = await post(`${sandbox.url}/sandbox/onboarding`, {}, { phoneNumberId: PHONE, onboarded: false })
      assert.deepStrictEqual(off.body, { updated: [PHONE], webhook: false })
      const strict = template("4915112340123", "spring_sale", { product_policy: "STRICT" })
      assert.strictEqual((await graphSend(sandbox, strict, "marketing_messages")).body.error.code, 131055)
      assert.strictEqual((await post(`${sandbox.url}/sandbox/onboarding`, {}, {})).status, 400)
      assert.strictEqual((await post(`${sandbox.url}/sandbox/onboarding`, {}, { phoneNumberId: PHONE, webhook: true })).status, 400)
      await settled(sandbox)
      assert.strictEqual(receiver.posts.length, 0)
    }))
})
