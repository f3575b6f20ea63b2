import { assert, describe, it } from "@effect/vitest"
import { PHONE, graphSend, settled, template, withSandbox } from "./support.js"
import type { Receiver } from "./support.js"
import type { Sandbox } from "../src/index.js"

/** Sends a marketing template to `to`, then a plain one so "no webhooks" can be told from "not yet". */
const sendAndSettle = async (sandbox: Sandbox, to: string, extra: Record<string, unknown> = {}) => {
  const answer = await graphSend(sandbox, template(to, "spring_sale", extra), "marketing_messages")
  await settled(sandbox)
  return answer
}

const statusNames = (receiver: Receiver, wamid: string) => receiver.statusesOf(wamid).map((status: any) => status.status)

describe("scripted recipient numbers", () => {
  it("any other number: sent → delivered → read, echoing biz_opaque_callback_data", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const answer = await sendAndSettle(sandbox, "4915112341234", { biz_opaque_callback_data: "msg-1" })
      const wamid = answer.body.messages[0].id
      const statuses = receiver.statusesOf(wamid)
      assert.deepStrictEqual(statuses.map((status: any) => status.status), ["sent", "delivered", "read"])
      for (const status of statuses) {
        assert.strictEqual(status.biz_opaque_callback_data, "msg-1")
        assert.strictEqual(status.recipient_id, "4915112341234")
        assert.match(status.timestamp, /^\d{10}$/)
        assert.strictEqual(status.metadata.phone_number_id, PHONE)
        assert.strictEqual(status.entryId, sandbox.config.defaultWabaId)
      }
      assert.deepStrictEqual(receiver.userActions(), [])
    }))

  it("0000: accepted with a wamid and no webhooks at all", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const silent = await sendAndSettle(sandbox, "4915112340000")
      assert.strictEqual(silent.status, 200)
      assert.match(silent.body.messages[0].id, /^wamid\./)
      await sendAndSettle(sandbox, "4915112341234")
      assert.isAbove(receiver.statuses().length, 0)
      assert.deepStrictEqual(statusNames(receiver, silent.body.messages[0].id), [])
    }))

  it("0001: a failed webhook with 131049 and no pricing", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const answer = await sendAndSettle(sandbox, "4915112340001")
      const statuses = receiver.statusesOf(answer.body.messages[0].id)
      assert.deepStrictEqual(statuses.map((status: any) => status.status), ["failed"])
      assert.strictEqual(statuses[0].errors[0].code, 131049)
      assert.isString(statuses[0].errors[0].error_data.details)
      assert.isUndefined(statuses[0].pricing)
    }))

  it("0002: a synchronous 400 with 131009 and nothing accepted", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const answer = await sendAndSettle(sandbox, "4915112340002")
      assert.strictEqual(answer.status, 400)
      assert.strictEqual(answer.body.error.code, 131009)
      assert.strictEqual(answer.body.error.message, "(#131009) Parameter value is not valid")
      assert.strictEqual(sandbox.stats().accepted.total, 0)
      assert.strictEqual(receiver.posts.length, 0)
    }))

  it("0003: delivered, never read", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const answer = await sendAndSettle(sandbox, "4915112340003")
      assert.deepStrictEqual(statusNames(receiver, answer.body.messages[0].id), ["sent", "delivered"])
    }))

  it("0004: read without a delivered webhook", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const answer = await sendAndSettle(sandbox, "4915112340004")
      assert.deepStrictEqual(statusNames(receiver, answer.body.messages[0].id), ["sent", "read"])
    }))

  it("0005: read, then a link click", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const answer = await sendAndSettle(sandbox, "4915112340005")
      assert.deepStrictEqual(statusNames(receiver, answer.body.messages[0].id), ["sent", "delivered", "read"])
      const actions = receiver.userActions()
      assert.strictEqual(actions.length, 1)
      assert.strictEqual(actions[0].action_type, "marketing_messages_link_click")
      assert.match(actions[0].timestamp, /^\d{10}$/)
      const data = actions[0].marketing_messages_link_click_data
      assert.include(["CTA", "BODY"], data.click_component)
      assert.match(data.click_id, /^IwAR/)
      assert.match(data.tracking_token, /^AI@/)
      // user actions travel in their own change, after the statuses they follow
      const clickPost = receiver.posts.findIndex((post) => JSON.stringify(post.body).includes("user_actions"))
      const readPost = receiver.posts.findIndex((post) => JSON.stringify(post.body).includes('"read"'))
      assert.isAtLeast(clickPost, readPost)
    }))

  it("0005 through the Cloud API: read, and no click (link click tracking is the MM API's)", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const answer = await graphSend(sandbox, template("4915112340005"), "messages")
      await settled(sandbox)
      assert.deepStrictEqual(statusNames(receiver, answer.body.messages[0].id), ["sent", "delivered", "read"])
      assert.deepStrictEqual(receiver.userActions(), [])
    }))

  it("0429: 130429 twice, then accepted — counted per biz_opaque_callback_data", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const codes: Array<number> = []
      for (let i = 0; i < 3; i++) {
        const answer = await graphSend(sandbox, template("4915112340429", "spring_sale", { biz_opaque_callback_data: "m-429" }), "marketing_messages")
        codes.push(answer.status === 200 ? 200 : answer.body.error.code)
      }
      assert.deepStrictEqual(codes, [130429, 130429, 200])
      // another message to the same recipient has its own count
      const other = await graphSend(sandbox, template("4915112340429", "spring_sale", { biz_opaque_callback_data: "m-429b" }), "marketing_messages")
      assert.strictEqual(other.body.error.code, 130429)
      await settled(sandbox)
      assert.deepStrictEqual(sandbox.stats().byCallbackData["m-429"], { requests: 3, accepted: 1 })
      assert.strictEqual(receiver.statuses().length, 3)
    }))

  it("0429 and 0500 without callback data count per (number, recipient)", () =>
    withSandbox({}, async (sandbox) => {
      const statuses: Array<number> = []
      for (let i = 0; i < 3; i++) statuses.push((await graphSend(sandbox, template("4915112340429"), "marketing_messages")).status)
      for (let i = 0; i < 2; i++) statuses.push((await graphSend(sandbox, template("4915112340500"), "marketing_messages")).status)
      assert.deepStrictEqual(statuses, [400, 400, 200, 500, 200])
    }))

  it("0500: a 500 once, then accepted", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const first = await graphSend(sandbox, template("4915112340500", "spring_sale", { biz_opaque_callback_data: "m-500" }))
      assert.strictEqual(first.status, 500)
      assert.strictEqual(first.body.error.code, 131000)
      const second = await sendAndSettle(sandbox, "4915112340500", { biz_opaque_callback_data: "m-500" })
      assert.strictEqual(second.status, 200)
      assert.deepStrictEqual(statusNames(receiver, second.body.messages[0].id), ["sent", "delivered", "read"])
      assert.deepStrictEqual(sandbox.stats().byCallbackData["m-500"], { requests: 2, accepted: 1 })
    }))

  it("0999: the connection drops without an answer, yet the message is accepted and its webhooks follow", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const outcome = await graphSend(
        sandbox,
        template("4915112340999", "spring_sale", { biz_opaque_callback_data: "m-999" }),
        "marketing_messages"
      ).then(
        () => "answered",
        () => "dropped"
      )
      assert.strictEqual(outcome, "dropped")
      await settled(sandbox)
      const stats = sandbox.stats()
      assert.deepStrictEqual(stats.byCallbackData["m-999"], { requests: 1, accepted: 1 })
      assert.strictEqual(stats.droppedConnections, 1)
      const statuses = receiver.statuses().filter((status: any) => status.biz_opaque_callback_data === "m-999")
      assert.deepStrictEqual(statuses.map((status: any) => status.status), ["sent", "delivered", "read"])
    }))
})

