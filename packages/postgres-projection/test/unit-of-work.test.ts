import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { eventStoreOn, freshEventStore, pause, registered, renamed, untilSomeoneWaitsForTheAppendLock } from "./support.js"

/** What the unit of work on a pool of connections promises beyond the domain's contract (docs/persistence.md#postgresql). */
describe("the unit of work on PostgreSQL", () => {
  it.effect("fibers forked inside a unit of work work in its transaction: they see its appends, and theirs roll back with it", () =>
    Effect.scoped(Effect.gen(function*() {
      const { store, unitOfWork } = yield* freshEventStore
      const exit = yield* Effect.exit(unitOfWork.transact(Effect.gen(function*() {
        yield* Effect.orDie(store.append("BusinessManager-1", "no_stream", [registered("1")]))
        const forked = yield* Effect.fork(Effect.gen(function*() {
          const seen = (yield* store.readStream("BusinessManager-1")).version
          yield* Effect.orDie(store.append("BusinessManager-1", 1, [renamed("1", 2)]))
          return seen
        }))
        assert.strictEqual(yield* Fiber.join(forked), 1)
        assert.strictEqual((yield* store.readSnapshot("BusinessManager-1", 1)).version, 2)
        return yield* Effect.fail("undo" as const)
      })))
      assert.deepStrictEqual(exit, Exit.fail("undo" as const))
      assert.deepStrictEqual(yield* store.readAll(0, 10), [])
    })))

  it.effect("a unit of work that has appended nothing holds no append lock: appends outside it go ahead meanwhile", () =>
    Effect.scoped(Effect.gen(function*() {
      const { store, unitOfWork } = yield* freshEventStore
      const opened = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const reading = yield* Effect.forkScoped(unitOfWork.transact(Effect.gen(function*() {
        yield* store.readStream("BusinessManager-1")
        yield* Deferred.succeed(opened, undefined)
        yield* Deferred.await(release)
        return (yield* store.readAll(0, 10)).length
      })))
      yield* Deferred.await(opened)
      // Would wait for the end of the unit of work (and this test for its timeout) if the lock were held.
      yield* Effect.orDie(store.append("BusinessManager-2", "no_stream", [registered("2")]))
      yield* Deferred.succeed(release, undefined)
      // Read committed: the unit of work's later read sees what committed meanwhile.
      assert.strictEqual(yield* Fiber.join(reading), 1)
    })))

  it.effect("a unit of work interrupted while its append waits for the lock sends nothing after its rollback", () =>
    Effect.scoped(Effect.gen(function*() {
      const { store, unitOfWork, url } = yield* freshEventStore
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.forkScoped(unitOfWork.transact(Effect.gen(function*() {
        yield* Effect.orDie(store.append("BusinessManager-1", "no_stream", [registered("1")]))
        yield* Deferred.succeed(holding, undefined)
        yield* Deferred.await(release)
      })))
      yield* Deferred.await(holding)
      const victim = yield* Effect.forkScoped(unitOfWork.transact(Effect.orDie(store.append("BusinessManager-2", "no_stream", [registered("2")]))))
      yield* untilSomeoneWaitsForTheAppendLock(url)
      // The rollback is queued behind the waiting statement, so the interruption ends only after the
      // holder has let go of the lock; after the rollback, the rest of the append must not be sent.
      const interrupted = yield* Effect.fork(Fiber.interrupt(victim))
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.join(interrupted)))
      const log = yield* store.readAll(0, 10)
      assert.deepStrictEqual(log.map((e) => e.streamId), ["BusinessManager-1"])
      assert.strictEqual((yield* store.readStream("BusinessManager-2")).version, 0)
      // The store goes on working afterwards.
      yield* Effect.orDie(store.append("BusinessManager-2", "no_stream", [registered("2")]))
      assert.strictEqual((yield* store.readStream("BusinessManager-2")).version, 1)
    })))

  it.effect("a unit of work stuck between statements past the idle timeout is ended by the server: the append lock is free again, and it rolls back", () =>
    Effect.scoped(Effect.gen(function*() {
      const { store, unitOfWork } = yield* eventStoreOn({ idleInTransactionTimeoutMs: 300 })
      const stuck = yield* Effect.forkScoped(Effect.exit(unitOfWork.transact(Effect.gen(function*() {
        yield* Effect.orDie(store.append("BusinessManager-1", "no_stream", [registered("1")]))
        // Holds the append lock and sends nothing: as a unit of work whose fiber waits on something else.
        yield* pause(1_500)
        yield* Effect.orDie(store.append("BusinessManager-1", 1, [renamed("1", 2)]))
      }))))
      yield* pause(100)
      // Would wait for the stuck unit of work (1.5 s) if the server had not ended its transaction.
      const started = Date.now()
      yield* Effect.orDie(store.append("BusinessManager-2", "no_stream", [registered("2")]))
      assert.isBelow(Date.now() - started, 1_200)
      const exit = yield* Fiber.join(stuck)
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual((yield* store.readAll(0, 10)).map((e) => e.streamId), ["BusinessManager-2"])
    })))
})
