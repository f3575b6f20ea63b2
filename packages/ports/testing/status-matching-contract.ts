import { assert, describe, it } from "@effect/vitest"
import { type Ids, StatusReports, UnitOfWork } from "@mm-gateway/domain"
import { Effect, Exit, type Layer } from "effect"
import { MessageQueries } from "../src/queries.js"
import { accepted, begin, caughtUp, dispatch, noAnswer, observation, type ReadSide, send, settle, status, twoTenants } from "./facts.js"

const transact = <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.flatMap(UnitOfWork.UnitOfWork, (u) => u.transact(work))

const parkedStatus = (wamid: string, timestamp: number, receivedAt: number, channel = "100") => ({
  dedupeKey: `status:${wamid}:sent:${timestamp}`,
  channel,
  observation: observation({ wamid, status: "sent", timestamp }),
  receivedAt,
  retryAt: receivedAt + 1_000
})

/**
 * The contract of the domain's `StatusMatching` port, which the store implements beside the query
 * ports (docs/domain.md#matching-statuses): finding the message a status is about, and keeping the
 * statuses whose message is not known yet until it is — in the unit of work that applies them.
 * `makeStore` must give a fresh, empty store each time it is built.
 */
export const statusMatchingContract = (name: string, makeStore: () => Layer.Layer<ReadSide<MessageQueries>>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ReadSide<MessageQueries>>) => Effect.provide(effect, makeStore())

  describe(`StatusMatching contract: ${name}`, () => {
    it.effect("finds messages by wamid, by id, and those waiting for their wamid by channel, recipient and window", () =>
      run(Effect.gen(function*() {
        const matching = yield* StatusReports.StatusMatching
        yield* twoTenants
        yield* send({ id: "m1", channel: "100", at: 1_000 })
        yield* dispatch("m1", 1, 1_001, accepted("w.1"))
        yield* send({ id: "m2", channel: "100", at: 2_000 })
        yield* dispatch("m2", 1, 2_001, noAnswer)
        // Accepted but never started: the provider cannot have it, so no status can be about it.
        yield* send({ id: "m3", channel: "100", at: 2_500 })
        yield* send({ id: "m4", channel: "100", at: 2_600, to: "16505559999" })
        yield* begin("m4", 1, 2_601)
        yield* send({ id: "m5", channel: "101", at: 2_700, to: "16505550000" })
        yield* dispatch("m5", 1, 2_701, accepted("w.5"))
        yield* caughtUp
        // Several wamids at once: every message carrying one of them, by id.
        assert.deepStrictEqual((yield* matching.byWamids(["w.5", "w.none", "w.1"])).map((c) => [c.messageId, c.wamid]), [["m1", "w.1"], ["m5", "w.5"]])
        assert.deepStrictEqual(yield* matching.byWamids(["w.1"]), [{ messageId: "m1" as Ids.MessageId, channel: "100", wamid: "w.1" }])
        assert.deepStrictEqual(yield* matching.byWamids(["w.none"]), [])
        assert.deepStrictEqual(yield* matching.byWamids([]), [])
        assert.deepStrictEqual(yield* matching.byId("m2"), { messageId: "m2" as Ids.MessageId, channel: "100", wamid: null })
        assert.isNull(yield* matching.byId("nope"))
        const waiting = (channel: string, recipient: string, from: number, to: number) =>
          Effect.map(matching.awaitingWamid(channel, recipient, from, to), (found) => found.map((c) => c.messageId))
        assert.deepStrictEqual(yield* waiting("100", "16505551234", 0, 10_000), ["m2"])
        assert.deepStrictEqual(yield* waiting("100", "16505551234", 2_000, 2_000), ["m2"])
        assert.deepStrictEqual(yield* waiting("100", "16505551234", 2_001, 10_000), [])
        assert.deepStrictEqual(yield* waiting("100", "16505559999", 0, 10_000), ["m4"])
        assert.deepStrictEqual(yield* waiting("101", "16505551234", 0, 10_000), [])
      })))

    it.effect("a message addressed by BSUID waits for its wamid under the BSUID, and is shown by it", () =>
      run(Effect.gen(function*() {
        const matching = yield* StatusReports.StatusMatching
        const read = yield* MessageQueries
        yield* twoTenants
        yield* send({ id: "m1", channel: "100", at: 1_000, to: "US.13491208655302741918" })
        yield* dispatch("m1", 1, 1_001, noAnswer)
        yield* caughtUp
        const waiting = (recipient: string) => Effect.map(matching.awaitingWamid("100", recipient, 0, 10_000), (found) => found.map((c) => c.messageId))
        assert.deepStrictEqual(yield* waiting("US.13491208655302741918"), ["m1"])
        assert.deepStrictEqual(yield* waiting("16505551234"), [])
        const m1 = yield* read.message("m1")
        assert.deepStrictEqual([m1?.to, m1?.recipient], [null, "US.13491208655302741918"])
        // A status naming the user by recipient_user_id alone finds it.
        const found = yield* transact(StatusReports.recordStatusReport({
          channel: "100",
          bizOpaqueCallbackData: null,
          observation: { ...observation({ wamid: "w.b", status: "sent", timestamp: 2_000 }), recipient: null, recipientUserId: "US.13491208655302741918" },
          dedupeKey: "status:w.b:sent:2000"
        }, 2_500))
        assert.deepStrictEqual(found._tag === "Observed" && [found.messageId as string, found.matchedBy as string], ["m1", "recipient_window"])
      })))

    it.effect("parked statuses: kept once per dedupe key, found by wamid, and forgotten when unparked", () =>
      run(Effect.gen(function*() {
        const matching = yield* StatusReports.StatusMatching
        yield* matching.park(parkedStatus("w.1", 5, 20))
        yield* matching.park(parkedStatus("w.1", 5, 21))
        yield* matching.park(parkedStatus("w.2", 6, 10))
        yield* matching.park(parkedStatus("w.1", 7, 30, "200"))
        const forW1 = yield* matching.parkedFor(["w.1"])
        assert.deepStrictEqual(forW1.map((p) => [p.channel, p.observation.timestamp, p.receivedAt, p.retryAt]), [["100", 5, 20, 1_020], ["200", 7, 30, 1_030]])
        assert.deepStrictEqual(forW1[0]!.observation, observation({ wamid: "w.1", status: "sent", timestamp: 5 }))
        assert.deepStrictEqual(yield* matching.parkedFor(["w.3"]), [])
        // Several wamids at once: all their statuses, oldest first.
        assert.deepStrictEqual((yield* matching.parkedFor(["w.2", "w.3", "w.1"])).map((p) => [p.observation.wamid, p.receivedAt]), [
          ["w.1", 20],
          ["w.2", 10],
          ["w.1", 30]
        ])
        assert.deepStrictEqual(yield* matching.parkedFor([]), [])
        yield* matching.unpark([forW1[0]!.id])
        assert.deepStrictEqual((yield* matching.parkedFor(["w.1"])).map((p) => p.channel), ["200"])
        yield* matching.unpark([])
        assert.deepStrictEqual((yield* matching.parkedFor(["w.2"])).length, 1)
      })))

    it.effect("parked statuses: the due ones soonest first, up to a limit; put off or never again; forgotten once received too long ago", () =>
      run(Effect.gen(function*() {
        const matching = yield* StatusReports.StatusMatching
        yield* matching.park(parkedStatus("w.1", 5, 20))
        yield* matching.park(parkedStatus("w.2", 6, 10))
        yield* matching.park(parkedStatus("w.3", 7, 30))
        const wamids = (due: ReadonlyArray<StatusReports.ParkedStatus>) => due.map((p) => p.observation.wamid as string)
        assert.deepStrictEqual(wamids(yield* matching.dueParked(1_009, 10)), [])
        assert.deepStrictEqual(wamids(yield* matching.dueParked(1_020, 10)), ["w.2", "w.1"])
        assert.deepStrictEqual(wamids(yield* matching.dueParked(5_000, 2)), ["w.2", "w.1"])
        const [w2] = yield* matching.parkedFor(["w.2"])
        const [w1] = yield* matching.parkedFor(["w.1"])
        yield* matching.retryParkedAt(w2!.id, 5_010)
        yield* matching.retryParkedAt(w1!.id, null)
        assert.deepStrictEqual(wamids(yield* matching.dueParked(5_000, 10)), ["w.3"])
        assert.deepStrictEqual(wamids(yield* matching.dueParked(9_000, 10)), ["w.3", "w.2"])
        assert.deepStrictEqual((yield* matching.parkedFor(["w.1"])).map((p) => p.retryAt), [null])
        // Received before 21: w.2 (10) and w.1 (20) go, w.3 stays.
        assert.strictEqual(yield* matching.dropParked(21), 2)
        assert.deepStrictEqual([...(yield* matching.parkedFor(["w.1"])), ...(yield* matching.parkedFor(["w.2"]))], [])
        assert.deepStrictEqual(wamids(yield* matching.dueParked(9_000, 10)), ["w.3"])
        assert.strictEqual(yield* matching.dropParked(21), 0)
        // Forgotten, the same status may be parked again.
        yield* matching.park(parkedStatus("w.1", 5, 40))
        assert.deepStrictEqual((yield* matching.parkedFor(["w.1"])).map((p) => p.receivedAt), [40])
      })))

    it.effect("a status with no known message is parked, and applied with the next status once its wamid is known", () =>
      run(Effect.gen(function*() {
        const matching = yield* StatusReports.StatusMatching
        const read = yield* MessageQueries
        yield* twoTenants
        yield* send({ id: "m1", channel: "100", at: 1_000 })
        yield* send({ id: "m2", channel: "100", at: 1_000 })
        yield* begin("m1", 1, 1_001)
        const ticket = yield* begin("m2", 1, 1_001)
        // Two messages to the recipient are waiting for a wamid: ambiguous, so parked.
        const first = yield* transact(status({ channel: "100", wamid: "w.9", status: "delivered", timestamp: 5_000 }))
        assert.strictEqual(first._tag, "Parked")
        assert.strictEqual((yield* matching.parkedFor(["w.9"])).length, 1)
        yield* settle(ticket, accepted("w.9"), 7_000)
        // The next report for that wamid matches by wamid and takes the parked one along.
        const second = yield* transact(status({ channel: "100", wamid: "w.9", status: "read", timestamp: 6_000 }))
        assert.deepStrictEqual(second, { _tag: "Observed", messageId: "m2" as Ids.MessageId, matchedBy: "wamid", appended: 1, unparked: 1 })
        assert.deepStrictEqual(yield* matching.parkedFor(["w.9"]), [])
        yield* caughtUp
        const m2 = yield* read.message("m2")
        assert.deepStrictEqual([m2?.status, m2?.timestamps.deliveredAt, m2?.timestamps.readAt], ["read", 5_000, 6_000])
      })))

    it.effect("a unit of work that fails takes back what it parked and what it unparked", () =>
      run(Effect.gen(function*() {
        const matching = yield* StatusReports.StatusMatching
        yield* matching.park(parkedStatus("w.1", 5, 20))
        const [kept] = yield* matching.parkedFor(["w.1"])
        const exit = yield* Effect.exit(transact(Effect.gen(function*() {
          yield* matching.park(parkedStatus("w.2", 6, 21))
          yield* matching.unpark([kept!.id])
          assert.deepStrictEqual(yield* matching.parkedFor(["w.1"]), [])
          return yield* Effect.fail("undo" as const)
        })))
        assert.deepStrictEqual(exit, Exit.fail("undo" as const))
        assert.deepStrictEqual((yield* matching.parkedFor(["w.1"])).map((p) => p.id), [kept!.id])
        assert.deepStrictEqual(yield* matching.parkedFor(["w.2"]), [])
      })))
  })
}
