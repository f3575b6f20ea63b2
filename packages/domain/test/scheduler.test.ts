import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Decider, type Dispatch, Scheduler } from "../src/index.js"
import { deciderSpec, propertySettings } from "../testing/index.js"
import { WAMID } from "./fixtures.js"

/**
 * The dispatcher's scheduling, decided from state and time: lanes and their capacity, the sliding rate
 * window with its admission lead, channel and recipient pauses, deferred messages and the feeder's
 * sweeps. Given what happened, when the dispatcher asks or reports, then what the scheduler decides
 * (the rules are numbered in `src/dispatch/scheduler.ts`). Then the rate window's properties in
 * simulated time: whatever the arrivals, the delays between admission and departure, and whether
 * admitted requests leave at all.
 */
const SETTINGS: Scheduler.SchedulerSettings = { rateWindowMs: 1_030, maxLeadMs: Scheduler.MAX_LEAD_MS }
const decider = Scheduler.makeDecider(SETTINGS)
const spec = deciderSpec(decider)
const stateOf = (events: ReadonlyArray<Scheduler.SchedulerEvent>) => Decider.fold(decider, events)

const A = "106540352242931"
const B = "106540352242932"
const ready = (id: string, channel = A, acceptedAt = 0): Scheduler.ReadyMessage => ({ id, channel, acceptedAt, attempt: 1 })

// Commands.
const recordRate = (channel: string, throughputMps: number, now = 0) => ({ _tag: "RecordRate", channel, throughputMps, now }) as const
const offer = (messages: ReadonlyArray<Scheduler.ReadyMessage>, now = 0) => ({ _tag: "Offer", messages, now }) as const
const endSweep = (now: number) => ({ _tag: "EndSweep", now }) as const
const admit = (messageId: string, now: number) => ({ _tag: "Admit", messageId, now }) as const
const checkRecipient = (messageId: string, recipient: string, now: number) => ({ _tag: "CheckRecipient", messageId, recipient, now }) as const
const recordStart = (messageId: string, permittedAt: number, now: number) => ({ _tag: "RecordStart", messageId, permittedAt, now }) as const
const depart = (messageId: string, now: number) => ({ _tag: "Depart", messageId, now }) as const
const recordAnswer = (messageId: string, recipient: string, settlement: Dispatch.Settlement, now: number) =>
  ({ _tag: "RecordAnswer", messageId, recipient, settlement, now }) as const
const release = (messageId: string) => ({ _tag: "Release", messageId }) as const

// Events.
type Event = Scheduler.SchedulerEvent
const rateRead = (channel: string, throughputMps: number, at = 0): Event => ({ _tag: "RateRead", channel, throughputMps, at })
const queued = (message: Scheduler.ReadyMessage): Event => ({ _tag: "Queued", message })
const leftBehind = (messageId: string, channel = A): Event => ({ _tag: "LeftBehind", messageId, channel })
const swept = (through: Scheduler.ReadyMessage | null, at = 0): Event => ({
  _tag: "Swept",
  through: through === null ? null : { acceptedAt: through.acceptedAt, id: through.id },
  at
})
const admitted = (messageId: string, at: number, channel = A): Event => ({ _tag: "Admitted", messageId, channel, at })
const departed = (messageId: string, at: number, channel = A): Event => ({ _tag: "Departed", messageId, channel, at })
const released = (messageId: string, phase: Scheduler.HeldPhase, channel = A): Event => ({ _tag: "Released", messageId, channel, phase })
const postponed = (messageId: string, until: number, reason: "channel_paused" | "rate_window", channel = A): Event =>
  ({ _tag: "AdmissionPostponed", messageId, channel, until, reason })
const startCommitted = (messageId: string, lead: number, channel = A): Event => ({ _tag: "StartCommitted", messageId, channel, lead })
const channelPaused = (until: number, channel = A): Event => ({ _tag: "ChannelPaused", channel, until })
const recipientPaused = (recipient: string, until: number, channel = A): Event => ({ _tag: "RecipientPaused", channel, recipient, until })
const deferred = (messageId: string, until: number, channel = A): Event => ({ _tag: "Deferred", messageId, channel, until })
const retryDue = (messageId: string, at: number): Event => ({ _tag: "RetryDue", messageId, at })

