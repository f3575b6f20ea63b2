import { eventually, events, leaseHolder, message, quiet, registerChannel, send } from "@mm-gateway/worker-test-stack"
import { afterEach, assert, describe, it } from "vitest"
import { counting, type Stack, startStack } from "./support.js"

let stack: Stack | null = null
afterEach(async () => {
  await stack?.close()
  stack = null
})

const eventTypes = async (s: Stack, id: string) => (await events(s.api, id)).map((e) => e.type)

describe("one worker at a time (the database lease)", () => {
  it("a second worker waits for the lease and sends nothing; it takes over when the first stops", async () => {
    const s = (stack = await startStack())
    await registerChannel(s.api)
    const a = counting()
    const b = counting()
    // A long lease, so that a slow machine never lets it lapse while A is alive.
    const workerA = s.startWorker({ workerId: "worker-a", leaseTtlMs: 6_000 }, { decorateProvider: a.decorateProvider })
    await eventually("A holds the lease", () => leaseHolder(s.database) === workerA.instance)
    const workerB = s.startWorker({ workerId: "worker-b", leaseTtlMs: 6_000 }, { decorateProvider: b.decorateProvider })
    const first = await send(s.api, "4915112342001")
    await eventually("the first message read", async () => (await message(s.api, first)).status === "read")
    assert.deepStrictEqual([a.counter.sent, b.counter.sent], [1, 0])
    assert.strictEqual(leaseHolder(s.database), workerA.instance)

    await workerA.stop()
    await eventually("B holds the lease", () => leaseHolder(s.database) === workerB.instance)
    const second = await send(s.api, "4915112342002")
    await eventually("the second message read", async () => (await message(s.api, second)).status === "read")
    assert.deepStrictEqual([a.counter.sent, b.counter.sent], [1, 1])
  })
})

describe("a worker id is a name: each process holds the lease under its own instance identity", () => {
  it("two workers given the same worker id: the second waits and sends nothing, then takes over when the first stops", async () => {
    const s = (stack = await startStack())
    await registerChannel(s.api)
    const a = counting()
    const b = counting()
    const first = s.startWorker({ workerId: "twin", leaseTtlMs: 6_000 }, { decorateProvider: a.decorateProvider })
    await eventually("the first holds the lease", () => leaseHolder(s.database) === first.instance)
    const second = s.startWorker({ workerId: "twin", leaseTtlMs: 6_000 }, { decorateProvider: b.decorateProvider })
    assert.notStrictEqual(first.instance, second.instance)
    assert.isTrue([first.instance, second.instance].every((instance) => instance.startsWith("twin#")))
    const ids = [await send(s.api, "4915112342011"), await send(s.api, "4915112342012"), await send(s.api, "4915112342013")]
    for (const id of ids) await eventually(`${id} read`, async () => (await message(s.api, id)).status === "read")
    assert.deepStrictEqual([a.counter.sent, b.counter.sent], [3, 0])

    await first.stop()
    await eventually("the second holds the lease", () => leaseHolder(s.database) === second.instance)
    const later = await send(s.api, "4915112342014")
    await eventually("the later message read", async () => (await message(s.api, later)).status === "read")
    assert.deepStrictEqual([a.counter.sent, b.counter.sent], [3, 1])
  })
})

describe("stopping", () => {
  it("a graceful stop waits for the request in flight and records its answer, then releases the lease", async () => {
    const s = (stack = await startStack({ sandbox: { responseLatencyMs: { min: 2_500, max: 2_500 } } }))
    await registerChannel(s.api)
    const worker = s.startWorker({ workerId: "graceful" })
    const id = await send(s.api, "4915112342003")
    await eventually("the request in flight", async () => (await eventTypes(s, id)).includes("DispatchStarted"))
    await worker.stop()
    assert.include(await eventTypes(s, id), "DispatchSucceeded")
    assert.strictEqual(leaseHolder(s.database), null)
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
