import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { eventually, ok, PHONE, postSignedWebhook, registerChannel, WABA } from "@mm-gateway/worker-test-stack"
import { type Stack, startStack } from "./support.js"

/**
 * Business-scoped user ids end to end (docs/domain.md#recipients): a message addressed by BSUID goes
 * to the sandbox with `recipient`, its statuses (named by `recipient_user_id`) reach it, and webhooks
 * that name a user by number and BSUID together make an opt-out hold for either.
 */

let stack: Stack

beforeAll(async () => {
  stack = await startStack()
  await registerChannel(stack.api)
  stack.startWorker()
})
afterAll(() => stack.close())

const postSigned = (value: unknown, field: string) =>
  postSignedWebhook(stack.api, { object: "whatsapp_business_account", entry: [{ id: WABA, time: 1_795_953_600, changes: [{ field, value }] }] })

const byBsuid = (recipient: string) => ({ messaging_product: "whatsapp", recipient, type: "template", template: { name: "spring_sale", language: { code: "en" } } })
const metadata = { display_phone_number: "15550100", phone_number_id: PHONE }

describe("BSUID", () => {
  it("a message addressed by BSUID is sent with recipient and followed to read by the statuses that name the BSUID", async () => {
    const bsuid = "US.13491208655302741918"
    const accepted = ok(await stack.api.request("POST", `/v1/channels/${PHONE}/marketing_messages`, byBsuid(bsuid)), "send")
    assert.deepStrictEqual(accepted.route.warnings, ["bsuid_only_no_delivery_optimization"])
    const id = accepted.messages[0].id
    const read = await eventually("read", async () => {
      const m = ok(await stack.api.request("GET", `/v1/messages/${id}`), "message")
      return m.status === "read" && m
    })
    assert.deepStrictEqual([read.to, read.recipient, read.route.observed], [null, bsuid, "marketing_messages"])
  })

  it("a number's opt-out holds for its BSUID once a status names both, and the other way round", async () => {
    const number = "16505558801"
    const bsuid = "BR.5558801"
    await postSigned({
      messaging_product: "whatsapp",
      metadata,
      user_preferences: [{ wa_id: number, detail: "User requested to stop marketing messages", category: "marketing_messages", value: "stop", timestamp: 1_795_953_500 }]
    }, "user_preferences")
    // Before any webhook links them, the BSUID is someone else as far as the gateway knows.
    const before = await stack.api.request("POST", `/v1/channels/${PHONE}/marketing_messages`, byBsuid(bsuid))
    assert.strictEqual(before.status, 202)
    await postSigned({
      messaging_product: "whatsapp",
      metadata,
      statuses: [{ id: "wamid.unknown-to-the-gateway", status: "delivered", timestamp: "1795953550", recipient_id: number, recipient_user_id: bsuid }]
    }, "messages")
    await eventually("the opt-out holds for the BSUID", async () =>
      (await stack.api.request("POST", `/v1/channels/${PHONE}/marketing_messages`, byBsuid(bsuid))).status === 422)
    const refused = await stack.api.request("POST", `/v1/channels/${PHONE}/marketing_messages`, byBsuid(bsuid))
    assert.deepStrictEqual(refused.json.error.details.reasons, ["recipient_opted_out"])

    // A stop named by BSUID alone, and contacts that link it to a number later: the number is stopped too.
    const other = "16505558802"
    const otherBsuid = "BR.5558802"
    await postSigned({
      messaging_product: "whatsapp",
      metadata,
      user_preferences: [{ user_id: otherBsuid, category: "marketing_messages", value: "stop", timestamp: 1_795_953_500 }]
    }, "user_preferences")
    await postSigned({
      messaging_product: "whatsapp",
      metadata,
      contacts: [{ profile: { name: "A" }, wa_id: other, user_id: otherBsuid }],
      messages: [{ from: other, from_user_id: otherBsuid, id: "wamid.in-1", timestamp: "1795953560", type: "text", text: { body: "hi" } }]
    }, "messages")
    const template = { messaging_product: "whatsapp", to: other, type: "template", template: { name: "spring_sale", language: { code: "en" } } }
    await eventually("the opt-out holds for the number", async () =>
      (await stack.api.request("POST", `/v1/channels/${PHONE}/marketing_messages`, template)).status === 422)
  })
})