describe("sends by BSUID (recipient instead of to)", () => {
  const BSUID = "US.13491208655302741918"
  const byBsuid = (recipient: string, extra: Record<string, unknown> = {}) => {
    const { to: _to, ...rest } = template("0")
    return { ...rest, recipient, ...extra }
  }

  it("are accepted with contacts [{input, user_id}] (no wa_id), and their statuses name the user by recipient_user_id", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const answer = await graphSend(sandbox, byBsuid(BSUID), "marketing_messages")
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(answer.body.contacts, [{ input: BSUID, user_id: BSUID }])
      await settled(sandbox)
      const statuses = receiver.statusesOf(answer.body.messages[0].id)
      assert.deepStrictEqual(statuses.map((status: any) => status.status), ["sent", "delivered", "read"])
      for (const status of statuses) {
        assert.strictEqual(status.recipient_user_id, BSUID)
        assert.isUndefined(status.recipient_id)
      }
      assert.strictEqual(statuses[0].pricing.category, "marketing_lite")
    }))

  it("with to as well, to wins: the number is echoed and named by the statuses", () =>
    withSandbox({}, async (sandbox, receiver) => {
      const answer = await graphSend(sandbox, byBsuid(BSUID, { to: "+4915112341234" }), "marketing_messages")
      assert.deepStrictEqual(answer.body.contacts, [{ input: "+4915112341234", wa_id: "4915112341234" }])
      await settled(sandbox)
      assert.strictEqual(receiver.statusesOf(answer.body.messages[0].id)[0].recipient_id, "4915112341234")
    }))

  it("the id's last four characters script the outcome as a number's do; a recipient that is not a BSUID is a 400", () =>
    withSandbox({}, async (sandbox) => {
      const scripted = await graphSend(sandbox, byBsuid("US.1349120865530270002"), "marketing_messages")
      assert.deepStrictEqual([scripted.status, scripted.body.error.code], [400, 131009])
      const bad = await graphSend(sandbox, byBsuid("13491208655302741918"), "marketing_messages")
      assert.deepStrictEqual([bad.status, bad.body.error.code], [400, 100])
      assert.match(bad.body.error.error_data.details, /recipient/)
      const none = await graphSend(sandbox, { messaging_product: "whatsapp", type: "text", text: { body: "hi" } })
      assert.deepStrictEqual([none.status, none.body.error.code], [400, 100])
    }))
})
