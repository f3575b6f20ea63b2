import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { eventually, ok, registerChannel, type Stack, startStack } from "./support.js"

/**
 * The per-channel rate is never exceeded as the provider counts it: the sandbox enforces the same
 * rate (a 130429 would show in `rateLimited`) and counts acceptances per number in 1 s windows.
 */

const RATE = 20
const FAST = "106540352242931"
const SLOW = "106540352242932"
const SLOW_RATE = 5

let stack: Stack

beforeAll(async () => {
  stack = await startStack({ sandbox: { rateLimitPerSecond: RATE } })
  await registerChannel(stack.api, { phone: FAST, throughputMps: RATE })
  await registerChannel(stack.api, { phone: SLOW, throughputMps: SLOW_RATE })
})
afterAll(() => stack.close())

const batch = (phone: string, n: number, prefix: string) =>
  stack.api.request("POST", `/v1/channels/${phone}/message-batches`, {
    messages: Array.from({ length: n }, (_, i) => ({
      messaging_product: "whatsapp",
      // Ends in 7: never one of the sandbox's scripted numbers.
      to: `49151${prefix}${String(i).padStart(4, "0")}7`,
      type: "template",
      template: { name: "spring_sale", language: { code: "en" } }
    }))
  })

describe("per-channel rate", () => {
  it(`a backlog is sent at no more than the channel's throughputMps in any second the provider counts`, async () => {
    ok(await batch(FAST, 3 * RATE + 7, "11"), "fast batch")
    ok(await batch(SLOW, 2 * SLOW_RATE + 3, "22"), "slow batch")
    stack.startWorker()
    await eventually("every message of both batches accepted", () => {
      const perNumber = stack.sandbox.stats().perPhoneNumber
      return (perNumber[FAST]?.accepted ?? 0) === 3 * RATE + 7 && (perNumber[SLOW]?.accepted ?? 0) === 2 * SLOW_RATE + 3
    }, 60_000)
    const stats = stack.sandbox.stats()
    assert.strictEqual(stats.rateLimited.total, 0)
    assert.strictEqual(stats.requests.total, 3 * RATE + 7 + 2 * SLOW_RATE + 3)
    const fastWindows = Object.values(stats.perPhoneNumber[FAST]!.acceptedPerSecond)
    const slowWindows = Object.values(stats.perPhoneNumber[SLOW]!.acceptedPerSecond)
    assert.isAtMost(Math.max(...fastWindows), RATE)
    assert.isAtMost(Math.max(...slowWindows), SLOW_RATE)
    // A backlog spans several seconds, so the limit is what spread it (not a lucky burst).
    assert.isAtLeast(fastWindows.length, 4)
  })
})
