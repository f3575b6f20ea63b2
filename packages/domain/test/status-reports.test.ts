import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fc from "fast-check"
import {
  CommandHandler,
  Decider,
  Dispatch,
  EventStore,
  type Ids,
  InMemoryEventStore,
  Message,
  SendMessage,
  type Status,
  StatusReports,
  Streams
} from "../src/index.js"
import { PROPERTY_TEST, propertySettings } from "../testing/index.js"
import { BM, PHONE, TO, WABA } from "./fixtures.js"

/**
 * The `StatusMatching` port over the in-memory event store: messages folded from their streams, parked
 * statuses in an array. The SQLite adapter answers the same questions from the read models.
 */
const InMemoryStatusMatching = Layer.effect(
  StatusReports.StatusMatching,
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const parked: Array<StatusReports.ParkedStatus & { dedupeKey: string }> = []
    let nextId = 1
    const messages = Effect.map(store.readAll(0, 1_000_000), (events) => {
      const byStream = new Map<string, Array<Message.MessageEvent>>()
      for (const e of events) {
        if (Streams.categoryOf(e.streamId) !== "Message") continue
        byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e.event as Message.MessageEvent])
      }
      return [...byStream.values()].flatMap((es) => {
        const state = Decider.fold(Message.MessageDecider, es)
        return state._tag === "Requested" ? [state.message] : []
      })
    })
    const candidate = (m: Message.MessageRecord): StatusReports.MessageCandidate => ({ messageId: m.request.messageId, channel: m.request.channel, wamid: m.wamid })
    return StatusReports.StatusMatching.of({
      byWamids: (wamids) => Effect.map(messages, (ms) => ms.filter((m) => m.wamid !== null && wamids.includes(m.wamid)).map(candidate)),
      byId: (id) => Effect.map(messages, (ms) => {
        const m = ms.find((x) => x.request.messageId === id)
        return m === undefined ? null : candidate(m)
      }),
      awaitingWamid: (channel, recipient, from, to) =>
        Effect.map(messages, (ms) =>
          ms.filter((m) =>
            m.request.channel === channel && m.request.to === recipient && m.request.at >= from && m.request.at <= to &&
            m.wamid === null && ["InFlight", "OutcomeUnknown", "DispatchUnknown"].includes(m.phase._tag)
          ).map(candidate)),
      park: (s) =>
        Effect.sync(() => {
          if (!parked.some((p) => p.dedupeKey === s.dedupeKey)) {
            parked.push({ id: nextId++, dedupeKey: s.dedupeKey, channel: s.channel, observation: s.observation, receivedAt: s.receivedAt, retryAt: s.retryAt })
          }
        }),
      parkedFor: (wamids) => Effect.sync(() => parked.filter((p) => wamids.includes(p.observation.wamid))),
      dueParked: (now, limit) =>
        Effect.sync(() => parked.filter((p) => p.retryAt !== null && p.retryAt <= now).sort((a, b) => a.retryAt! - b.retryAt! || a.id - b.id).slice(0, limit)),
      retryParkedAt: (id, retryAt) =>
        Effect.sync(() => {
          const i = parked.findIndex((p) => p.id === id)
          if (i >= 0) parked[i] = { ...parked[i]!, retryAt }
        }),
      dropParked: (before) =>
        Effect.sync(() => {
          const kept = parked.filter((p) => p.receivedAt >= before)
          const dropped = parked.length - kept.length
          parked.splice(0, parked.length, ...kept)
          return dropped
        }),
      unpark: (ids) =>
        Effect.sync(() => {
          for (const id of ids) {
            const i = parked.findIndex((p) => p.id === id)
            if (i >= 0) parked.splice(i, 1)
          }
        })
    })
  })
)

const TestLayer = Layer.provideMerge(InMemoryStatusMatching, InMemoryEventStore.layer)

const setup = Effect.gen(function*() {
  yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RegisterWaba", wabaId: WABA, businessManagerId: BM, name: null, at: 1 })
  yield* CommandHandler.handleCommand(Streams.ChannelStream, Streams.streamId.channel(PHONE), {
    _tag: "RegisterChannel", phoneNumberId: PHONE, wabaId: WABA, displayPhoneNumber: "+1 555", provider: "sandbox", credentialsRef: "c", throughputMps: 80, routing: "inherit", at: 1
  })
})

