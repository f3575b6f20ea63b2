import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { eventually, events, message, ok, PHONE, quiet, registerChannel, send } from "@mm-gateway/worker-test-stack"
import { type Stack, startStack } from "./support.js"

/** The re-route rules (docs/worker.md#re-route-once), against the sandbox's MM semantics over HTTP. */

let stack: Stack

beforeAll(async () => {
  stack = await startStack()
  await registerChannel(stack.api)
  stack.startWorker()
})
afterAll(() => stack.close())

const settled = (id: string, status: string) =>
  eventually(`message ${id} ${status}`, async () => (await quiet(stack)) && (await message(stack.api, id)).status === status, 30_000)

describe("re-routes", () => {
  it("131055 on /marketing_messages (a template the client vouched for, utility at Meta) → once to the Cloud API", async () => {
    // Unknown to the gateway, sent to the explicit MM endpoint: MM route with a warning; the sandbox knows it as UTILITY.
    const id = await send(stack.api, "4915112341001", { template: "utility_receipt", extra: { product_policy: "CLOUD_API_FALLBACK" } })
    assert.deepStrictEqual((await message(stack.api, id)).route.warnings, ["template_category_unverified"])
    await settled(id, "read")
    const m = await message(stack.api, id)
    assert.strictEqual(m.route.decided, "cloud_api")
    assert.deepStrictEqual(m.route.rerouted, [{ from: "marketing_messages", to: "cloud_api", reason: "not_a_marketing_template" }])
    assert.strictEqual(m.route.observed, "cloud_api")
    assert.strictEqual(m.pricing.category, "utility")
    const stats = stack.sandbox.stats()
    assert.deepStrictEqual(stats.byCallbackData[id], { requests: 2, accepted: 1 })
    assert.strictEqual(stats.rejected.byCode["131055"], 1)
    // The second request went to /messages without the MM-only field.
    const started = (await events(stack.api, id)).filter((e) => e.type === "DispatchStarted").map((e) => e.data.route)
    assert.deepStrictEqual(started, ["marketing_messages", "cloud_api"])
  })

  it("131063 on /messages (marketing disabled on the Cloud API) → to the MM API when eligible", async () => {
    stack.sandbox.setNumber(PHONE, { marketingDisabledOnCloudApi: true })
    try {
      // A template the gateway does not know goes to the Cloud API from /messages; the sandbox counts it as MARKETING.
      const id = await send(stack.api, "4915112341002", { endpoint: "messages", template: "new_promo" })
      assert.deepStrictEqual((await message(stack.api, id)).route.reasons, ["template_category_unknown"])
      await settled(id, "read")
      const m = await message(stack.api, id)
      assert.deepStrictEqual(m.route.rerouted, [{ from: "cloud_api", to: "marketing_messages", reason: "marketing_disabled_on_cloud_api" }])
      assert.strictEqual(m.route.observed, "marketing_messages")
      assert.strictEqual(m.pricing.category, "marketing_lite")
      assert.deepStrictEqual(stack.sandbox.stats().byCallbackData[id], { requests: 2, accepted: 1 })
    } finally {
      stack.sandbox.setNumber(PHONE, { marketingDisabledOnCloudApi: false })
    }
  })

  it("131063 for a WABA that is not onboarded is final: no request to the MM API", async () => {
    await registerChannel(stack.api, { phone: "106540352242923", waba: "102290129340311", onboarded: false })
    stack.sandbox.setNumber("106540352242923", { marketingDisabledOnCloudApi: true })
    const id = await send(stack.api, "4915112341003", { endpoint: "messages", phone: "106540352242923" })
    await settled(id, "failed")
    const m = await message(stack.api, id)
    assert.deepStrictEqual(m.errors.map((e: { code: number }) => e.code), [131063])
    assert.deepStrictEqual(m.route.rerouted, [])
    assert.deepStrictEqual(stack.sandbox.stats().byCallbackData[id], { requests: 1, accepted: 0 })
  })

  it("STRICT never re-routes: 131055 is final", async () => {
    const id = await send(stack.api, "4915112341004", { template: "utility_notice", extra: { product_policy: "STRICT" } })
    await settled(id, "failed")
    const m = await message(stack.api, id)
    assert.deepStrictEqual(m.route.rerouted, [])
    assert.deepStrictEqual(stack.sandbox.stats().byCallbackData[id], { requests: 1, accepted: 0 })
  })

  it("terms not accepted (STRICT on a number the provider has not onboarded) marks the WABA not onboarded", async () => {
    await registerChannel(stack.api, { phone: "106540352242924", waba: "102290129340312" })
    stack.sandbox.setNumber("106540352242924", { onboarded: false })
    const id = await send(stack.api, "4915112341005", { phone: "106540352242924", extra: { product_policy: "STRICT" } })
    await settled(id, "failed")
    const waba = ok(await stack.api.request("GET", "/v1/wabas/102290129340312"), "waba")
    assert.deepStrictEqual([waba.mmApi.status, waba.mmApi.source], ["not_onboarded", "provider_error"])
    // From now on the policy itself refuses STRICT for this WABA, before anything is sent.
    const again = await stack.api.request("POST", "/v1/channels/106540352242924/marketing_messages", {
      messaging_product: "whatsapp",
      to: "4915112341006",
      type: "template",
      template: { name: "spring_sale", language: { code: "en" } },
      product_policy: "STRICT"
    })
    assert.strictEqual(again.status, 422)
  })
})
