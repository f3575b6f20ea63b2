import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SandboxServer, sandboxLayer, scopedSandbox } from "../src/index.js"
import { PHONE, dialogSend, graphSend, post, template, text, withSandbox } from "./support.js"

describe("Graph wire style", () => {
  it("accepts a send with any bearer token and answers like Meta", () =>
    withSandbox({}, async (sandbox) => {
      const answer = await graphSend(sandbox, template("+4915112340123"), "marketing_messages")
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.body.messaging_product, "whatsapp")
      // `input` is `to` as sent; `wa_id` the recipient's WhatsApp id.
      assert.deepStrictEqual(answer.body.contacts, [{ input: "+4915112340123", wa_id: "4915112340123" }])
      assert.strictEqual(answer.body.messages.length, 1)
      assert.match(answer.body.messages[0].id, /^wamid\.[A-Za-z0-9+/=]+$/)
      assert.strictEqual(answer.body.messages[0].message_status, "accepted")
    }))

  it("answers message_status for templates only, as Meta does", () =>
    withSandbox({}, async (sandbox) => {
      const answer = await graphSend(sandbox, text("4915112340124"))
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(answer.body.contacts, [{ input: "4915112340124", wa_id: "4915112340124" }])
      assert.deepStrictEqual(Object.keys(answer.body.messages[0]), ["id"])
    }))

  it("takes the path without the version segment too, as Graph does", () =>
    withSandbox({}, async (sandbox) => {
      const headers = { authorization: "Bearer any-token" }
      const plain = await post(`${sandbox.url}/${PHONE}/messages`, headers, text("4915112340125"))
      const marketing = await post(`${sandbox.url}/${PHONE}/marketing_messages`, headers, template("4915112340126"))
      assert.deepStrictEqual([plain.status, marketing.status], [200, 200])
      assert.deepStrictEqual(sandbox.stats().accepted.byEndpoint, { "graph /messages": 1, "graph /marketing_messages": 1 })
      assert.deepStrictEqual(Object.keys(sandbox.stats().perPhoneNumber), [PHONE])
      const missing = await post(`${sandbox.url}/${PHONE}/messages`, {}, text("4915112340127"))
      assert.strictEqual(missing.status, 401)
    }))

  it("answers 401 with a Graph OAuth error when the bearer token is missing", () =>
    withSandbox({}, async (sandbox) => {
      const answer = await post(`${sandbox.url}/v24.0/${PHONE}/messages`, {}, text("4915112340123"))
      assert.strictEqual(answer.status, 401)
      assert.strictEqual(answer.body.error.type, "OAuthException")
      assert.strictEqual(answer.body.error.code, 190)
      assert.isString(answer.body.error.fbtrace_id)
      const empty = await post(`${sandbox.url}/v24.0/${PHONE}/messages`, { authorization: "Bearer " }, text("4915112340123"))
      assert.strictEqual(empty.status, 401)
      assert.strictEqual(sandbox.stats().accepted.total, 0)
    }))

  it("takes read receipts and typing indicators on /messages in both styles, counted by message id, with no webhook", () =>
    withSandbox({}, async (sandbox) => {
      const read = { messaging_product: "whatsapp", status: "read", message_id: "wamid.IN1" }
      const typing = { ...read, message_id: "wamid.IN2", typing_indicator: { type: "text" } }
      for (const answer of [await graphSend(sandbox, read), await dialogSend(sandbox, typing), await post(`${sandbox.url}/${PHONE}/messages`, { authorization: "Bearer t" }, read)]) {
        assert.deepStrictEqual([answer.status, answer.body], [200, { success: true }])
      }
      assert.deepStrictEqual(sandbox.stats().statusUpdates, { total: 3, byMessageId: { "wamid.IN1": { read: 2, typing: 0 }, "wamid.IN2": { read: 1, typing: 1 } } })
      assert.strictEqual(sandbox.stats().accepted.total, 0)
      const bad = [
        [{ ...read, status: "delivered" }, "status"],
        [{ ...read, message_id: "m1" }, "message_id"],
        [{ ...read, typing_indicator: { type: "audio" } }, "typing_indicator.type"],
        [{ status: "read", message_id: "wamid.IN3" }, "messaging_product"]
      ] as const
      for (const [body, field] of bad) {
        const answer = await graphSend(sandbox, body)
        assert.strictEqual(answer.status, 400)
        assert.strictEqual(answer.body.error.code, 100)
        assert.include(answer.body.error.error_data.details, field)
      }
      assert.strictEqual(sandbox.stats().statusUpdates.total, 3)
    }))

  it("gives unique wamids", () =>
    withSandbox({}, async (sandbox) => {
      const ids = new Set<string>()
      for (let i = 0; i < 20; i++) ids.add((await graphSend(sandbox, text("4915112340123"))).body.messages[0].id)
      assert.strictEqual(ids.size, 20)
    }))
})

