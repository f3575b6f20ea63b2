import fc from "fast-check"
import { assert, describe, it } from "vitest"
import { makeSlidingWindowLimiter } from "../src/rate-limiter.js"

const NUM_RUNS = Number(process.env["FC_NUM_RUNS"] ?? 200)

/** Grants starts for requests arriving at `arrivals` (each waits for its slot), as the dispatcher's pump does. */
const grant = (limit: number, windowMs: number, arrivals: ReadonlyArray<number>, changeAt?: { readonly index: number; readonly limit: number }) => {
  const limiter = makeSlidingWindowLimiter(limit, windowMs)
  const starts: Array<{ readonly at: number; readonly limit: number }> = []
  let clock = 0
  arrivals.forEach((arrival, i) => {
    if (changeAt !== undefined && i === changeAt.index) limiter.setLimit(changeAt.limit)
    clock = Math.max(clock, arrival)
    clock = limiter.nextSlot(clock)
    limiter.record(clock)
    starts.push({ at: clock, limit: limiter.limit() })
  })
  return starts
}

/** The most starts in any window [t, t + windowMs) that begins at a start (the worst windows do). */
const busiest = (starts: ReadonlyArray<number>, windowMs: number) => {
  let most = 0
  for (let i = 0; i < starts.length; i++) {
    let n = 0
    for (let j = i; j < starts.length && starts[j]! < starts[i]! + windowMs; j++) n++
    most = Math.max(most, n)
  }
  return most
}

const arrivals = fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 300 }).map((xs) => [...xs].sort((a, b) => a - b))

describe("sliding-window rate limiter", () => {
  it("never grants more than the limit in any window, whatever the arrivals", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 1_500 }), arrivals, (limit, windowMs, times) => {
        const starts = grant(limit, windowMs, times).map((s) => s.at)
        assert.isAtMost(busiest(starts, windowMs), limit)
        // Nothing waits without reason: a start is never earlier than its request, and the first `limit` go at once.
        starts.forEach((at, i) => assert.isAtLeast(at, times[i]!))
        for (let i = 0; i < Math.min(limit, times.length); i++) assert.strictEqual(starts[i], times[i])
      }),
      { numRuns: NUM_RUNS }
    ))

  it("after a change of limit, windows that start after the change hold at most the new limit", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), arrivals, fc.nat(), (before, after, times, k) => {
        const index = k % times.length
        const starts = grant(before, 1_000, times, { index, limit: after })
        const later = starts.slice(index).map((s) => s.at)
        assert.isAtMost(busiest(later, 1_000), Math.max(before, after))
        const changedAt = starts[index]!.at
        const settled = later.filter((t) => t >= changedAt + 1_000)
        assert.isAtMost(busiest(settled, 1_000), after)
      }),
      { numRuns: NUM_RUNS }
    ))

  it("a backlog goes out at the full rate: limit starts per window, window after window", () => {
    const starts = grant(80, 1_030, Array.from({ length: 800 }, () => 0)).map((s) => s.at)
    assert.strictEqual(starts.filter((t) => t === 0).length, 80)
    assert.strictEqual(starts[starts.length - 1], 9 * 1_030)
  })
})