/** A message through its lane: queued, let through and gone at `at`. */
const sent = (id: string, at: number, channel = A): ReadonlyArray<Event> => [queued(ready(id, channel)), admitted(id, at, channel), departed(id, at, channel)]
/** A message let through at `at` that has not left yet. */
const onItsWay = (id: string, at: number, channel = A): ReadonlyArray<Event> => [queued(ready(id, channel)), admitted(id, at, channel)]
const many = (n: number, prefix: string, channel = A) => Array.from({ length: n }, (_, i) => ready(`${prefix}${i}`, channel, i))

const retryLater = (scope: "message" | "recipient" | "channel", pauseMs: number, notBefore: number): Dispatch.Settlement => ({
  _tag: "RetryLater",
  reason: `test_${scope}`,
  notBefore,
  scope,
  pauseMs
})

describe("Scheduler decider", () => {
  it("every command: asked about a message it does not hold, it decides nothing", () => {
    const every: { readonly [K in Scheduler.SchedulerCommand["_tag"]]: Extract<Scheduler.SchedulerCommand, { readonly _tag: K }> } = {
      RecordRate: recordRate(A, 80),
      Offer: offer([]),
      EndSweep: endSweep(0),
      Admit: admit("m1", 0),
      CheckRecipient: checkRecipient("m1", "491511", 0),
      RecordStart: recordStart("m1", 0, 0),
      Depart: depart("m1", 0),
      RecordAnswer: recordAnswer("m1", "491511", retryLater("channel", 1_000, 1_000), 0),
      Release: release("m1")
    }
    const begun = [rateRead(A, 80), swept(null)]
    spec.given(begun).when(every.RecordRate).then([rateRead(A, 80)])
    spec.given(begun).when(every.Offer).then([swept(null)])
    for (const command of [every.EndSweep, every.Admit, every.CheckRecipient, every.RecordStart, every.Depart, every.RecordAnswer, every.Release]) {
      spec.given(begun).when(command).thenNothing()
    }
  })

  describe("lanes (rule 1)", () => {
    it("queues each ready message on its channel's lane and sweeps on from the last one", () =>
      spec.given([rateRead(A, 80), rateRead(B, 80)]).when(offer([ready("a1", A, 10), ready("b1", B, 20)], 5)).then([
        queued(ready("a1", A, 10)),
        queued(ready("b1", B, 20)),
        swept(ready("b1", B, 20), 5)
      ]))

    it("a lane holds ten seconds of sends at its channel's rate (at least 64): the rest is left behind, other lanes go on", () => {
      spec.given([rateRead(A, 10), ...many(100, "q").map(queued)]).when(offer([ready("x", A, 100), ready("b1", B, 101)])).then([
        leftBehind("x"),
        queued(ready("b1", B, 101)),
        swept(ready("b1", B, 101))
      ])
      spec.given([rateRead(A, 1), ...many(63, "q").map(queued)]).when(offer([ready("x1", A, 63), ready("x2", A, 64)])).then([
        queued(ready("x1", A, 63)),
        leftBehind("x2"),
        swept(ready("x2", A, 64))
      ])
      assert.deepStrictEqual([Scheduler.capacityFor(1), Scheduler.capacityFor(80), Scheduler.capacityFor(1_000)], [64, 800, 10_000])
    })

    it("a message in hand — queued, let through, in flight — is not offered twice; released, it may be", () => {
      const inHand = [rateRead(A, 80), queued(ready("m1")), ...onItsWay("m2", 0), ...sent("m3", 0)]
      spec.given(inHand).when(offer([ready("m1"), ready("m2"), ready("m3"), ready("m4")])).then([queued(ready("m4")), swept(ready("m4"))])
      spec.given([...inHand, released("m1", "Queued"), released("m2", "Admitted"), released("m3", "Departed")])
        .when(offer([ready("m1"), ready("m2"), ready("m3")]))
        .then([queued(ready("m1")), queued(ready("m2")), queued(ready("m3")), swept(ready("m3"))])
      assert.isTrue(Scheduler.holds(stateOf(inHand), "m2"))
      assert.isFalse(Scheduler.holds(stateOf([...inHand, released("m2", "Admitted")]), "m2"))
    })

    it("a channel's rate is read when its lane is new and again after 5 s", () => {
      assert.isTrue(Scheduler.rateDue(stateOf([]), A, 0))
      assert.isFalse(Scheduler.rateDue(stateOf([rateRead(A, 80, 1_000)]), A, 5_999))
      assert.isTrue(Scheduler.rateDue(stateOf([rateRead(A, 80, 1_000)]), A, 6_000))
    })
  })

  describe("the rate window (rule 2)", () => {
    const lane = [rateRead(A, 2), queued(ready("m3"))]

    it("lets a message through while the window has room, counting those still on their way", () => {
      spec.given([...lane, ...sent("m1", 0)]).when(admit("m3", 10)).then([admitted("m3", 10)])
      // Full with one gone and one on its way: ask again shortly, it may never leave.
      spec.given([...lane, ...sent("m1", 0), ...onItsWay("m2", 5)]).when(admit("m3", 10)).then([postponed("m3", 15, "rate_window")])
    })

    it("a full window has room again when its oldest departure leaves it", () => {
      const full = [...lane, ...sent("m1", 0), ...sent("m2", 8)]
      spec.given(full).when(admit("m3", 10)).then([postponed("m3", 1_030, "rate_window")])
      spec.given(full).when(admit("m3", 1_029)).then([postponed("m3", 1_030, "rate_window")])
      spec.given(full).when(admit("m3", 1_030)).then([admitted("m3", 1_030)])
    })

    it("a request let through leaves only into a free place of the window", () => {
      const early = [rateRead(A, 1), ...sent("m1", 0), ...onItsWay("m2", 1_000)]
      spec.given(early).when(depart("m2", 1_010)).then([{ _tag: "DeparturePostponed", messageId: "m2", channel: A, until: 1_030 }])
      spec.given(early).when(depart("m2", 1_030)).then([departed("m2", 1_030)])
    })

    it("a request let through that never leaves gives its place back", () => {
      const waiting = [rateRead(A, 1), ...onItsWay("m1", 0), queued(ready("m2"))]
      spec.given(waiting).when(admit("m2", 1)).then([postponed("m2", 6, "rate_window")])
      spec.given([...waiting, released("m1", "Admitted")]).when(admit("m2", 1)).then([admitted("m2", 1)])
    })

    it("a new rate counts from the latest departures the window holds", () =>
      spec.given([rateRead(A, 3), ...sent("m1", 0), ...sent("m2", 10), ...sent("m3", 20), rateRead(A, 2, 30), queued(ready("m4"))])
        .when(admit("m4", 500))
        .then([postponed("m4", 1_040, "rate_window")]))
  })

  describe("the admission lead (rule 3)", () => {
    it("a start's commit time, from its permit, feeds the lead: a moving average, never above maxLeadMs", () => {
      const started = [rateRead(A, 80), ...onItsWay("m1", 0)]
      spec.given(started).when(recordStart("m1", 0, 50)).then([startCommitted("m1", 10)])
      spec.given([...started, startCommitted("m0", 90)]).when(recordStart("m1", 0, 500)).then([startCommitted("m1", 100)])
    })

    it("admission looks ahead by the lead, so the start commits while the window is still full", () => {
      const full = [rateRead(A, 1), ...sent("m1", 0), queued(ready("m2"))]
      spec.given(full).when(admit("m2", 1_010)).then([postponed("m2", 1_030, "rate_window")])
      spec.given([...full, startCommitted("m1", 20)]).when(admit("m2", 1_010)).then([admitted("m2", 1_010)])
    })
  })

  describe("channel pauses (rule 4)", () => {
    it("130429, 131057 or 429 pause the channel for the rule's minimum or Retry-After, and the message retries", () =>
      spec.given([rateRead(A, 80), ...sent("m1", 0)]).when(recordAnswer("m1", "491511", retryLater("channel", 5_000, 5_200), 200)).then([
        channelPaused(5_200),
        retryDue("m1", 5_200)
      ]))

    it("a paused channel lets nothing through until the pause ends; other channels go on", () => {
      const paused = [rateRead(A, 80), rateRead(B, 80), channelPaused(5_000), queued(ready("m1")), queued(ready("b1", B))]
      spec.given(paused).when(admit("m1", 3_000)).then([postponed("m1", 5_000, "channel_paused")])
      spec.given(paused).when(admit("m1", 5_000)).then([admitted("m1", 5_000)])
      spec.given(paused).when(admit("b1", 3_000)).then([admitted("b1", 3_000, B)])
    })

    it("a shorter pause does not shorten a longer one", () =>
      spec.given([rateRead(A, 80), channelPaused(9_000), channelPaused(5_000), queued(ready("m1"))]).when(admit("m1", 6_000)).then([
        postponed("m1", 9_000, "channel_paused")
      ]))
  })

  describe("recipient pauses (rule 5)", () => {
    it("131056 pauses that recipient on that channel, and the message retries", () =>
      spec.given([rateRead(A, 80), ...sent("m1", 0)]).when(recordAnswer("m1", "491511", retryLater("recipient", 6_000, 6_300), 300)).then([
        recipientPaused("491511", 6_300),
        retryDue("m1", 6_300)
      ]))

    it("defers only that recipient's messages, and only on that channel", () => {
      const paused = [rateRead(A, 80), rateRead(B, 80), recipientPaused("491511", 7_000), ...onItsWay("m1", 0), ...onItsWay("m2", 0), ...onItsWay("b1", 0, B)]
      spec.given(paused).when(checkRecipient("m1", "491511", 2_000)).then([deferred("m1", 7_000)])
      spec.given(paused).when(checkRecipient("m2", "491512", 2_000)).thenNothing()
      spec.given(paused).when(checkRecipient("b1", "491511", 2_000)).thenNothing()
      spec.given(paused).when(checkRecipient("m1", "491511", 7_000)).thenNothing()
      const state = stateOf(paused)
      assert.deepStrictEqual(
        [Scheduler.recipientCheckDue(state, A, 2_000), Scheduler.recipientCheckDue(state, B, 2_000), Scheduler.recipientCheckDue(state, A, 7_000)],
        [true, false, false]
      )
    })

    it("a deferred message is not offered again before its time; when it is due, the feeder goes back for it", () => {
      const deferredM1 = [rateRead(A, 80), recipientPaused("491511", 7_000), ...onItsWay("m1", 0), deferred("m1", 7_000), released("m1", "Admitted"), swept(ready("m9"), 6_000)]
      spec.given(deferredM1).when(offer([ready("m1"), ready("m2")], 6_999)).then([queued(ready("m2")), swept(ready("m2"), 6_999)])
      spec.given(deferredM1).when(endSweep(6_999)).thenNothing()
      spec.given(deferredM1).when(endSweep(7_000)).then([{ _tag: "Rewound", reason: "due", at: 7_000 }])
      spec.given(deferredM1).when(offer([ready("m1")], 7_000)).then([queued(ready("m1")), swept(ready("m1"), 7_000)])
    })
  })

  it("an answer that holds nothing back decides nothing; a message's own retry only brings the feeder back when due", () => {
    const gone = [rateRead(A, 80), ...sent("m1", 0)]
    spec.given(gone).when(recordAnswer("m1", "491511", { _tag: "Submitted", wamid: WAMID }, 100)).thenNothing()
    spec.given(gone).when(recordAnswer("m1", "491511", { _tag: "Failed", reason: "provider_error_131009" }, 100)).thenNothing()
    spec.given(gone).when(recordAnswer("m1", "491511", retryLater("message", 0, 1_100), 100)).then([retryDue("m1", 1_100)])
  })

  describe("the feeder (rule 6)", () => {
    const swept0 = [rateRead(A, 80), swept(ready("m1", A, 10), 0)]

    it("goes on from its cursor, and back to the oldest every 2 s for anything put back to ready", () => {
      assert.deepStrictEqual(stateOf(swept0).feeder.cursor, { acceptedAt: 10, id: "m1" })
      spec.given(swept0).when(endSweep(1_999)).thenNothing()
      spec.given(swept0).when(endSweep(2_000)).then([{ _tag: "Rewound", reason: "periodic", at: 2_000 }])
      // An empty page keeps its place; the 2 s count from the sweep that began at the oldest.
      spec.given([...swept0, swept(null, 1_500)]).when(endSweep(2_000)).then([{ _tag: "Rewound", reason: "periodic", at: 2_000 }])
      assert.deepStrictEqual(stateOf([...swept0, swept(null, 1_500)]).feeder.cursor, { acceptedAt: 10, id: "m1" })
    })

    it("goes back when a retry behind its cursor is due", () => {
      spec.given([...swept0, retryDue("m0", 500)]).when(endSweep(499)).thenNothing()
      spec.given([...swept0, retryDue("m0", 500)]).when(endSweep(500)).then([{ _tag: "Rewound", reason: "due", at: 500 }])
    })

    it("goes back when a lane it left messages behind for is half empty again, not before", () => {
      const full = [rateRead(A, 1), ...many(33, "q").map(queued), leftBehind("x"), swept(ready("x", A, 33), 0)]
      assert.isTrue(Scheduler.waitsForRoom(stateOf(full)))
      spec.given(full).when(endSweep(10)).thenNothing()
      spec.given(full).when(admit("q0", 10)).then([admitted("q0", 10), { _tag: "RoomMade", channel: A }])
      spec.given([...full, admitted("q0", 10), { _tag: "RoomMade", channel: A }]).when(endSweep(20)).then([
        { _tag: "Rewound", reason: "room_made", at: 20 }
      ])
    })

    it("after going back it sweeps from the oldest, with what it knew behind the cursor forgotten", () => {
      const rewound = stateOf([...swept0, leftBehind("m0"), retryDue("m0", 500), { _tag: "Rewound", reason: "due", at: 500 }])
      assert.deepStrictEqual(rewound.feeder, { cursor: null, sweptFrom: 0, leftBehind: false, roomMade: false, dueBehind: Infinity })
      assert.deepStrictEqual(stateOf([...swept0, { _tag: "Rewound", reason: "periodic", at: 2_000 }, swept(ready("m0"), 2_010)]).feeder.sweptFrom, 2_010)
    })
  })
})

