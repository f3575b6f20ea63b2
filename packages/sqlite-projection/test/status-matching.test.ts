import { assert, describe, it } from "@effect/vitest"
import { type Ids, type Status, StatusReports, UnitOfWork } from "@mm-gateway/domain"
import { Effect } from "effect"
import { layer } from "../src/layers.js"
import { ReadModels } from "../src/read-models.js"
import { ParkedStatuses } from "../src/parked-statuses.js"
import { dispatchOutcomeUnknown, dispatchSucceeded, requestMessage, run, startDispatch } from "./support.js"

const transact = <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.flatMap(UnitOfWork.UnitOfWork, (u) => u.transact(work))

const observation = (wamid: string, status: Status.StatusObservation["status"], timestamp: number, recipient = "16505551234"): Status.StatusObservation => ({
  wamid: wamid as Status.StatusObservation["wamid"],
  status,
  timestamp,
  recipient,
  pricing: null,
  originType: null,
  errors: []
})

describe("StatusMatching on SQLite (the domain port the worker's status path uses)", () => {
  it.effect("finds messages by wamid, by id, and waiting for their wamid by (channel, recipient, window)", () =>
    Effect.gen(function*() {
      const matching = yield* StatusReports.StatusMatching
      yield* Effect.forEach([
        requestMessage("m1", { at: 1_000 }),
        startDispatch("m1", 1, 1_001),
        dispatchSucceeded("m1", 1, "w.1", 1_002),
        requestMessage("m2", { at: 2_000 }),
        startDispatch("m2", 1, 2_001),
        dispatchOutcomeUnknown("m2", 1, 2_002),
        // Accepted but never started: the provider cannot have it, so no status can be about it.
        requestMessage("m3", { at: 2_500 }),
        requestMessage("m4", { at: 2_600, to: "16505559999" }),
        startDispatch("m4", 1, 2_601)
      ], run)
      assert.deepStrictEqual(yield* matching.byWamid("w.1"), [{ messageId: "m1" as Ids.MessageId, channel: "100", wamid: "w.1" }])
      assert.deepStrictEqual(yield* matching.byWamid("w.none"), [])
      assert.deepStrictEqual(yield* matching.byId("m2"), { messageId: "m2" as Ids.MessageId, channel: "100", wamid: null })
      assert.isNull(yield* matching.byId("nope"))
      assert.deepStrictEqual((yield* matching.awaitingWamid("100", "16505551234", 0, 10_000)).map((c) => c.messageId), ["m2"])
      assert.deepStrictEqual((yield* matching.awaitingWamid("100", "16505551234", 2_100, 10_000)).map((c) => c.messageId), [])
      assert.deepStrictEqual((yield* matching.awaitingWamid("100", "16505559999", 0, 10_000)).map((c) => c.messageId), ["m4"])
      assert.deepStrictEqual(yield* matching.awaitingWamid("101", "16505551234", 0, 10_000), [])
    }).pipe(Effect.provide(layer({ path: ":memory:" }))))

  it.effect("a status parked in one transaction is applied and forgotten in the transaction that learns its wamid", () =>
    Effect.gen(function*() {
      yield* Effect.forEach([requestMessage("m1", { at: 1_000 }), startDispatch("m1", 1, 1_001)], run)
      yield* Effect.forEach([requestMessage("m2", { at: 1_000 }), startDispatch("m2", 1, 1_001)], run)
      const report = { channel: "100", bizOpaqueCallbackData: null, observation: observation("w.9", "delivered", 5_000), dedupeKey: "status:w.9:delivered:5000" }
      // Two messages to the recipient are waiting: ambiguous, so parked.
      const first = yield* transact(StatusReports.recordStatusReport(report, 6_000))
      assert.strictEqual(first._tag, "Parked")
      assert.strictEqual(yield* (yield* ParkedStatuses).count(), 1)
      yield* run(dispatchSucceeded("m2", 1, "w.9", 7_000))
      // The next report for that wamid matches by wamid and takes the parked one along.
      const second = yield* transact(StatusReports.recordStatusReport({ ...report, observation: observation("w.9", "read", 6_000), dedupeKey: "r" }, 8_000))
      assert.deepStrictEqual(second, { _tag: "Observed", messageId: "m2" as Ids.MessageId, matchedBy: "wamid", appended: 1, unparked: 1 })
      assert.strictEqual(yield* (yield* ParkedStatuses).count(), 0)
      const m2 = yield* (yield* ReadModels).message("m2")
      assert.deepStrictEqual([m2?.status, m2?.timestamps.deliveredAt], ["read", 5_000])
    }).pipe(Effect.provide(layer({ path: ":memory:" }))))
})