const accept = (messageId: string, at: number) =>
  SendMessage.sendMessage({
    messageId: messageId as Ids.MessageId,
    channel: PHONE,
    endpoint: "messages",
    to: TO,
    messageType: "text",
    template: null,
    productPolicy: null,
    messageActivitySharing: null,
    clientCallbackData: null,
    campaignId: null,
    idempotencyKey: null,
    requestHash: messageId,
    requestedBy: "admin",
    payload: { type: "text", text: { body: "hi" } },
    now: at
  })

/** Accepted and started; `answer` says what the provider answered (undefined: still in flight). */
const dispatched = (messageId: string, at: number, answer?: "unknown" | Ids.Wamid) =>
  Effect.gen(function*() {
    yield* accept(messageId, at)
    const begun = yield* Dispatch.beginDispatch({ messageId: messageId as Ids.MessageId, attempt: 1, now: at + 1 })
    if (begun._tag !== "Send") throw new Error("not sendable")
    if (answer === "unknown") yield* Dispatch.settleDispatch(begun.ticket, { _tag: "NoDefinitiveAnswer", reason: "connection_lost" }, at + 2, 0)
    else if (answer !== undefined) yield* Dispatch.settleDispatch(begun.ticket, { _tag: "Accepted", wamid: answer, messageStatus: "accepted" }, at + 2, 0)
    return begun.ticket
  })

const status = (wamid: string, s: Status.StatusObservation["status"], timestamp: number, errors: Status.StatusObservation["errors"] = []): Status.StatusObservation => ({
  wamid: wamid as Ids.Wamid,
  status: s,
  timestamp,
  recipient: TO,
  pricing: null,
  originType: null,
  errors
})

const report = (observation: Status.StatusObservation, callback: string | null = null) => ({
  channel: PHONE,
  bizOpaqueCallbackData: callback,
  observation,
  dedupeKey: `status:${observation.wamid}:${observation.status}:${observation.timestamp}`
})

const messageOf = (id: string) =>
  Effect.map(CommandHandler.loadState(Streams.MessageStream, Streams.streamId.message(id)), ({ state }) => {
    if (state._tag !== "Requested") throw new Error("no message")
    return state.message
  })