describe("360dialog wire style", () => {
  it("takes the sending number from the sandbox-<phoneNumberId> key", () =>
    withSandbox({}, async (sandbox) => {
      const answer = await dialogSend(sandbox, template("4915112340123"), "marketing_messages", "123456789")
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.body.messages[0].message_status, "accepted")
      assert.deepStrictEqual(Object.keys(sandbox.stats().perPhoneNumber), ["123456789"])
      assert.strictEqual(sandbox.stats().accepted.byEndpoint["360dialog /marketing_messages"], 1)
    }))

  it("answers 401 to any other key, wrapped in detail on /marketing_messages", () =>
    withSandbox({}, async (sandbox) => {
      const plain = await post(`${sandbox.url}/messages`, { "D360-API-KEY": "live-key" }, text("4915112340123"))
      assert.strictEqual(plain.status, 401)
      assert.strictEqual(plain.body.error.code, 190)
      const wrapped = await post(`${sandbox.url}/marketing_messages`, {}, template("4915112340123"))
      assert.strictEqual(wrapped.status, 401)
      assert.strictEqual(wrapped.body.detail.error.code, 190)
      assert.strictEqual(sandbox.stats().rejected.byCode["190"], 2)
    }))
})

describe("request validation", () => {
  const cases: ReadonlyArray<readonly [string, unknown, number, string]> = [
    ["malformed JSON", "{not json", 100, "not valid JSON"],
    ["no messaging_product", { to: "4915112340123", type: "text", text: { body: "x" } }, 100, "messaging_product"],
    ["wrong messaging_product", { ...text("4915112340123"), messaging_product: "sms" }, 100, "messaging_product"],
    ["no to", { messaging_product: "whatsapp", type: "text", text: { body: "x" } }, 100, "to"],
    ["to with letters", text("49151abc"), 131009, "to"],
    ["unknown type", { ...text("4915112340123"), type: "carrier_pigeon" }, 100, "type"],
    ["type without its object", { messaging_product: "whatsapp", to: "4915112340123", type: "image" }, 100, "image"],
    ["template without name", { ...template("4915112340123"), template: { language: { code: "en" } } }, 100, "template.name"],
    ["template without language", { ...template("4915112340123"), template: { name: "x" } }, 100, "template.language.code"],
    ["unknown product_policy", template("4915112340123", "spring_sale", { product_policy: "MAYBE" }), 100, "product_policy"]
  ]
  for (const [name, body, code, mention] of cases) {
    it(`rejects ${name} with Meta error ${code}`, () =>
      withSandbox({}, async (sandbox) => {
        const answer = await graphSend(sandbox, body)
        assert.strictEqual(answer.status, 400)
        assert.strictEqual(answer.body.error.code, code)
        assert.include(answer.body.error.error_data.details, mention)
        assert.strictEqual(sandbox.stats().accepted.total, 0)
      }))
  }

  it("answers unknown paths with 404", () =>
    withSandbox({}, async (sandbox) => {
      const response = await fetch(`${sandbox.url}/v24.0/${PHONE}/nothing`, { method: "POST" })
      assert.strictEqual(response.status, 404)
      await response.body?.cancel()
    }))
})

