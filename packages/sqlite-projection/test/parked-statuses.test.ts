import { assert, describe, it } from "@effect/vitest"
import { type Status, StatusReports, UnitOfWork } from "@mm-gateway/domain"
import { Effect } from "effect"
import { layer } from "../src/layers.js"
import { ReadModels } from "../src/read-models.js"
import { READ_MODEL_TABLES } from "../src/migrations.js"
import { ParkedStatuses } from "../src/parked-statuses.js"
import { dispatchSucceeded, requestMessage, run, startDispatch } from "@mm-gateway/ports/testing/model"

const transact = <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.flatMap(UnitOfWork.UnitOfWork, (u) => u.transact(work))

const observation = (wamid: string, status: Status.StatusObservation["status"], timestamp: number): Status.StatusObservation => ({
  wamid: wamid as Status.StatusObservation["wamid"],
  status,
  timestamp,
  recipient: "16505551234",
  pricing: null,
  originType: null,
  errors: []
})

describe("statuses for a wamid not known yet", () => {
  it.effect("are parked once per dedupe key, found by wamid, due soonest first and resolved with the command that applies them", () =>
    Effect.gen(function*() {
      const parked = yield* ParkedStatuses
      yield* parked.park({ dedupeKey: "status:w.1:sent:5", channel: "100", observation: observation("w.1", "sent", 5), receivedAt: 20, retryAt: 1_020 })
      yield* parked.park({ dedupeKey: "status:w.1:sent:5", channel: "100", observation: observation("w.1", "sent", 5), receivedAt: 21, retryAt: 1_021 })
      yield* parked.park({ dedupeKey: "status:w.2:read:6", channel: "100", observation: observation("w.2", "read", 6), receivedAt: 10, retryAt: 1_010 })
      assert.strictEqual(yield* parked.count(), 2)
      assert.deepStrictEqual((yield* parked.due(2_000, 10)).map((s) => s.observation.wamid), ["w.2", "w.1"])
      assert.deepStrictEqual((yield* parked.due(1_015, 10)).map((s) => s.observation.wamid), ["w.2"])

      // The dispatch result names the wamid: the worker applies what was parked and resolves it in one commit.
      yield* Effect.forEach([requestMessage("m1", { at: 1 }), startDispatch("m1", 1, 2), dispatchSucceeded("m1", 1, "w.1", 3)], run)
      const waiting = yield* parked.forWamids(["w.1"])
      assert.deepStrictEqual(waiting.map((s) => [s.dedupeKey, s.receivedAt]), [["status:w.1:sent:5", 20]])
      yield* transact(Effect.gen(function*() {
        for (const s of waiting) {
          yield* run({ stream: "Message", command: { _tag: "ObserveStatus", messageId: "m1" as never, observation: s.observation, at: 30 } })
        }
        yield* parked.resolve(waiting.map((s) => s.id))
      }))
      assert.strictEqual((yield* (yield* ReadModels).message("m1"))?.status, "sent")
      assert.deepStrictEqual(yield* parked.forWamids(["w.1"]), [])
      assert.strictEqual(yield* parked.count(), 1)
      assert.notInclude(READ_MODEL_TABLES as ReadonlyArray<string>, "parked_statuses")
    }).pipe(Effect.provide(layer({ path: ":memory:" }))))

  it.effect("inside one transaction, a status parked after the table was seen empty is found by its wamid", () =>
    Effect.gen(function*() {
      const parked = yield* ParkedStatuses
      const matching = yield* StatusReports.StatusMatching
      const found = yield* transact(Effect.gen(function*() {
        const before = yield* parked.forWamids(["w.1"])
        yield* matching.park({ dedupeKey: "status:w.1:sent:5", channel: "100", observation: observation("w.1", "sent", 5), receivedAt: 20, retryAt: 1_020 })
        const after = yield* matching.parkedFor(["w.1"])
        return { before, after, other: yield* parked.forWamids(["w.2"]) }
      }))
      assert.deepStrictEqual(found.before, [])
      assert.deepStrictEqual(found.after.map((s) => s.observation.wamid), ["w.1"])
      assert.deepStrictEqual(found.other, [])
      assert.deepStrictEqual((yield* parked.forWamids(["w.1"])).map((s) => s.dedupeKey), ["status:w.1:sent:5"])
    }).pipe(Effect.provide(layer({ path: ":memory:" }))))
})
