import { assert, describe, it } from "@effect/vitest"
import { EventStore, UnitOfWork } from "@mm-gateway/domain"
import { Effect, Either } from "effect"
import { SqliteDatabase } from "../src/database.js"
import { layer } from "../src/layers.js"
import { ReadModels } from "../src/read-models.js"
import { dispatchSucceeded, observe, requestMessage, run, startDispatch } from "@mm-gateway/ports/testing/model"

const transact = <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.flatMap(UnitOfWork.UnitOfWork, (u) => u.transact(work))

const withStore = <A, E>(effect: Effect.Effect<A, E, ReadModels | EventStore.EventStore | SqliteDatabase | UnitOfWork.UnitOfWork>) =>
  Effect.provide(effect, layer({ path: ":memory:" }))

const setUp = Effect.forEach(["a", "b"], (id) =>
  Effect.forEach([requestMessage(id, { at: 1 }), startDispatch(id, 1, 2), dispatchSucceeded(id, 1, `w.${id}`, 3)], run), { discard: true })

describe("many commands in one transaction", () => {
  it.effect("a batch of statuses commits together; a command the domain refuses does not spoil the batch", () =>
    withStore(Effect.gen(function*() {
      yield* setUp
      const results = yield* transact(Effect.forEach([
        observe("a", "w.a", "delivered", 10, "marketing_lite"),
        observe("nope", "w.x", "delivered", 10),
        observe("b", "w.b", "read", 11, "marketing_lite")
      ], run))
      assert.deepStrictEqual(results.map(Either.isRight), [true, false, true])
      const read = yield* ReadModels
      assert.strictEqual((yield* read.message("a"))?.status, "delivered")
      assert.strictEqual((yield* read.message("b"))?.status, "read")
      assert.isFalse((yield* SqliteDatabase).db.inTransaction)
    })))
})
