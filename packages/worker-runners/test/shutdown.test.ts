import { eventually, events, leaseHolders, message, quiet, registerChannel, send } from "@mm-gateway/worker-test-stack"
import { afterEach, assert, describe, it } from "vitest"
import { type Stack, startStack } from "./support.js"

let stack: Stack | null = null
afterEach(async () => {
  await stack?.close()
  stack = null
})

const eventTypes = async (s: Stack, id: string) => (await events(s.api, id)).map((e) => e.type)

describe("stopping", () => {
  it("a graceful stop waits for the request in flight and records its answer, then releases every lease", async () => {
    const s = (stack = await startStack({ sandbox: { responseLatencyMs: { min: 2_500, max: 2_500 } } }))
    await registerChannel(s.api)
    const worker = s.startWorker({ workerId: "graceful" })
    const id = await send(s.api, "4915112342003")
    await eventually("the request in flight", async () => (await eventTypes(s, id)).includes("DispatchStarted"))
    await worker.stop()
    assert.include(await eventTypes(s, id), "DispatchSucceeded")
    assert.deepStrictEqual(await leaseHolders(s.api), {})
    assert.deepStrictEqual(s.sandbox.stats().byCallbackData[id], { requests: 1, accepted: 1 })
  })

  it("a stop that cuts the request off (as a crash does) leaves it in flight; the next worker records an unknown outcome, never resends, and the webhook settles it", async () => {
    const s = (stack = await startStack({ sandbox: { responseLatencyMs: { min: 2_500, max: 2_500 } } }))
    await registerChannel(s.api)
    const first = s.startWorker({ workerId: "crashing" })
    const id = await send(s.api, "4915112342004")
    await eventually("the request in flight", async () => s.sandbox.stats().byCallbackData[id]?.requests === 1)
    await first.stop({ graceMs: 0 })
    assert.deepStrictEqual((await eventTypes(s, id)).filter((t) => t.startsWith("Dispatch")), ["DispatchStarted"])

    s.startWorker({ workerId: "restarted" })
    await eventually("the message read", async () => (await quiet(s)) && (await message(s.api, id)).status === "read")
    const all = await events(s.api, id)
    const unknown = all.find((e) => e.type === "DispatchOutcomeUnknown")
    assert.strictEqual(unknown?.data.reason, "request_interrupted")
    assert.strictEqual(all.filter((e) => e.type === "DispatchStarted").length, 1)
    assert.deepStrictEqual(s.sandbox.stats().byCallbackData[id], { requests: 1, accepted: 1 })
  })

  it("an unknown outcome nobody names becomes dispatch_unknown after the window, and the resolution endpoint settles it", async () => {
    const s = (stack = await startStack({ sandbox: { responseLatencyMs: { min: 2_500, max: 2_500 } } }))
    await registerChannel(s.api)
    const first = s.startWorker({ workerId: "crashing" })
    // Silent number: accepted, but no webhook will ever name it.
    const id = await send(s.api, "4915112340000")
    await eventually("the request in flight", async () => s.sandbox.stats().byCallbackData[id]?.requests === 1)
    await first.stop({ graceMs: 0 })
    s.startWorker({ workerId: "restarted", dispatchUnknownAfterMs: 300 })
    await eventually("dispatch_unknown", async () => (await message(s.api, id)).status === "dispatch_unknown")
    // The operator checked with the provider: it has the message, so no resend.
    const resolved = await s.api.request("POST", `/v1/messages/${id}/resolution`, { action: "give_up" })
    assert.strictEqual(resolved.status, 200)
    assert.strictEqual(resolved.json.status, "failed")
    assert.deepStrictEqual(s.sandbox.stats().byCallbackData[id], { requests: 1, accepted: 1 })
  })
})
