import { assert, describe, it } from "@effect/vitest"
import type { EventStore } from "@mm-gateway/domain"
import { Deferred, Effect, Fiber, Ref } from "effect"
import { freshEventStore, pause, registered, renamed, untilSomeoneWaitsForTheAppendLock } from "./support.js"

/**
 * docs/persistence.md#postgresql: a projection reads `global_position > checkpoint`, so an event must
 * never become visible after one with a higher position. Positions are taken under the append lock,
 * which a transaction holds until it has committed.
 */
describe("global positions on PostgreSQL", () => {
  it.effect("an append waits while a unit of work that appended first is open, so its position comes later and no reader sees it first", () =>
    Effect.scoped(Effect.gen(function*() {
      const { store, unitOfWork, url } = yield* freshEventStore
      const appended = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const slow = yield* Effect.forkScoped(unitOfWork.transact(Effect.gen(function*() {
        yield* store.append("BusinessManager-1", "no_stream", [registered("1")])
        yield* Deferred.succeed(appended, undefined)
        yield* Deferred.await(release)
      })))
      yield* Deferred.await(appended)
      const fast = yield* Effect.forkScoped(store.append("BusinessManager-2", "no_stream", [registered("2"), renamed("2", 2)]))
      yield* untilSomeoneWaitsForTheAppendLock(url)
      // The later append is held back, and the open one is not committed: a reader sees neither.
      assert.deepStrictEqual(yield* store.readAll(0, 10), [])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(slow)
      const later = yield* Fiber.join(fast)
      const all = yield* store.readAll(0, 10)
      assert.deepStrictEqual(all.map((e) => [e.streamId, e.version]), [["BusinessManager-1", 1], ["BusinessManager-2", 1], ["BusinessManager-2", 2]])
      for (let i = 1; i < all.length; i++) assert.isTrue(all[i]!.globalPosition > all[i - 1]!.globalPosition)
      assert.strictEqual(later.lastGlobalPosition, all[2]!.globalPosition)
    })))

  it.effect("a reader paging by position while units of work of different lengths commit and roll back at once never skips nor repeats an event", () =>
    Effect.scoped(Effect.gen(function*() {
      const { store, unitOfWork } = yield* freshEventStore
      const WRITERS = 4
      const ROUNDS = 12
      const done = yield* Ref.make(0)
      // Deterministic variety: writer w, round r appends to one of a few shared streams, sometimes two
      // events with a pause between them, sometimes outside any unit of work, and every fifth rolls back.
      const round = (w: number, r: number) => {
        const stream = `BusinessManager-${(w * 7 + r) % 5}`
        const appendTwice = Effect.gen(function*() {
          yield* Effect.orDie(store.append(stream, "any", [renamed(String(w), r)]))
          yield* pause(1 + ((w + r) % 4))
          yield* Effect.orDie(store.append(stream, "any", [renamed(String(w), r + 100)]))
        })
        if ((w + r) % 3 === 0) return Effect.orDie(store.append(stream, "any", [renamed(String(w), r)]))
        if ((w * 3 + r) % 5 === 0) return Effect.ignore(unitOfWork.transact(Effect.zipRight(appendTwice, Effect.fail("rolled back" as const))))
        return unitOfWork.transact(appendTwice)
      }
      const writer = (w: number) =>
        Effect.zipRight(
          Effect.forEach(Array.from({ length: ROUNDS }, (_, r) => r), (r) => round(w, r), { discard: true }),
          Ref.update(done, (n) => n + 1)
        )
      const seen: Array<EventStore.StoredEvent> = []
      const reader = Effect.gen(function*() {
        let checkpoint = 0
        for (;;) {
          const finished = (yield* Ref.get(done)) === WRITERS
          const page = yield* store.readAll(checkpoint, 3)
          seen.push(...page)
          if (page.length > 0) checkpoint = page[page.length - 1]!.globalPosition
          else if (finished) return
          else yield* pause(1)
        }
      })
      yield* Effect.all([reader, ...Array.from({ length: WRITERS }, (_, w) => writer(w))], { concurrency: "unbounded", discard: true })
      const log = yield* store.readAll(0, 10_000)
      assert.isTrue(log.length > WRITERS * ROUNDS)
      assert.deepStrictEqual(seen.map((e) => e.globalPosition), log.map((e) => e.globalPosition))
      assert.deepStrictEqual(seen.map((e) => [e.streamId, e.version]), log.map((e) => [e.streamId, e.version]))
    })))
})