describe("recordStatusReport: which message a status is about (docs/domain.md#matching-statuses)", () => {
  it.effect("by the wamid the dispatch result recorded; a redelivery appends nothing", () =>
    Effect.gen(function*() {
      yield* setup
      yield* dispatched("m1", 1_000, "wamid.A" as Ids.Wamid)
      const first = yield* StatusReports.recordStatusReport(report(status("wamid.A", "delivered", 5_000)), 6_000)
      assert.deepStrictEqual(first, { _tag: "Observed", messageId: "m1" as Ids.MessageId, matchedBy: "wamid", appended: 1, unparked: 0 })
      const again = yield* StatusReports.recordStatusReport(report(status("wamid.A", "delivered", 5_000)), 7_000)
      assert.strictEqual(again._tag === "Observed" && again.appended, 0)
      assert.strictEqual(Message.viewOf(yield* messageOf("m1")).status, "delivered")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("by biz_opaque_callback_data when the outcome was unknown: the message is submitted and learns its wamid", () =>
    Effect.gen(function*() {
      yield* setup
      yield* dispatched("m1", 1_000, "unknown")
      const outcome = yield* StatusReports.recordStatusReport(report(status("wamid.B", "sent", 5_000), "m1"), 6_000)
      assert.strictEqual(outcome._tag === "Observed" && outcome.matchedBy, "callback_data")
      const m = yield* messageOf("m1")
      assert.deepStrictEqual([m.phase._tag, m.wamid], ["Submitted", "wamid.B"])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("callback data naming a message of another channel is not trusted", () =>
    Effect.gen(function*() {
      yield* setup
      yield* dispatched("m1", 1_000, "unknown")
      yield* dispatched("m2", 1_000, "unknown")
      const outcome = yield* StatusReports.recordStatusReport({ ...report(status("wamid.C", "sent", 5_000), "m1"), channel: "999" }, 6_000)
      assert.strictEqual(outcome._tag, "Parked")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("by (channel, recipient, window) when only one message is waiting; parked when it is ambiguous, applied once the wamid is known", () =>
    Effect.gen(function*() {
      yield* setup
      yield* dispatched("m1", 1_000, "unknown")
      const single = yield* StatusReports.recordStatusReport(report(status("wamid.D", "sent", 5_000)), 6_000)
      assert.strictEqual(single._tag === "Observed" && single.matchedBy, "recipient_window")
      yield* dispatched("m2", 10_000)
      const m3 = yield* dispatched("m3", 10_000)
      const ambiguous = yield* StatusReports.recordStatusReport(report(status("wamid.E", "read", 15_000)), 16_000)
      assert.strictEqual(ambiguous._tag, "Parked")
      // The dispatch result names m3's wamid: the parked status follows in the same step.
      yield* Dispatch.settleDispatch(m3, { _tag: "Accepted", wamid: "wamid.E", messageStatus: "accepted" }, 17_000, 0)
      assert.strictEqual(yield* StatusReports.applyParkedStatuses("m3" as Ids.MessageId, "wamid.E", 17_000), 1)
      assert.strictEqual(Message.viewOf(yield* messageOf("m3")).status, "read")
      assert.strictEqual(Message.viewOf(yield* messageOf("m2")).status, "accepted")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a parked status finds its message later by its wamid (rematch)", () =>
    Effect.gen(function*() {
      yield* setup
      const parked = yield* StatusReports.recordStatusReport(report(status("wamid.F", "delivered", 5_000)), 6_000)
      assert.strictEqual(parked._tag, "Parked")
      yield* dispatched("m1", 7_000, "wamid.F" as Ids.Wamid)
      // Not due before its first try, 1 s after its webhook.
      assert.deepStrictEqual(yield* StatusReports.rematchParkedStatuses(100, 6_999), { matched: 0, tried: 0 })
      const rematched = yield* StatusReports.rematchParkedStatuses(100, 9_000)
      assert.deepStrictEqual(rematched, { matched: 1, tried: 1 })
      assert.strictEqual(Message.viewOf(yield* messageOf("m1")).status, "delivered")
      assert.deepStrictEqual(yield* StatusReports.rematchParkedStatuses(100, 9_500), { matched: 0, tried: 0 })
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a parked status that matches nothing is tried a handful of times, ever more rarely, then only its wamid applies it", () =>
    Effect.gen(function*() {
      yield* setup
      yield* StatusReports.recordStatusReport(report(status("wamid.NOT_OURS", "delivered", 5_000)), 6_000)
      const matching = yield* StatusReports.StatusMatching
      const tries: Array<number> = []
      for (let now = 6_000; now <= 6_000 + 60 * 60_000; now += 1_000) {
        if ((yield* StatusReports.rematchParkedStatuses(100, now)).tried > 0) tries.push(now - 6_000)
      }
      assert.deepStrictEqual(tries, [1_000, 5_000, 25_000, 125_000, 625_000])
      const [kept] = yield* matching.parkedFor(["wamid.NOT_OURS"])
      assert.deepStrictEqual([kept?.receivedAt, kept?.retryAt], [6_000, null])
      // Its wamid still applies it.
      yield* dispatched("m1", 7_000, "wamid.NOT_OURS" as Ids.Wamid)
      assert.strictEqual(yield* StatusReports.applyParkedStatuses("m1" as Ids.MessageId, "wamid.NOT_OURS", 8_000), 1)
      assert.deepStrictEqual(
        [StatusReports.nextParkedRetry(0, 625_000), StatusReports.nextParkedRetry(0, 1_000), StatusReports.PARKED_KEEP_MS],
        [null, 5_000, 7 * 24 * 3_600_000]
      )
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a failed status with 131050 opts the recipient out", () =>
    Effect.gen(function*() {
      yield* setup
      yield* dispatched("m1", 1_000, "wamid.G" as Ids.Wamid)
      yield* StatusReports.recordStatusReport(report(status("wamid.G", "failed", 5_000, [{ code: 131050, title: null, message: null, details: null }])), 6_000)
      assert.isTrue((yield* CommandHandler.loadState(Streams.RecipientStream, Streams.streamId.recipient(WABA, TO))).state.optedOut)
      assert.strictEqual(Message.viewOf(yield* messageOf("m1")).status, "failed")
    }).pipe(Effect.provide(TestLayer)))
})

describe("recordStatusReports: a webhook's statuses together, as one after the other", () => {
  const STATUSES: ReadonlyArray<Status.StatusObservation["status"]> = ["sent", "delivered", "read", "failed"]
  /** m0–m2 dispatched with wamids, m3 with its outcome unknown (found by callback data or recipient), w.x unknown to all. */
  const world = Effect.gen(function*() {
    yield* setup
    for (let i = 0; i < 3; i++) yield* dispatched(`m${i}`, 1_000 + i, `wamid.${i}` as Ids.Wamid)
    yield* dispatched("m3", 2_000, "unknown")
  })
  const reportArb = fc.record({
    target: fc.constantFrom("wamid.0", "wamid.1", "wamid.2", "wamid.3", "wamid.x"),
    status: fc.constantFrom(...STATUSES),
    timestamp: fc.integer({ min: 3_000, max: 3_010 }),
    callback: fc.boolean(),
    failure: fc.constantFrom(null, 131050, 131026)
  }).map(({ callback, failure, status: s, target, timestamp }) =>
    report(
      status(target, s, timestamp, s === "failed" && failure !== null ? [{ code: failure, title: null, message: null, details: null }] : []),
      callback && target === "wamid.3" ? "m3" : null
    )
  )
  const outcomeAndState = (record: (reports: ReadonlyArray<ReturnType<typeof report>>) => Effect.Effect<ReadonlyArray<unknown>, unknown, EventStore.EventStore | StatusReports.StatusMatching>, reports: ReadonlyArray<ReturnType<typeof report>>) =>
    Effect.runSync(Effect.gen(function*() {
      yield* world
      const outcomes = yield* record(reports)
      const store = yield* EventStore.EventStore
      const streams = new Map<string, Array<unknown>>()
      for (const e of yield* store.readAll(0, 10_000)) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e.event])
      const parked = yield* Effect.flatMap(StatusReports.StatusMatching, (m) => m.dueParked(Number.MAX_SAFE_INTEGER, 1_000))
      return { outcomes, streams: [...streams].sort(([a], [b]) => (a < b ? -1 : 1)), parked: parked.map((p) => p.observation) }
    }).pipe(Effect.provide(TestLayer)))

  it("gives the outcomes, the events of every stream and the parked statuses of recordStatusReport applied to each in turn", PROPERTY_TEST, () => {
    fc.assert(
      fc.property(fc.array(reportArb, { maxLength: 12 }), (reports) => {
        const together = outcomeAndState((rs) => StatusReports.recordStatusReports(rs, 4_000), reports)
        const inTurn = outcomeAndState(
          (rs) => Effect.forEach(rs, (r) => Effect.either(StatusReports.recordStatusReport(r, 4_000))),
          reports
        )
        assert.deepStrictEqual(together, inTurn)
      }),
      propertySettings(300)
    )
  })

  it("one snapshot read and one append for the statuses of known wamids, whatever their number", () =>
    Effect.gen(function*() {
      yield* world
      const store = yield* EventStore.EventStore
      const counted = { reads: 0, appends: 0 }
      const counting = EventStore.EventStore.of({
        ...store,
        readSnapshot: (id, schema) => Effect.zipRight(Effect.sync(() => counted.reads++), store.readSnapshot(id, schema)),
        readSnapshots: (ids, schema) => Effect.zipRight(Effect.sync(() => counted.reads++), store.readSnapshots(ids, schema)),
        append: (id, expected, events, snapshot) => Effect.zipRight(Effect.sync(() => counted.appends++), store.append(id, expected, events, snapshot)),
        appendMany: (appends) => Effect.zipRight(Effect.sync(() => counted.appends++), store.appendMany(appends))
      })
      const reports = ["wamid.0", "wamid.1", "wamid.2", "wamid.0"].flatMap((w, i) => [report(status(w, "delivered", 3_000 + i)), report(status(w, "read", 3_100 + i))])
      const outcomes = yield* Effect.provideService(StatusReports.recordStatusReports(reports, 4_000), EventStore.EventStore, counting)
      assert.deepStrictEqual(counted, { reads: 1, appends: 1 })
      assert.deepStrictEqual(outcomes.map((o) => o._tag === "Right" && o.right._tag === "Observed" && o.right.appended), [1, 1, 1, 1, 1, 1, 1, 1])
      for (const id of ["m0", "m1", "m2"]) assert.strictEqual(Message.viewOf(yield* messageOf(id)).status, "read")
    }).pipe(Effect.provide(TestLayer)))
})
