import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { eventually, events, message, ok, quiet, registerChannel, send } from "@mm-gateway/worker-test-stack"
import { type Stack, startStack } from "./support.js"

/**
 * Every scripted number of the sandbox, sent through the api and dispatched by the worker over HTTP,
 * ends in the state the sandbox README documents; the sandbox counts each accepted once.
 */
const SCRIPTS = [
  { to: "4915112340000", status: "submitted", requests: 1, note: "silent: accepted, no webhooks" },
  { to: "4915112340001", status: "failed", requests: 1, errors: [131049], note: "failed webhook 131049" },
  { to: "4915112340002", status: "failed", requests: 1, accepted: 0, errors: [131009], note: "synchronous 400 131009" },
  { to: "4915112340003", status: "delivered", requests: 1, note: "delivered, never read" },
  { to: "4915112340004", status: "read", requests: 1, note: "read without delivered" },
  { to: "4915112340005", status: "read", requests: 1, clicked: true, note: "read, then a link click" },
  { to: "4915112340429", status: "read", requests: 3, note: "130429 twice, then accepted" },
  { to: "4915112340500", status: "read", requests: 2, note: "500 (131000) once, then accepted" },
  { to: "4915112340999", status: "read", requests: 1, unknown: true, note: "connection dropped after the request was read" },
  { to: "4915112341234", status: "read", requests: 1, note: "any other number" }
] as const

let stack: Stack
const ids = new Map<string, string>()

beforeAll(async () => {
  stack = await startStack()
  await registerChannel(stack.api)
  stack.startWorker()
  for (const s of SCRIPTS) ids.set(s.to, await send(stack.api, s.to))
  await eventually("every scripted message settled and every webhook applied", async () => {
    if (!(await quiet(stack))) return false
    for (const s of SCRIPTS) if ((await message(stack.api, ids.get(s.to)!)).status !== s.status) return false
    return true
  }, 60_000)
})
afterAll(() => stack.close())

describe("scripted numbers against the real sandbox", () => {
  for (const s of SCRIPTS) {
    it(`${s.to.slice(-4)} (${s.note}) ends ${s.status}`, async () => {
      const id = ids.get(s.to)!
      const m = await message(stack.api, id)
      assert.strictEqual(m.status, s.status)
      // The gateway's id went out as biz_opaque_callback_data: the sandbox counts the requests and acceptances by it.
      const counted = stack.sandbox.stats().byCallbackData[id]
      assert.deepStrictEqual(counted, { requests: s.requests, accepted: "accepted" in s ? s.accepted : 1 })
      if ("errors" in s) assert.deepStrictEqual(m.errors.map((e: { code: number }) => e.code), [...s.errors])
      if (s.status !== "failed" || s.to.endsWith("0001")) assert.match(m.wamid, /^wamid\./)
      const types = (await events(stack.api, id)).map((e) => e.type)
      assert.strictEqual(types.filter((t) => t === "DispatchStarted").length, s.requests)
      if ("unknown" in s) {
        // Outcome unknown, then the webhook named it: never a second request.
        assert.include(types, "DispatchOutcomeUnknown")
        assert.isBelow(types.indexOf("DispatchOutcomeUnknown"), types.indexOf("StatusObserved"))
      }
      if ("clicked" in s) {
        const clicks = ok(await stack.api.request("GET", `/v1/channels/${m.channel}/clicks`), "clicks")
        assert.strictEqual(clicks.items.length, 1)
      }
    })
  }

  it("131049 starts the recipient's marketing cooldown: the next marketing message to it is refused", async () => {
    const answer = await stack.api.request("POST", `/v1/channels/106540352242922/marketing_messages`, {
      messaging_product: "whatsapp",
      to: "4915112340001",
      type: "template",
      template: { name: "spring_sale", language: { code: "en" } }
    })
    assert.strictEqual(answer.status, 422)
    assert.deepStrictEqual(answer.json.error.details.reasons, ["recipient_marketing_cooldown"])
  })
})
