import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, type Layer } from "effect"
import { EventStore, type ExpectedVersion, VersionConflict } from "../src/application/event-store.js"
import type { DomainEvent } from "../src/events.js"
import { BusinessManager, type Ids } from "../src/index.js"

const bm = (id: string, n: number): DomainEvent =>
  BusinessManager.BusinessManagerRenamed.make({ businessManagerId: id as Ids.BusinessManagerId, name: `name ${n}`, at: n })

const registered = (id: string): DomainEvent =>
  BusinessManager.BusinessManagerRegistered.make({ businessManagerId: id as Ids.BusinessManagerId, name: null, via: "operator", at: 1 })

/**
 * The event-store contract: every adapter of the `EventStore` port runs this suite unchanged.
 * `makeStore` must give a fresh, empty store each time it is built.
 */
export const eventStoreContract = (name: string, makeStore: () => Layer.Layer<EventStore>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, EventStore>) => Effect.provide(effect, makeStore())

  describe(`EventStore contract: ${name}`, () => {
    it.effect("a stream that was never written reads as version 0 with no events", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        const read = yield* store.readStream("BusinessManager-1")
        assert.strictEqual(read.version, 0)
        assert.deepStrictEqual(read.events, [])
      })))

    it.effect("appends with no_stream, then with the exact version, and reads the events back in order", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        const first = yield* store.append("BusinessManager-1", "no_stream", [registered("1"), bm("1", 2)])
        assert.strictEqual(first.nextVersion, 2)
        const second = yield* store.append("BusinessManager-1", 2, [bm("1", 3)])
        assert.strictEqual(second.nextVersion, 3)
        const read = yield* store.readStream("BusinessManager-1")
        assert.strictEqual(read.version, 3)
        assert.deepStrictEqual(read.events.map((e) => e.version), [1, 2, 3])
        assert.deepStrictEqual(read.events.map((e) => e.event), [registered("1"), bm("1", 2), bm("1", 3)])
        assert.isTrue(read.events.every((e) => e.streamId === "BusinessManager-1"))
      })))

    const conflicts: ReadonlyArray<[string, ExpectedVersion, number]> = [
      ["no_stream on an existing stream", "no_stream", 1],
      ["an exact version that is behind", 0, 1],
      ["an exact version that is ahead", 5, 1],
      ["stream_exists on a missing stream", "stream_exists", 0]
    ]
    for (const [label, expected, existing] of conflicts) {
      it.effect(`refuses ${label} with a VersionConflict and writes nothing`, () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          if (existing > 0) yield* store.append("BusinessManager-1", "no_stream", [registered("1")])
          const result = yield* Effect.either(store.append("BusinessManager-1", expected, [bm("1", 9)]))
          assert.isTrue(Either.isLeft(result))
          if (Either.isLeft(result)) {
            assert.instanceOf(result.left, VersionConflict)
            assert.strictEqual(result.left.actual, existing)
          }
          const read = yield* store.readStream("BusinessManager-1")
          assert.strictEqual(read.version, existing)
          const all = yield* store.readAll(0, 100)
          assert.strictEqual(all.length, existing)
        })))
    }

    it.effect("stream_exists and any append to an existing stream; any also creates a stream", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("BusinessManager-1", "any", [registered("1")])
        yield* store.append("BusinessManager-1", "stream_exists", [bm("1", 2)])
        yield* store.append("BusinessManager-1", "any", [bm("1", 3)])
        const read = yield* store.readStream("BusinessManager-1")
        assert.strictEqual(read.version, 3)
      })))

    it.effect("appending nothing changes nothing", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("BusinessManager-1", "no_stream", [registered("1")])
        const result = yield* store.append("BusinessManager-1", 1, [])
        assert.strictEqual(result.nextVersion, 1)
        assert.strictEqual(result.lastGlobalPosition, null)
        assert.strictEqual((yield* store.readAll(0, 10)).length, 1)
      })))

    it.effect("global positions increase in append order across streams", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("BusinessManager-11", "no_stream", [registered("11")])
        yield* store.append("BusinessManager-12", "no_stream", [registered("12"), bm("12", 2)])
        const last = yield* store.append("BusinessManager-11", 1, [bm("11", 3)])
        const all = yield* store.readAll(0, 100)
        assert.deepStrictEqual(all.map((e) => [e.streamId, e.version]), [
          ["BusinessManager-11", 1],
          ["BusinessManager-12", 1],
          ["BusinessManager-12", 2],
          ["BusinessManager-11", 2]
        ])
        for (let i = 1; i < all.length; i++) assert.isTrue(all[i]!.globalPosition > all[i - 1]!.globalPosition)
        assert.strictEqual(last.lastGlobalPosition, all[3]!.globalPosition)
        const stream = yield* store.readStream("BusinessManager-11")
        assert.deepStrictEqual(stream.events.map((e) => e.globalPosition), [all[0]!.globalPosition, all[3]!.globalPosition])
      })))

    it.effect("readAll pages from an exclusive position with a limit", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        for (let i = 0; i < 7; i++) yield* store.append(`BusinessManager-${i}`, "no_stream", [registered(String(i))])
        const all = yield* store.readAll(0, 100)
        assert.strictEqual(all.length, 7)
        const page1 = yield* store.readAll(0, 3)
        const page2 = yield* store.readAll(page1[2]!.globalPosition, 3)
        const page3 = yield* store.readAll(page2[2]!.globalPosition, 3)
        assert.deepStrictEqual([...page1, ...page2, ...page3].map((e) => e.globalPosition), all.map((e) => e.globalPosition))
        assert.strictEqual(page3.length, 1)
        assert.deepStrictEqual(yield* store.readAll(all[6]!.globalPosition, 10), [])
      })))

    it.effect("concurrent appends with the same expected version: exactly one wins", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("BusinessManager-1", "no_stream", [registered("1")])
        const results = yield* Effect.all(
          Array.from({ length: 5 }, (_, i) => Effect.either(store.append("BusinessManager-1", 1, [bm("1", 10 + i)]))),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(results.filter(Either.isRight).length, 1)
        const read = yield* store.readStream("BusinessManager-1")
        assert.strictEqual(read.version, 2)
      })))

    it.effect("a stream without a snapshot reads back all its events from a snapshot read", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        const empty = yield* store.readSnapshot("BusinessManager-1", 1)
        assert.deepStrictEqual([empty.snapshot, empty.events.length, empty.version], [null, 0, 0])
        yield* store.append("BusinessManager-1", "no_stream", [registered("1"), bm("1", 2)])
        const read = yield* store.readSnapshot("BusinessManager-1", 1)
        assert.deepStrictEqual([read.snapshot, read.events.map((e) => e.version), read.version], [null, [1, 2], 2])
      })))

    it.effect("the snapshot stored with an append comes back with only the events appended after it", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        const state = { _tag: "Registered", name: "name 2", nested: { list: [1, 2], flag: null } }
        yield* store.append("BusinessManager-1", "no_stream", [registered("1"), bm("1", 2)], { state, schema: 1 })
        const at2 = yield* store.readSnapshot("BusinessManager-1", 1)
        assert.deepStrictEqual([at2.snapshot, at2.events.length, at2.version], [{ state, version: 2 }, 0, 2])
        yield* store.append("BusinessManager-1", 2, [bm("1", 3)])
        const at3 = yield* store.readSnapshot("BusinessManager-1", 1)
        assert.deepStrictEqual([at3.snapshot, at3.events.map((e) => e.version), at3.version], [{ state, version: 2 }, [3], 3])
        assert.deepStrictEqual(at3.events[0]!.event, bm("1", 3))
      })))

    it.effect("a snapshot of another shape is not read: the whole stream comes back instead", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("BusinessManager-1", "no_stream", [registered("1")], { state: { old: true }, schema: 1 })
        const read = yield* store.readSnapshot("BusinessManager-1", 2)
        assert.deepStrictEqual([read.snapshot, read.events.map((e) => e.version), read.version], [null, [1], 1])
      })))

    it.effect("an append refused for its version stores no snapshot", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("BusinessManager-1", "no_stream", [registered("1")], { state: { n: 1 }, schema: 1 })
        const refused = yield* Effect.either(store.append("BusinessManager-1", 0, [bm("1", 2)], { state: { n: 2 }, schema: 1 }))
        assert.isTrue(Either.isLeft(refused))
        const read = yield* store.readSnapshot("BusinessManager-1", 1)
        assert.deepStrictEqual([read.snapshot, read.version], [{ state: { n: 1 }, version: 1 }, 1])
      })))

    it.effect("readSnapshots reads several streams at once, in the order asked, each as readSnapshot would", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("BusinessManager-1", "no_stream", [registered("1"), bm("1", 2)], { state: { n: 2 }, schema: 1 })
        yield* store.append("BusinessManager-1", 2, [bm("1", 3)])
        yield* store.append("BusinessManager-2", "no_stream", [registered("2")])
        yield* store.append("BusinessManager-3", "no_stream", [registered("3")], { state: { n: 1 }, schema: 2 })
        const ids = ["BusinessManager-3", "BusinessManager-9", "BusinessManager-1", "BusinessManager-2"]
        const reads = yield* store.readSnapshots(ids, 1)
        const one = yield* Effect.forEach(ids, (id) => store.readSnapshot(id, 1))
        assert.deepStrictEqual(reads, one)
        assert.deepStrictEqual(reads.map((r) => [r.snapshot, r.events.map((e) => e.version), r.version]), [
          [null, [1], 1],
          [null, [], 0],
          [{ state: { n: 2 }, version: 2 }, [3], 3],
          [null, [1], 1]
        ])
        assert.deepStrictEqual(yield* store.readSnapshots([], 1), [])
      })))

    it.effect("appendMany appends to several streams, positions in the order given, with their snapshots", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("BusinessManager-1", "no_stream", [registered("1")])
        const results = yield* store.appendMany([
          { streamId: "BusinessManager-2", expected: "no_stream", events: [registered("2"), bm("2", 2)], snapshot: { state: { n: 2 }, schema: 1 } },
          { streamId: "BusinessManager-1", expected: 1, events: [bm("1", 3)] },
          { streamId: "BusinessManager-3", expected: "any", events: [] }
        ])
        assert.deepStrictEqual(results.map((r) => r.nextVersion), [2, 2, 0])
        const all = yield* store.readAll(0, 100)
        assert.deepStrictEqual(all.map((e) => [e.streamId, e.version]), [
          ["BusinessManager-1", 1],
          ["BusinessManager-2", 1],
          ["BusinessManager-2", 2],
          ["BusinessManager-1", 2]
        ])
        for (let i = 1; i < all.length; i++) assert.isTrue(all[i]!.globalPosition > all[i - 1]!.globalPosition)
        assert.deepStrictEqual(results.map((r) => r.lastGlobalPosition), [all[2]!.globalPosition, all[3]!.globalPosition, null])
        const [two, one] = yield* store.readSnapshots(["BusinessManager-2", "BusinessManager-1"], 1)
        assert.deepStrictEqual([two!.snapshot, two!.events.length, two!.version], [{ state: { n: 2 }, version: 2 }, 0, 2])
        assert.deepStrictEqual([one!.snapshot, one!.events.length, one!.version], [null, 2, 2])
        assert.deepStrictEqual(yield* store.appendMany([]), [])
      })))

    it.effect("appendMany is all or nothing: one stream behind its expected version and none is written", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("BusinessManager-1", "no_stream", [registered("1")], { state: { n: 1 }, schema: 1 })
        yield* store.append("BusinessManager-2", "no_stream", [registered("2"), bm("2", 2)])
        const result = yield* Effect.either(store.appendMany([
          { streamId: "BusinessManager-1", expected: 1, events: [bm("1", 2)], snapshot: { state: { n: 2 }, schema: 1 } },
          { streamId: "BusinessManager-3", expected: "no_stream", events: [registered("3")] },
          { streamId: "BusinessManager-2", expected: 1, events: [bm("2", 3)] }
        ]))
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) {
          assert.instanceOf(result.left, VersionConflict)
          assert.deepStrictEqual([result.left.streamId, result.left.expected, result.left.actual], ["BusinessManager-2", 1, 2])
        }
        assert.strictEqual((yield* store.readAll(0, 100)).length, 3)
        const [one, three] = yield* store.readSnapshots(["BusinessManager-1", "BusinessManager-3"], 1)
        assert.deepStrictEqual([one!.snapshot, one!.version, three!.version], [{ state: { n: 1 }, version: 1 }, 1, 0])
      })))

    it.effect("recordedAt is set on every stored event", () =>
      run(Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.append("BusinessManager-1", "no_stream", [registered("1")])
        const [stored] = yield* store.readAll(0, 1)
        assert.isTrue(typeof stored!.recordedAt === "number" && Number.isFinite(stored!.recordedAt))
      })))
  })
}
