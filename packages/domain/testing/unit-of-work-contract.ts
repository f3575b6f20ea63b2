import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, type Layer } from "effect"
import { EventStore } from "../src/application/event-store.js"
import { UnitOfWork } from "../src/application/unit-of-work.js"
import type { DomainEvent } from "../src/events.js"
import { BusinessManager, type Ids } from "../src/index.js"

const registered = (id: string): DomainEvent =>
  BusinessManager.BusinessManagerRegistered.make({ businessManagerId: id as Ids.BusinessManagerId, name: null, via: "operator", at: 1 })

const renamed = (id: string, n: number): DomainEvent =>
  BusinessManager.BusinessManagerRenamed.make({ businessManagerId: id as Ids.BusinessManagerId, name: `name ${n}`, at: n })

const versionOf = (id: string) => Effect.flatMap(EventStore, (store) => Effect.map(store.readStream(`BusinessManager-${id}`), (r) => r.version))

const append = (id: string, expected: number | "no_stream", events: ReadonlyArray<DomainEvent>) =>
  Effect.flatMap(EventStore, (store) => Effect.orDie(store.append(`BusinessManager-${id}`, expected, events)))

/** A real wait on the event loop (the test clock does not move under `it.effect`). */
const pause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))

/**
 * The unit-of-work contract: every store that offers `UnitOfWork` beside its `EventStore` runs this
 * suite unchanged. `makeStore` must give a fresh, empty store each time it is built.
 */
