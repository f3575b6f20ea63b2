import fc from "fast-check"
import { assert, describe, it } from "vitest"
import { makeSlidingWindowLimiter } from "../src/rate-limiter.js"
import { propertySettings } from "@mm-gateway/domain/testing"


interface Request {
  readonly arrival: number
  /** Time from admission to departure (the start being committed, a busy event loop). */
  readonly delay: number
  /** Never leaves (its start was refused). */
  readonly cancelled: boolean
}

/**
 * The dispatcher's pump in simulated time: requests in arrival order wait for admission (looking `lead`
 * ahead); each admitted one is ready to depart (or is cancelled) `delay` later, and departs into the
 * first free place of the window from then. Returns the departure times and the admission times.
 */
const simulate = (
  limit: number,
  windowMs: number,
  requests: ReadonlyArray<Request>,
  change?: { readonly index: number; readonly limit: number },
  lead = 0
) => {
  const limiter = makeSlidingWindowLimiter(limit, windowMs)
  const events: Array<{ readonly at: number; readonly cancelled: boolean }> = []
  const departures: Array<number> = []
  const admissions: Array<number> = []
  const settleUntil = (t: number) => {
    for (;;) {
      events.sort((a, b) => a.at - b.at)
      const e = events[0]
      if (e === undefined || e.at > t) return
      events.shift()
      if (e.cancelled) {
        limiter.cancel()
        continue
      }
      const slot = limiter.slotAt(e.at)
      if (slot > e.at) {
        events.push({ ...e, at: slot })
        continue
      }
      limiter.confirm(e.at)
      departures.push(e.at)
    }
  }
  let clock = 0
  requests.forEach((r, i) => {
    if (change !== undefined && i === change.index) limiter.setLimit(change.limit)
    clock = Math.max(clock, r.arrival)
    for (;;) {
      settleUntil(clock)
      if (limiter.admit(clock + lead)) break
      const next = Math.min(limiter.retryAt(clock + lead) - lead, ...events.map((e) => e.at))
      assert.isAbove(next, clock)
      clock = next
    }
    admissions.push(clock)
    events.push({ at: clock + r.delay, cancelled: r.cancelled })
  })
  settleUntil(Infinity)
  return { departures, admissions }
}

/** The most times in any window [t, t + windowMs) (the worst windows start at one of the times). */
const busiest = (times: ReadonlyArray<number>, windowMs: number) => {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + windowMs) j++
    most = Math.max(most, j - i)
  }
  return most
}

const requests = (maxDelay: number) =>
  fc.array(
    fc.record({ arrival: fc.integer({ min: 0, max: 5_000 }), delay: fc.integer({ min: 0, max: maxDelay }), cancelled: fc.boolean() }),
    { minLength: 1, maxLength: 200 }
  ).map((rs) => [...rs].sort((a, b) => a.arrival - b.arrival))

describe("sliding-window rate limiter", () => {
  it("never more than the limit departs in any window, however late admitted requests depart or whether they depart at all", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1_500 }), requests(2_000), (limit, windowMs, rs) => {
        const { departures, admissions } = simulate(limit, windowMs, rs)
        assert.isAtMost(busiest(departures, windowMs), limit)
        admissions.forEach((at, i) => assert.isAtLeast(at, rs[i]!.arrival))
      }),
      { ...propertySettings(200) }
    ))

  it("the same when admission looks ahead, whatever the starts then take", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1_500 }), requests(400), fc.integer({ min: 0, max: 300 }), (limit, windowMs, rs, lead) => {
        const { departures, admissions } = simulate(limit, windowMs, rs, undefined, lead)
        assert.isAtMost(busiest(departures, windowMs), limit)
        admissions.forEach((at, i) => assert.isAtLeast(at, rs[i]!.arrival))
      }),
      { ...propertySettings(200) }
    ))

  it("nothing waits without reason: departing at once, the first `limit` requests go when they arrive", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), requests(0), (limit, rs) => {
        const immediate = rs.map((r) => ({ ...r, delay: 0, cancelled: false }))
        const { admissions } = simulate(limit, 1_000, immediate)
        for (let i = 0; i < Math.min(limit, immediate.length); i++) assert.strictEqual(admissions[i], immediate[i]!.arrival)
      }),
      { ...propertySettings(200) }
    ))

  it("after a change of limit, windows that start a window after the change hold at most the new limit", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), requests(50), fc.nat(), (before, after, rs, k) => {
        const index = k % rs.length
        const { departures, admissions } = simulate(before, 1_000, rs, { index, limit: after })
        const changedAt = admissions[index]!
        assert.isAtMost(busiest(departures.filter((t) => t >= changedAt + 1_100), 1_000), after)
        assert.isAtMost(busiest(departures, 1_000), Math.max(before, after))
      }),
      { ...propertySettings(200) }
    ))

  it("a backlog departing at once goes out at the full rate: limit per window, window after window", () => {
    const { departures } = simulate(80, 1_030, Array.from({ length: 800 }, () => ({ arrival: 0, delay: 0, cancelled: false })))
    assert.strictEqual(departures.filter((t) => t === 0).length, 80)
    assert.strictEqual(departures[departures.length - 1], 9 * 1_030)
  })

  it("a backlog whose starts take 20 ms keeps the full rate when admission looks 20 ms ahead, and loses it when not", () => {
    const backlog = Array.from({ length: 800 }, () => ({ arrival: 0, delay: 20, cancelled: false }))
    const ahead = simulate(80, 1_030, backlog, undefined, 20).departures
    assert.strictEqual(ahead[ahead.length - 1], 20 + 9 * 1_030)
    const late = simulate(80, 1_030, backlog).departures
    assert.strictEqual(late[late.length - 1], 20 + 9 * 1_050)
  })
})