describe("scopedSandbox", () => {
  it.effect("fails with SandboxStartError on a bad webhook URL instead of throwing", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.scoped(scopedSandbox({ port: 0, seed: 1, webhookUrl: "not a url" })))
      assert.strictEqual(error._tag, "SandboxStartError")
    }))

  it.effect("starts the sandbox for the scope and closes it after", () =>
    Effect.gen(function* () {
      const url = yield* Effect.scoped(
        Effect.gen(function* () {
          const sandbox = yield* scopedSandbox({ port: 0, seed: 1, webhookUrl: "http://127.0.0.1:9/unused" })
          const response = yield* Effect.promise(() => fetch(`${sandbox.url}/healthz`))
          assert.strictEqual(response.status, 200)
          yield* Effect.promise(() => response.json())
          return sandbox.url
        })
      )
      const after = yield* Effect.promise(() => fetch(`${url}/healthz`).then(() => "open", () => "closed"))
      assert.strictEqual(after, "closed")
    }))
})

layer(sandboxLayer({ port: 0, seed: 3, webhookUrl: "http://127.0.0.1:9/unused" }))("SandboxServer layer", (it) => {
  it.effect("provides the running sandbox", () =>
    Effect.gen(function* () {
      const sandbox = yield* SandboxServer
      const answer = yield* Effect.promise(() => graphSend(sandbox, text("4915112340123")))
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(sandbox.seed, 3)
    }))
})

describe("Graph reads: marketing_messages_onboarding_status (graph-reads.ts)", () => {
  const read = (sandbox: { url: string }, id: string, token = "Bearer any") =>
    fetch(`${sandbox.url}/v25.0/${id}?fields=marketing_messages_onboarding_status`, { headers: token === "" ? {} : { authorization: token } })
      .then(async (r) => ({ status: r.status, body: await r.json() as any }))

  it("answers ONBOARDED for any WABA, and the scripted endings their status; an unreadable id is Graph's error 100", () =>
    withSandbox({}, async (sandbox) => {
      assert.deepStrictEqual(await read(sandbox, "102290129340398"), { status: 200, body: { marketing_messages_onboarding_status: "ONBOARDED", id: "102290129340398" } })
      for (const [id, status] of [["102290129340001", "ELIGIBLE"], ["102290129340002", "INELIGIBLE_COUNTRY_NOT_SUPPORTED"], ["102290129340003", "PENDING_INTERNAL_SETUP"], ["102290129340004", "MM_STATUS_NOT_YET_KNOWN"]]) {
        assert.strictEqual((await read(sandbox, id!)).body.marketing_messages_onboarding_status, status, id)
      }
      const unreadable = await read(sandbox, "102290129340100")
      assert.deepStrictEqual([unreadable.status, unreadable.body.error.code], [400, 100])
      assert.strictEqual((await read(sandbox, "102290129340398", "")).status, 401)
    }))

  it("a business portfolio it knows (an owner of its numbers) answers {status, time}; a WABA with a number not onboarded is ELIGIBLE", () =>
    withSandbox({}, async (sandbox) => {
      sandbox.setNumber("106540352240001", { wabaId: "555000000000011", ownerBusinessId: "271828182845904", onboarded: false })
      sandbox.setNumber("106540352240002", { wabaId: "555000000000012", ownerBusinessId: "271828182840002" })
      assert.deepStrictEqual((await read(sandbox, "271828182845904")).body.marketing_messages_onboarding_status, { status: "TERM_OF_SERVICE_SIGNED", time: "2026-06-30" })
      assert.strictEqual((await read(sandbox, "271828182840002")).body.marketing_messages_onboarding_status.status, "REQUEST_SENT")
      assert.strictEqual((await read(sandbox, "555000000000011")).body.marketing_messages_onboarding_status, "ELIGIBLE")
      assert.strictEqual((await read(sandbox, "555000000000012")).body.marketing_messages_onboarding_status, "ONBOARDED")
    }))
})