// ---- properties ----------------------------------------------------------------------------------

interface Request {
  readonly arrival: number
  /** Time from admission to the start's commit (a busy event loop, a slow commit). */
  readonly delay: number
  /** Never leaves (its start was refused). */
  readonly cancelled: boolean
}

const SIM = "106540352242999"

/**
 * The dispatcher's pump in simulated time, through the decider: requests in arrival order are offered
 * and wait for admission; each admitted one has its start committed (or is released unsent) `delay`
 * later, and leaves into the first free place of the window from then. Returns the departure times
 * and the admission times.
 */
const simulate = (
  limit: number,
  windowMs: number,
  requests: ReadonlyArray<Request>,
  { change, maxLeadMs = Scheduler.MAX_LEAD_MS }: { readonly change?: { readonly index: number; readonly limit: number }; readonly maxLeadMs?: number } = {}
) => {
  let state = Scheduler.initialState({ rateWindowMs: windowMs, maxLeadMs })
  const run = (command: Scheduler.SchedulerCommand) => {
    const next = Scheduler.step(state, command)
    state = next.state
    return next.events
  }
  run(recordRate(SIM, limit))
  const pending: Array<{ readonly at: number; readonly id: string; readonly kind: "start" | "leave" | "cancel"; readonly permittedAt: number }> = []
  const departures: Array<number> = []
  const admissions: Array<number> = []
  const settleUntil = (t: number) => {
    for (;;) {
      pending.sort((a, b) => a.at - b.at)
      const p = pending[0]
      if (p === undefined || p.at > t) return
      pending.shift()
      if (p.kind === "cancel") {
        run(release(p.id))
        continue
      }
      if (p.kind === "start") run(recordStart(p.id, p.permittedAt, p.at))
      const [decision] = run(depart(p.id, p.at))
      if (decision?._tag === "DeparturePostponed") {
        pending.push({ ...p, kind: "leave", at: decision.until })
        continue
      }
      assert.strictEqual(decision?._tag, "Departed")
      departures.push(p.at)
      run(release(p.id))
    }
  }
  let clock = 0
  requests.forEach((r, i) => {
    if (change !== undefined && i === change.index) run(recordRate(SIM, change.limit, clock))
    clock = Math.max(clock, r.arrival)
    const id = `m${i}`
    run(offer([ready(id, SIM, i)], clock))
    for (;;) {
      settleUntil(clock)
      const [decision] = run(admit(id, clock))
      if (decision?._tag === "Admitted") break
      if (decision?._tag !== "AdmissionPostponed") return assert.fail(`expected a decision on ${id}, got ${JSON.stringify(decision)}`)
      const next = Math.min(decision.until, ...pending.map((p) => p.at))
      assert.isAbove(next, clock)
      clock = next
    }
    admissions.push(clock)
    pending.push({ at: clock + r.delay, id, kind: r.cancelled ? "cancel" : "start", permittedAt: clock })
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

describe("Scheduler: the rate window in simulated time", () => {
  it("never more than the limit departs in any window, however late admitted requests depart or whether they depart at all", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1_500 }), requests(2_000), (limit, windowMs, rs) => {
        const { departures, admissions } = simulate(limit, windowMs, rs)
        assert.isAtMost(busiest(departures, windowMs), limit)
        admissions.forEach((at, i) => assert.isAtLeast(at, rs[i]!.arrival))
      }),
      { ...propertySettings(200) }
    ))

  it("the same whatever the admission lead may grow to, whatever the starts then take", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1_500 }), requests(400), fc.integer({ min: 0, max: 300 }), (limit, windowMs, rs, maxLeadMs) => {
        const { departures, admissions } = simulate(limit, windowMs, rs, { maxLeadMs })
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
        const { departures, admissions } = simulate(before, 1_000, rs, { change: { index, limit: after } })
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

  it("a backlog whose starts take 20 ms keeps the full rate with the admission lead, and loses it without", () => {
    const backlog = Array.from({ length: 800 }, () => ({ arrival: 0, delay: 20, cancelled: false }))
    const ahead = simulate(80, 1_030, backlog).departures
    assert.strictEqual(ahead[ahead.length - 1], 20 + 9 * 1_030)
    const late = simulate(80, 1_030, backlog, { maxLeadMs: 0 }).departures
    assert.strictEqual(late[late.length - 1], 20 + 9 * 1_050)
  })
})

