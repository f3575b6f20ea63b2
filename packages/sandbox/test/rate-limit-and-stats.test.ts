import { assert, describe, it } from "@effect/vitest"
import { PHONE, dialogSend, graphSend, post, settled, template, text, withSandbox } from "./support.js"

describe("per-number rate limit", () => {
  it("answers 130429 to the request above the limit in the same instant, per number", () => {
    const frozen = Date.UTC(2026, 10, 25, 12, 0, 0)
    return withSandbox({ rateLimitPerSecond: 5, clock: () => frozen }, async (sandbox) => {
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => graphSend(sandbox, text(`49151123401${10 + i}`))))
      const limited = answers.filter((answer) => answer.status !== 200)
      assert.strictEqual(limited.length, 1)
      assert.strictEqual(limited[0]?.status, 400)
      assert.strictEqual(limited[0]?.body.error.code, 130429)
      assert.strictEqual(limited[0]?.body.error.message, "(#130429) Rate limit hit")
      // another number has its own bucket, and the 360dialog style shares the number's bucket
      assert.strictEqual((await graphSend(sandbox, text("4915112340123"), "messages", "999")).status, 200)
      assert.strictEqual((await dialogSend(sandbox, text("4915112340123"))).body.error.code, 130429)
      const stats = sandbox.stats()
      assert.deepStrictEqual(stats.rateLimited, { total: 2, byPhoneNumberId: { [PHONE]: 2 } })
      assert.strictEqual(stats.perPhoneNumber[PHONE]?.acceptedPerSecond[String(frozen / 1000)], 5)
    })
  })

  it("refills with time", () => {
    let now = Date.UTC(2026, 10, 25, 12, 0, 0)
    return withSandbox({ rateLimitPerSecond: 2, clock: () => now }, async (sandbox) => {
      const statuses: Array<number> = []
      for (let i = 0; i < 3; i++) statuses.push((await graphSend(sandbox, text("4915112340123"))).status)
      now += 500
      statuses.push((await graphSend(sandbox, text("4915112340123"))).status)
      statuses.push((await graphSend(sandbox, text("4915112340123"))).status)
      assert.deepStrictEqual(statuses, [200, 200, 400, 200, 400])
      const windows = sandbox.stats().perPhoneNumber[PHONE]?.acceptedPerSecond
      assert.deepStrictEqual(windows, { [String(Math.floor((now - 500) / 1000))]: 3 })
      // the first and the last acceptance, on the sandbox's clock
      assert.strictEqual(sandbox.stats().accepted.firstAt, now - 500)
      assert.strictEqual(sandbox.stats().accepted.lastAt, now)
    })
  })

  it("is lifted by 0", () =>
    withSandbox({ rateLimitPerSecond: 0, clock: () => 0 }, async (sandbox) => {
      const answers = await Promise.all(Array.from({ length: 100 }, () => graphSend(sandbox, text("4915112340123"))))
      assert.isTrue(answers.every((answer) => answer.status === 200))
      assert.strictEqual(sandbox.stats().rateLimited.total, 0)
    }))
})

describe("GET /sandbox/stats and POST /sandbox/reset", () => {
  it("counts requests per endpoint, acceptances, rejections and per callback data", () =>
    withSandbox({}, async (sandbox) => {
      await graphSend(sandbox, template("4915112340123", "spring_sale", { biz_opaque_callback_data: "a" }), "marketing_messages")
      await graphSend(sandbox, template("4915112340123", "utility_x", { biz_opaque_callback_data: "b" }), "marketing_messages")
      await graphSend(sandbox, text("4915112340123"))
      await dialogSend(sandbox, template("4915112340123", "spring_sale", { biz_opaque_callback_data: "a" }), "marketing_messages")
      await dialogSend(sandbox, text("4915112340123"))
      const response = await fetch(`${sandbox.url}/sandbox/stats`)
      const stats: any = await response.json()
      assert.deepStrictEqual(stats.requests, {
        total: 5,
        byEndpoint: {
          "graph /marketing_messages": 2,
          "graph /messages": 1,
          "360dialog /marketing_messages": 1,
          "360dialog /messages": 1
        }
      })
      assert.strictEqual(stats.accepted.total, 4)
      assert.deepStrictEqual(stats.rejected, { total: 1, byCode: { "131055": 1 } })
      assert.deepStrictEqual(stats.byCallbackData, { a: { requests: 2, accepted: 2 }, b: { requests: 1, accepted: 0 } })
      assert.strictEqual(stats.perPhoneNumber[PHONE].accepted, 4)
      assert.isString(stats.since)
      assert.containsAllKeys(stats.webhooks, ["delivered", "failed", "retries", "statuses", "userActions", "pending"])
      const light: any = await (await fetch(`${sandbox.url}/sandbox/stats?byCallbackData=false`)).json()
      assert.deepStrictEqual(light.byCallbackData, {})
      assert.strictEqual(light.accepted.total, 4)
    }))

  it("reset clears the counters and the scripted attempts but keeps numbers and templates", () =>
    withSandbox({}, async (sandbox) => {
      sandbox.setTemplateCategory("spring_sale", "en", "UTILITY")
      assert.strictEqual((await graphSend(sandbox, template("4915112340500"))).status, 500)
      assert.strictEqual((await graphSend(sandbox, template("4915112340500"))).status, 200)
      await settled(sandbox)
      assert.strictEqual((await post(`${sandbox.url}/sandbox/reset`, {}, {})).status, 200)
      const stats = sandbox.stats()
      assert.strictEqual(stats.requests.total, 0)
      assert.strictEqual(stats.accepted.total, 0)
      assert.strictEqual(stats.accepted.firstAt, null)
      assert.strictEqual(stats.accepted.lastAt, null)
      assert.deepStrictEqual(stats.byCallbackData, {})
      assert.deepStrictEqual(stats.perPhoneNumber, {})
      assert.strictEqual(stats.webhooks.delivered, 0)
      assert.strictEqual((await graphSend(sandbox, template("4915112340500"))).status, 500)
      assert.strictEqual((await graphSend(sandbox, template("4915112340123"), "marketing_messages")).body.error.code, 131055)
    }))
})
