import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { BM, eventually, ok, parkedFor, postSignedWebhook, quiet, registerChannel, statusWebhook, WABA } from "@mm-gateway/worker-test-stack"
import { type Stack, startStack } from "./support.js"

/** The inbox processor: verified webhook bodies the api stored, decoded and applied by the worker. */

let stack: Stack

beforeAll(async () => {
  stack = await startStack()
  await registerChannel(stack.api, { onboarded: false })
  stack.startWorker()
})
afterAll(() => stack.close())

const postSigned = (body: string) => postSignedWebhook(stack.api, body)

const quarantined = async () => ok(await stack.api.request("GET", "/v1/webhook-inbox?state=quarantined"), "quarantine").items as Array<{ id: number; reason: string; body: string }>

describe("webhook inbox", () => {
  it("MM_LITE_TERMS_SIGNED from the provider onboards the WABA", async () => {
    stack.sandbox.onboarding({ wabaId: WABA, ownerBusinessId: BM })
    await eventually("the WABA onboarded", async () => ok(await stack.api.request("GET", `/v1/wabas/${WABA}`), "waba").mmApi.status === "onboarded")
    const waba = ok(await stack.api.request("GET", `/v1/wabas/${WABA}`), "waba")
    assert.strictEqual(waba.mmApi.source, "waba_webhook")
  })

  it("a verified body that cannot be decoded goes to quarantine with the reason; its good parts are applied", async () => {
    const body = JSON.stringify({
      object: "whatsapp_business_account",
      entry: [
        {
          id: WABA,
          time: 1_764_000_100,
          changes: [
            { field: "template_category_update", value: { message_template_name: "seasonal", message_template_language: "en", previous_category: "UTILITY", new_category: "MARKETING" } },
            { field: "template_category_update", value: { message_template_name: "broken", message_template_language: "en", new_category: "PROMO" } }
          ]
        }
      ]
    })
    await postSigned(body)
    const items = await eventually("the body quarantined", async () => {
      const q = await quarantined()
      return q.length === 1 ? q : undefined
    })
    assert.strictEqual(
      items[0]!.reason,
      "$.entry[0].changes[1].value.new_category: expected MARKETING, UTILITY or AUTHENTICATION, got a string of 5 characters"
    )
    assert.strictEqual(items[0]!.body, body)
    const template = ok(await stack.api.request("GET", `/v1/wabas/${WABA}/templates`), "templates").items.find((t: { name: string }) => t.name === "seasonal")
    assert.strictEqual(template?.category, "MARKETING")
  })

  it("a status for a message nobody knows is kept (parked), and the body counts as processed", async () => {
    const body = statusWebhook("wamid.UNKNOWN", "delivered", "1764000200", "4915112349999")
    const before = (await quarantined()).length
    await postSigned(body)
    await eventually("the inbox drained", () => quiet(stack))
    assert.strictEqual((await quarantined()).length, before)
    assert.deepStrictEqual(ok(await stack.api.request("GET", "/v1/messages?wamid=wamid.UNKNOWN"), "lookup").items, [])
    assert.strictEqual(await parkedFor(stack.api, "wamid.UNKNOWN"), 1)
  })
})