describe("Scheduler: lanes under arbitrary offers, admissions and releases", () => {
  type Step =
    | { readonly _tag: "offer"; readonly ids: ReadonlyArray<number> }
    | { readonly _tag: "admit"; readonly id: number }
    | { readonly _tag: "release"; readonly id: number }
    | { readonly _tag: "rate"; readonly channel: number; readonly mps: number }
  const id = fc.integer({ min: 0, max: 299 })
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ _tag: fc.constant("offer" as const), ids: fc.array(id, { maxLength: 80 }) }),
    fc.record({ _tag: fc.constant("admit" as const), id }),
    fc.record({ _tag: fc.constant("release" as const), id }),
    fc.record({ _tag: fc.constant("rate" as const), channel: fc.integer({ min: 0, max: 1 }), mps: fc.integer({ min: 1, max: 12 }) })
  )
  const channelOf = (n: number) => (n % 2 === 0 ? A : B)

  it("no lane holds more than its capacity, no message is queued while in hand, and releases give back what was held", () =>
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let state = Scheduler.initialState(SETTINGS)
        let now = 0
        for (const s of steps) {
          now += 7
          const command: Scheduler.SchedulerCommand = s._tag === "offer"
            ? offer(s.ids.map((n) => ready(`m${n}`, channelOf(n), n)), now)
            : s._tag === "admit"
            ? admit(`m${s.id}`, now)
            : s._tag === "release"
            ? release(`m${s.id}`)
            : recordRate(channelOf(s.channel), s.mps, now)
          const before = state
          const next = Scheduler.step(state, command)
          state = next.state
          for (const e of next.events) if (e._tag === "Queued") assert.isFalse(Scheduler.holds(before, e.message.id), `${e.message.id} queued twice`)
          // Count what the lanes hold against what the scheduler has in hand.
          for (const channel of [A, B]) {
            const lane = Scheduler.laneOf(state, channel)
            let queuedHere = 0
            let onTheWay = 0
            for (const [, held] of state.held) {
              if (held.channel !== channel) continue
              if (held.phase === "Queued") queuedHere++
              if (held.phase === "Admitted") onTheWay++
            }
            assert.strictEqual(lane.queued, queuedHere)
            assert.strictEqual(lane.onTheWay, onTheWay)
            // An offer never fills a lane past its capacity (a lower rate may leave it fuller, until it drains).
            if (s._tag === "offer") assert.isAtMost(lane.queued, Math.max(lane.capacity, Scheduler.laneOf(before, channel).queued))
          }
        }
      }),
      { ...propertySettings(200) }
    ))
})
