import { assert, describe, it } from "@effect/vitest"
import type { Sandbox } from "../src/index.js"
import { eventually, graphSend, settled, template, text, withSandbox } from "./support.js"
import type { Receiver } from "./support.js"

const sendMany = async (sandbox: Sandbox, count: number) => {
  const wamids: Array<string> = []
  for (let i = 0; i < count; i++) {
    const to = `49151100${String(1000 + i)}`
    wamids.push((await graphSend(sandbox, template(to, "spring_sale", { biz_opaque_callback_data: `m-${i}` }), "marketing_messages")).body.messages[0].id)
  }
  return wamids
}

const statusesPerPost = (receiver: Receiver) =>
  receiver.posts.map((post) =>
    post.body.entry.flatMap((entry: any) => entry.changes.flatMap((change: any) => change.value.statuses ?? [])).length
  )

describe("webhook signatures", () => {
  it("signs every POST with HMAC-SHA256 of the raw body", () =>
    withSandbox({}, async (sandbox, receiver) => {
      await sendMany(sandbox, 5)
      await settled(sandbox)
      assert.isAbove(receiver.posts.length, 0)
      assert.isTrue(receiver.posts.every((post) => post.signatureValid))
      assert.strictEqual(sandbox.stats().webhooks.statuses, 15)
    }))

  it("a receiver with another secret refuses every POST; the sandbox retries a bounded number of times", () =>
    withSandbox(
      { webhookMaxAttempts: 3, webhookBatchSize: 1000 },
      async (sandbox, receiver) => {
        await graphSend(sandbox, text("4915112340003"))
        await settled(sandbox)
        const stats = sandbox.stats().webhooks
        assert.isTrue(receiver.posts.every((post) => !post.signatureValid))
        assert.strictEqual(stats.delivered, 0)
        assert.isAbove(stats.failed, 0)
        assert.strictEqual(receiver.posts.length, stats.failed * 3)
        assert.strictEqual(stats.retries, stats.failed * 2)
      },
      { secret: "not-the-sandbox-secret" }
    ))
})

describe("webhook delivery", () => {
  it("retries a POST the receiver failed, so nothing is lost", () =>
    withSandbox(
      {},
      async (sandbox, receiver) => {
        const [wamid] = await sendMany(sandbox, 1)
        await settled(sandbox)
        assert.deepStrictEqual(receiver.statusesOf(wamid as string).map((status: any) => status.status).sort(), ["delivered", "read", "sent"])
        assert.isAtLeast(sandbox.stats().webhooks.retries, 2)
        assert.strictEqual(sandbox.stats().webhooks.failed, 0)
      },
      { failFirst: 2 }
    ))

  it("gives up on an unreachable receiver without slowing sends", () =>
    withSandbox({ webhookUrl: "http://127.0.0.1:9/webhooks/meta", webhookMaxAttempts: 2 }, async (sandbox) => {
      const answers = await Promise.all([graphSend(sandbox, text("4915112340123")), graphSend(sandbox, text("4915112340124"))])
      assert.isTrue(answers.every((answer) => answer.status === 200))
      await settled(sandbox)
      assert.isAbove(sandbox.stats().webhooks.failed, 0)
      assert.strictEqual(sandbox.stats().webhooks.delivered, 0)
    }))

  it("batches statuses, never more than the batch size per POST", () =>
    withSandbox({ webhookBatchSize: 4, webhookBatchIntervalMs: 40, webhookLatencyMs: { min: 0, max: 0 } }, async (sandbox, receiver) => {
      // fired together, so their statuses fall due on the same tick
      await Promise.all(Array.from({ length: 10 }, (_, i) => graphSend(sandbox, text(`49151100${2000 + i}`))))
      await settled(sandbox)
      const sizes = statusesPerPost(receiver)
      assert.strictEqual(sizes.reduce((a, b) => a + b, 0), 30)
      assert.isTrue(sizes.every((size) => size <= 4))
      assert.isTrue(sizes.some((size) => size > 1))
      for (const post of receiver.posts) {
        assert.strictEqual(post.body.object, "whatsapp_business_account")
        assert.strictEqual(post.body.entry[0].changes[0].field, "messages")
        assert.strictEqual(post.body.entry[0].changes[0].value.messaging_product, "whatsapp")
      }
    }))

  it("uses the registered WABA id and display number", () =>
    withSandbox({}, async (sandbox, receiver) => {
      sandbox.setNumber("106540352242922", { wabaId: "102290129340398", displayPhoneNumber: "15550783881" })
      await sendMany(sandbox, 1)
      await settled(sandbox)
      const entry = receiver.posts[0]?.body.entry[0]
      assert.strictEqual(entry.id, "102290129340398")
      assert.deepStrictEqual(entry.changes[0].value.metadata, {
        display_phone_number: "15550783881",
        phone_number_id: "106540352242922"
      })
    }))
})

describe("random outcomes", () => {
  it("failureRate 1 fails every unscripted message with 131026 after sent; scripted numbers stay exact", () =>
    withSandbox({ failureRate: 1 }, async (sandbox, receiver) => {
      const [wamid] = await sendMany(sandbox, 1)
      const scripted = (await graphSend(sandbox, template("4915112340003"))).body.messages[0].id
      await settled(sandbox)
      const statuses = receiver.statusesOf(wamid as string)
      assert.deepStrictEqual(statuses.map((status: any) => status.status), ["sent", "failed"])
      assert.strictEqual(statuses[1].errors[0].code, 131026)
      assert.deepStrictEqual(receiver.statusesOf(scripted).map((status: any) => status.status), ["sent", "delivered"])
    }))

  it("clickRate 1 follows every read with a click", () =>
    withSandbox({ clickRate: 1 }, async (sandbox, receiver) => {
      await sendMany(sandbox, 3)
      await settled(sandbox)
      assert.strictEqual(receiver.userActions().length, 3)
      assert.strictEqual(sandbox.stats().webhooks.userActions, 3)
    }))

  it("repeats a run exactly for the same seed and differs for another", async () => {
    const run = (seed: number) =>
      withSandbox({ seed, failureRate: 0.5, clickRate: 0.5 }, async (sandbox, receiver) => {
        const wamids = await sendMany(sandbox, 12)
        await settled(sandbox)
        return wamids.map((wamid) => ({
          wamid,
          statuses: receiver.statusesOf(wamid).map((status: any) => status.status),
          clicks: receiver.userActions().length
        }))
      })
    const first = await run(11)
    const again = await run(11)
    const other = await run(12)
    assert.deepStrictEqual(again, first)
    assert.notDeepEqual(other.map((m) => m.wamid), first.map((m) => m.wamid))
    const outcomes = new Set(first.map((m) => m.statuses.join(">")))
    assert.isTrue(outcomes.size > 1, "a failure rate of 0.5 mixes outcomes")
  })
})

describe("timestamps", () => {
  it("come from the sandbox clock, as unix seconds", () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0)
    return withSandbox({ clock: () => now, webhookLatencyMs: { min: 0, max: 0 } }, async (sandbox, receiver) => {
      await sendMany(sandbox, 1)
      await eventually(() => receiver.statuses().length === 3, "three statuses")
      assert.isTrue(receiver.statuses().every((status: any) => status.timestamp === String(now / 1000)))
    })
  })
})