export const unitOfWorkContract = (name: string, makeStore: () => Layer.Layer<EventStore | UnitOfWork>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, EventStore | UnitOfWork>) => Effect.provide(effect, makeStore())

  describe(`UnitOfWork contract: ${name}`, () => {
    it.effect("what a unit of work appends to several streams is there once it has committed", () =>
      run(Effect.gen(function*() {
        const { transact } = yield* UnitOfWork
        const result = yield* transact(Effect.gen(function*() {
          yield* append("1", "no_stream", [registered("1")])
          yield* append("2", "no_stream", [registered("2"), renamed("2", 2)])
          return "done"
        }))
        assert.strictEqual(result, "done")
        assert.deepStrictEqual([yield* versionOf("1"), yield* versionOf("2")], [1, 2])
      })))

    it.effect("a failure takes back every append of the unit of work, and reaches the caller", () =>
      run(Effect.gen(function*() {
        const { transact } = yield* UnitOfWork
        yield* append("1", "no_stream", [registered("1")])
        const exit = yield* Effect.exit(transact(Effect.gen(function*() {
          yield* append("1", 1, [renamed("1", 2)])
          yield* append("2", "no_stream", [registered("2")])
          return yield* Effect.fail("refused" as const)
        })))
        assert.deepStrictEqual(exit, Exit.fail("refused" as const))
        assert.deepStrictEqual([yield* versionOf("1"), yield* versionOf("2")], [1, 0])
        const store = yield* EventStore
        assert.strictEqual((yield* store.readAll(0, 10)).length, 1)
      })))

    it.effect("a rolled-back unit of work takes back the snapshots it stored", () =>
      run(Effect.gen(function*() {
        const { transact } = yield* UnitOfWork
        const store = yield* EventStore
        yield* store.append("BusinessManager-1", "no_stream", [registered("1")], { state: { n: 1 }, schema: 1 })
        yield* Effect.exit(transact(Effect.zipRight(
          Effect.orDie(store.append("BusinessManager-1", 1, [renamed("1", 2)], { state: { n: 2 }, schema: 1 })),
          Effect.fail("undo" as const)
        )))
        const read = yield* store.readSnapshot("BusinessManager-1", 1)
        assert.deepStrictEqual([read.snapshot, read.events.length, read.version], [{ state: { n: 1 }, version: 1 }, 0, 1])
      })))

    it.effect("a defect takes the appends back too", () =>
      run(Effect.gen(function*() {
        const { transact } = yield* UnitOfWork
        const exit = yield* Effect.exit(transact(Effect.zipRight(append("1", "no_stream", [registered("1")]), Effect.die("bug"))))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(yield* versionOf("1"), 0)
      })))

    it.effect("asynchronous work inside a unit of work commits like synchronous work", () =>
      run(Effect.gen(function*() {
        const { transact } = yield* UnitOfWork
        yield* transact(Effect.gen(function*() {
          yield* append("1", "no_stream", [registered("1")])
          yield* pause
          yield* append("1", 1, [renamed("1", 2)])
        }))
        assert.strictEqual(yield* versionOf("1"), 2)
      })))

    it.effect("while a unit of work waits, nobody outside it sees its appends, and an append from outside does not join it", () =>
      run(Effect.gen(function*() {
        const { transact } = yield* UnitOfWork
        const appended = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const inside = yield* Effect.fork(Effect.exit(transact(Effect.gen(function*() {
          yield* append("1", "no_stream", [registered("1")])
          yield* Deferred.succeed(appended, undefined)
          yield* Deferred.await(release)
          return yield* Effect.fail("rolled back" as const)
        }))))
        yield* Deferred.await(appended)
        // Outside: a read and an append, started while the unit of work is open; neither may see or join it.
        const outsideRead = yield* Effect.fork(versionOf("1"))
        const outsideAppend = yield* Effect.fork(append("2", "no_stream", [registered("2")]))
        yield* Deferred.succeed(release, undefined)
        assert.isTrue(Exit.isFailure(yield* Fiber.join(inside)))
        assert.strictEqual(yield* Fiber.join(outsideRead), 0)
        yield* Fiber.join(outsideAppend)
        assert.deepStrictEqual([yield* versionOf("1"), yield* versionOf("2")], [0, 1])
      })))

    it.effect("two units of work at once do not mix: each commits or rolls back alone", () =>
      run(Effect.gen(function*() {
        const { transact } = yield* UnitOfWork
        const slow = (id: string, fail: boolean) =>
          Effect.exit(transact(Effect.gen(function*() {
            yield* append(id, "no_stream", [registered(id)])
            yield* Effect.yieldNow()
            yield* pause
            yield* append(id, 1, [renamed(id, 2)])
            if (fail) return yield* Effect.fail("no" as const)
          })))
        const [a, b] = yield* Effect.all([slow("1", false), slow("2", true)], { concurrency: "unbounded" })
        assert.isTrue(Exit.isSuccess(a))
        assert.isTrue(Exit.isFailure(b))
        assert.deepStrictEqual([yield* versionOf("1"), yield* versionOf("2")], [2, 0])
      })))

    it.effect("an interrupted unit of work takes its appends back", () =>
      run(Effect.gen(function*() {
        const { transact } = yield* UnitOfWork
        const appended = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(transact(Effect.gen(function*() {
          yield* append("1", "no_stream", [registered("1")])
          yield* Deferred.succeed(appended, undefined)
          yield* Effect.never
        })))
        yield* Deferred.await(appended)
        yield* Fiber.interrupt(fiber)
        assert.strictEqual(yield* versionOf("1"), 0)
        // The store is usable again afterwards.
        yield* transact(append("1", "no_stream", [registered("1")]))
        assert.strictEqual(yield* versionOf("1"), 1)
      })))

    it.effect("a unit of work inside another joins it: one commit, or one rollback for both", () =>
      run(Effect.gen(function*() {
        const { transact } = yield* UnitOfWork
        const exit = yield* Effect.exit(transact(Effect.gen(function*() {
          yield* transact(append("1", "no_stream", [registered("1")]))
          yield* append("2", "no_stream", [registered("2")])
          return yield* Effect.fail("outer fails" as const)
        })))
        assert.isTrue(Exit.isFailure(exit))
        assert.deepStrictEqual([yield* versionOf("1"), yield* versionOf("2")], [0, 0])
        yield* transact(transact(append("3", "no_stream", [registered("3")])))
        assert.strictEqual(yield* versionOf("3"), 1)
      })))
  })
}
